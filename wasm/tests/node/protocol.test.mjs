// Drives memcrab-wasm's `Protocol` over Node's `net.Socket` against a real
// memcached started on a free loopback port. Run by wasm/ci.sh:
//
//   wasm-bindgen --target nodejs --out-dir target/wasm/node \
//       target/wasm32-unknown-unknown/release/memcrab_wasm.wasm
//   node --test wasm/tests/node/
//
// MEMCRAB_WASM_NODE_PKG overrides where the nodejs build is.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg =
  process.env.MEMCRAB_WASM_NODE_PKG ??
  path.join(here, "../../../target/wasm/node/memcrab_wasm.js");
const { Protocol, Router } = createRequire(import.meta.url)(pkg);

let server;
let port;

/** Returns a port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Opens a TCP connection, retrying while memcached starts. */
async function connect(tries = 100) {
  for (let i = 0; ; i++) {
    try {
      return await new Promise((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => resolve(socket));
        socket.once("error", reject);
      });
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

before(async () => {
  port = await freePort();
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64"];
  // memcached refuses to run as root without being told which user to be.
  if (process.getuid?.() === 0) args.push("-u", "root");
  server = spawn("memcached", args, { stdio: "inherit" });
  (await connect()).destroy();
});

after(() => server?.kill());

/**
 * A tiny promise-based driver, the kind of glue a user writes: each call
 * writes the command's bytes and waits for the reply with its id.
 */
class Conn {
  constructor(socket, options) {
    this.socket = socket;
    this.proto = new Protocol(options);
    this.waiting = new Map();
    this.closed = new Promise((resolve) => socket.once("close", resolve));
    socket.on("data", (chunk) => this.settle(this.proto.receive(chunk)));
    // A server that closes with unread input resets the connection: Node
    // reports an error then "close", without "end". Either way it is EOF.
    socket.on("error", () => {});
    socket.on("close", () => this.settle(this.proto.receiveEof()));
  }

  static async open(options) {
    return new Conn(await connect(), options);
  }

  settle(replies) {
    for (const reply of replies) {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiter?.(reply);
    }
  }

  /** Encodes with `proto[command](...args)`, writes, and awaits the reply. */
  call(command, ...args) {
    const bytes = this.proto[command](...args);
    const id = this.proto.lastId;
    this.socket.write(bytes);
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  close() {
    this.socket.destroy();
  }
}

test("set then get returns the value, with a text helper", async () => {
  const c = await Conn.open();
  assert.deepEqual(await c.call("set", "greeting", "hello wasm", { flags: 7 }), {
    id: 0,
    type: "stored",
  });
  const reply = await c.call("get", "greeting");
  assert.equal(reply.type, "values");
  assert.equal(reply.items.length, 1);
  const [item] = reply.items;
  assert.equal(item.key, "greeting");
  assert.equal(item.flags, 7);
  assert.ok(item.value instanceof Uint8Array);
  assert.equal(item.text(), "hello wasm");
  assert.deepEqual((await c.call("get", "missing")).items, []);
  c.close();
});

test("binary values round-trip byte for byte", async () => {
  const c = await Conn.open();
  const value = new Uint8Array(256 * 40).map((_, i) => i % 256);
  assert.equal((await c.call("set", new Uint8Array([0x62, 0x69, 0x6e]), value)).type, "stored");
  const [item] = (await c.call("get", "bin")).items;
  assert.deepEqual(item.value, value);
  c.close();
});

test("storage commands: add, replace, append, prepend", async () => {
  const c = await Conn.open();
  await c.call("delete", "s");
  assert.equal((await c.call("replace", "s", "x")).type, "notStored");
  assert.equal((await c.call("append", "s", "x")).type, "notStored");
  assert.equal((await c.call("add", "s", "mid")).type, "stored");
  assert.equal((await c.call("add", "s", "again")).type, "notStored");
  assert.equal((await c.call("append", "s", "-end")).type, "stored");
  assert.equal((await c.call("prepend", "s", "start-")).type, "stored");
  assert.equal((await c.call("get", "s")).items[0].text(), "start-mid-end");
  assert.equal((await c.call("replace", "s", "new")).type, "stored");
  assert.equal((await c.call("get", "s")).items[0].text(), "new");
  c.close();
});

test("gets and cas: stored, exists, notFound", async () => {
  const c = await Conn.open();
  await c.call("set", "c", "v1");
  const [item] = (await c.call("gets", "c")).items;
  assert.equal(typeof item.cas, "bigint");
  assert.equal((await c.call("cas", "c", "v2", item.cas)).type, "stored");
  assert.equal((await c.call("cas", "c", "v3", item.cas)).type, "exists");
  assert.equal((await c.call("get", "c")).items[0].text(), "v2");
  await c.call("delete", "c");
  assert.equal((await c.call("cas", "c", "v4", item.cas)).type, "notFound");
  c.close();
});

test("delete, incr, decr, touch", async () => {
  const c = await Conn.open();
  await c.call("set", "n", "10");
  assert.deepEqual(await c.call("incr", "n", 5), { id: 1, type: "number", value: 15n });
  assert.equal((await c.call("incr", "n", 2n ** 63n)).value, 2n ** 63n + 15n);
  await c.call("set", "n", "3");
  assert.equal((await c.call("decr", "n", 10)).value, 0n);
  assert.equal((await c.call("incr", "nope", 1)).type, "notFound");
  assert.equal((await c.call("touch", "n", 100)).type, "touched");
  assert.equal((await c.call("touch", "nope", 100)).type, "notFound");
  assert.equal((await c.call("delete", "n")).type, "deleted");
  assert.equal((await c.call("delete", "n")).type, "notFound");
  c.close();
});

test("getMany, getsMany, stats, version, flushAll", async () => {
  const c = await Conn.open();
  await c.call("set", "m1", "one");
  await c.call("set", "m2", "two");
  const many = await c.call("getMany", ["m1", "absent", "m2"]);
  assert.deepEqual(
    many.items.map((i) => [i.key, i.text()]),
    [
      ["m1", "one"],
      ["m2", "two"],
    ],
  );
  const withCas = await c.call("getsMany", ["m1", "m2"]);
  assert.ok(withCas.items.every((i) => typeof i.cas === "bigint"));
  const stats = await c.call("stats");
  assert.equal(stats.type, "stats");
  assert.match(stats.stats.version, /^1\./);
  assert.ok(Number(stats.stats.curr_items) >= 2);
  const settings = await c.call("stats", ["settings"]);
  assert.equal(settings.stats.tcpport, String(port));
  const version = await c.call("version");
  assert.equal(version.version, stats.stats.version);
  assert.equal((await c.call("flushAll")).type, "ok");
  assert.deepEqual((await c.call("get", "m1")).items, []);
  c.close();
});

test("pipelining: 500 commands in one write, replies matched by id", async () => {
  const c = await Conn.open();
  const proto = c.proto;
  const chunks = [];
  const expected = new Map();
  for (let i = 0; i < 250; i++) {
    chunks.push(proto.set(`p${i}`, `value-${i}`.repeat(i % 7)));
    expected.set(proto.lastId, { type: "stored" });
    chunks.push(proto.get(`p${i}`));
    expected.set(proto.lastId, { text: `value-${i}`.repeat(i % 7) });
  }
  assert.equal(proto.inFlight, 500);
  const replies = new Map();
  const done = new Promise((resolve) => {
    for (const id of expected.keys()) {
      c.waiting.set(id, (reply) => {
        replies.set(id, reply);
        if (replies.size === expected.size) resolve();
      });
    }
  });
  c.socket.write(Buffer.concat(chunks));
  await done;
  for (const [id, want] of expected) {
    const got = replies.get(id);
    if (want.type) assert.equal(got.type, want.type, `reply ${id}`);
    else assert.equal(got.items[0].text(), want.text, `reply ${id}`);
  }
  assert.equal(proto.inFlight, 0);
  c.close();
});

test("noreply commands return no reply and keep ids in step", async () => {
  const c = await Conn.open();
  c.socket.write(c.proto.set("q", "quiet", { noreply: true }));
  const quietId = c.proto.lastId;
  const reply = await c.call("get", "q");
  assert.equal(reply.id, quietId + 1);
  assert.equal(reply.items[0].text(), "quiet");
  c.close();
});

test("replies split into single bytes parse the same", async () => {
  const c = await Conn.open();
  await c.call("set", "split", "a value split byte by byte");
  // A second protocol, fed what the server answers one byte at a time.
  const proto = new Protocol();
  const raw = await new Promise((resolve) => {
    const bytes = [];
    const socket = net.connect(port, "127.0.0.1");
    socket.on("data", (chunk) => {
      bytes.push(chunk);
      const all = Buffer.concat(bytes);
      if (all.toString().endsWith("END\r\n")) {
        socket.destroy();
        resolve(all);
      }
    });
    socket.write(proto.get("split"));
  });
  const replies = [];
  for (const byte of raw) replies.push(...proto.receive(new Uint8Array([byte])));
  assert.equal(replies.length, 1);
  assert.equal(replies[0].items[0].text(), "a value split byte by byte");
  c.close();
});

test("a bad key throws IllegalInput, sends nothing, and the protocol stays usable", async () => {
  const c = await Conn.open();
  for (const key of ["has space", "", "x".repeat(251), "new\nline", "snow☃"]) {
    assert.throws(
      () => c.proto.get(key),
      (e) => e.name === "MemcrabError" && e.kind === "IllegalInput" && e.fatal === false,
      JSON.stringify(key),
    );
  }
  assert.throws(() => c.proto.get(42), TypeError);
  assert.throws(() => c.proto.set("k", "v", { flags: -1 }), TypeError);
  assert.equal(c.proto.inFlight, 0);
  assert.equal((await c.call("set", "ok", "fine")).type, "stored");
  c.close();
});

test("a server error is that command's error reply; the connection goes on", async () => {
  // memcached refuses items over its 1 MiB limit; let this side send one.
  const c = await Conn.open({ maxItemSize: 4 * 1024 * 1024 });
  const reply = await c.call("set", "big", new Uint8Array(2 * 1024 * 1024));
  assert.equal(reply.type, "error");
  assert.equal(reply.error.kind, "Server");
  assert.equal(reply.error.fatal, false);
  assert.match(reply.error.message, /too large/);
  assert.equal((await c.call("set", "small", "ok")).type, "stored");
  c.close();
});

test("the server closing with a command in flight fails it with UnexpectedClose", async () => {
  const c = await Conn.open();
  // quit goes out first (written by hand, outside the protocol), so the
  // server closes before it answers the get.
  c.socket.write("quit\r\n");
  const reply = await c.call("get", "anything");
  assert.equal(reply.type, "error");
  assert.equal(reply.error.kind, "UnexpectedClose");
  assert.equal(reply.error.fatal, true);
  assert.ok(c.proto.isClosed);
  assert.throws(() => c.proto.get("k"), (e) => e.kind === "UnexpectedClose");
  await c.closed;
});

test("quit: the server closes, nothing is left in flight", async () => {
  const c = await Conn.open();
  c.socket.write(c.proto.quit());
  await c.closed;
  assert.ok(c.proto.isClosed);
  assert.equal(c.proto.inFlight, 0);
});

test("a passed deadline fails the commands in flight with Timeout", async () => {
  const c = await Conn.open();
  const start = performance.now();
  const pending = c.call("get", "slow", { deadline: start + 1000 });
  c.call("get", "slow2", { deadline: start + 5000 });
  assert.equal(c.proto.pollTimeout(), Math.ceil(start + 1000));
  // Before the reply can arrive, time jumps past the first deadline.
  const replies = c.proto.handleTimeout(start + 2000);
  assert.deepEqual(
    replies.map((r) => [r.type, r.error.kind]),
    [
      ["error", "Timeout"],
      ["error", "Timeout"],
    ],
  );
  c.settle(replies);
  assert.equal((await pending).error.kind, "Timeout");
  assert.ok(c.proto.isClosed);
  c.close();
});

test("key prefix and unicode keys", async () => {
  const c = await Conn.open({ keyPrefix: "app:", allowUnicodeKeys: true });
  await c.call("set", "snow☃", "cold");
  const [item] = (await c.call("get", "snow☃")).items;
  assert.equal(item.key, "snow☃");
  // On the wire the key carries the prefix.
  const bare = await Conn.open({ allowUnicodeKeys: true });
  assert.deepEqual((await bare.call("get", "snow☃")).items, []);
  assert.equal((await bare.call("get", "app:snow☃")).items[0].text(), "cold");
  assert.throws(() => new Protocol().get("snow☃"), (e) => e.kind === "IllegalInput");
  c.close();
  bare.close();
});

test("Router: pymemcache-compatible rendezvous and ketama, with node health", () => {
  const nodes = ["127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"];
  const router = new Router(nodes, { now: 0 });
  // The same node pymemcache's HashClient picks (see memcrab-core's docs).
  assert.equal(router.nodeFor("foo", 0), "127.0.0.1:11213");
  assert.deepEqual(router.route("foo", 0), { type: "node", node: "127.0.0.1:11213", index: 2 });
  router.reportFailure("127.0.0.1:11213", 10);
  assert.equal(router.route("foo", 500).type, "wait");
  assert.equal(router.route("foo", 1011).type, "node");
  assert.deepEqual(router.nodes, nodes);
  assert.deepEqual(router.liveNodes, nodes);

  const ketama = new Router(nodes, { distribution: "ketama-md5" });
  const counts = new Map();
  for (let i = 0; i < 3000; i++) {
    const node = ketama.nodeFor(`key-${i}`);
    counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  assert.equal(counts.size, 3);
  for (const n of counts.values()) assert.ok(n > 600, `uneven spread ${[...counts.values()]}`);
  assert.ok(ketama.removeNode("127.0.0.1:11212"));
  assert.deepEqual(ketama.nodes, ["127.0.0.1:11211", "127.0.0.1:11213"]);
  assert.throws(() => new Router(nodes, { distribution: "modulo" }), TypeError);
});

test('protocol "meta": the classic commands keep their replies', async () => {
  const c = await Conn.open({ protocol: "meta", keyPrefix: "meta1:" });
  assert.equal((await c.call("set", "k", "v", { flags: 3 })).type, "stored");
  const [item] = (await c.call("get", "k")).items;
  assert.deepEqual([item.key, item.flags, item.text()], ["k", 3, "v"]);
  assert.equal((await c.call("add", "k", "x")).type, "notStored");
  const many = await c.call("getMany", ["k", "absent"]);
  assert.deepEqual(many.items.map((i) => i.key), ["k"]);
  const [withCas] = (await c.call("gets", "k")).items;
  assert.equal((await c.call("cas", "k", "w", withCas.cas)).type, "stored");
  assert.equal((await c.call("cas", "k", "z", withCas.cas)).type, "exists");
  assert.equal((await c.call("incr", "n", 1)).type, "notFound");
  await c.call("set", "n", "41");
  assert.equal((await c.call("incr", "n", 1)).value, 42n);
  assert.equal((await c.call("touch", "n", 60)).type, "touched");
  assert.equal((await c.call("delete", "n")).type, "deleted");
  assert.equal((await c.call("version")).type, "version");
  c.close();
});

test('protocol "meta": a noreply failure is reported for its own id and the connection goes on', async () => {
  const c = await Conn.open({ protocol: "meta", maxItemSize: 4 * 1024 * 1024 });
  c.socket.write(c.proto.set("big", new Uint8Array(2 * 1024 * 1024), { noreply: true }));
  const quietId = c.proto.lastId;
  const failed = new Promise((resolve) => c.waiting.set(quietId, resolve));
  const after = await c.call("set", "after", "ok");
  assert.equal(after.type, "stored");
  const reply = await failed;
  assert.equal(reply.type, "error");
  assert.equal(reply.error.kind, "Server");
  assert.ok(!c.proto.isClosed);
  c.close();

  // With the text protocol memcached drops the error line of a noreply
  // command: the failure is lost, which is what meta mode is for.
  const t = await Conn.open({ maxItemSize: 4 * 1024 * 1024 });
  t.socket.write(t.proto.set("big", new Uint8Array(2 * 1024 * 1024), { noreply: true }));
  const lostId = t.proto.lastId;
  let heard = false;
  t.waiting.set(lostId, () => (heard = true));
  assert.deepEqual((await t.call("get", "big")).items, []);
  assert.equal(heard, false);
  t.close();
});

test("meta commands: stale-while-revalidate, cas, counters, debug, quiet, noop", async () => {
  const c = await Conn.open({ keyPrefix: "meta2:" });
  // A miss with vivify: this client wins the right to fill the key...
  // (memcached answers with the empty placeholder item it created.)
  let r = (await c.call("metaGet", "hot", { vivify: 30 })).meta;
  assert.deepEqual([r.status, r.text(), r.win], ["value", "", true]);
  // ...and the next reader sees that someone already did.
  r = (await c.call("metaGet", "hot", { vivify: 30 })).meta;
  assert.equal(r.alreadyWon, true);
  r = (await c.call("metaSet", "hot", "fresh", { ttl: 60, flags: 9, returnCas: true })).meta;
  assert.equal(r.status, "ok");
  assert.equal(typeof r.cas, "bigint");
  const cas = r.cas;
  r = (await c.call("metaGet", "hot", { returnCas: true, returnFlags: true, returnTtl: true, returnKey: true })).meta;
  assert.deepEqual([r.status, r.text(), r.flags, r.cas, r.key], ["value", "fresh", 9, cas, "hot"]);
  assert.ok(r.ttl > 0 && r.ttl <= 60);
  // Invalidate: the item stays, stale, and the next reader wins the recache.
  assert.equal((await c.call("metaDelete", "hot", { invalidate: true })).meta.status, "ok");
  r = (await c.call("metaGet", "hot")).meta;
  assert.deepEqual([r.text(), r.stale, r.win], ["fresh", true, true]);
  // Compare-and-set with a stale token fails.
  r = (await c.call("metaSet", "hot", "other", { compareCas: cas })).meta;
  assert.equal(r.status, "exists");
  assert.equal((await c.call("metaSet", "hot", "x", { mode: "add" })).meta.status, "notStored");
  // Counters created on first use.
  r = (await c.call("metaArithmetic", "visits", { vivify: 60, initial: 10 })).meta;
  assert.equal(r.text(), "10");
  r = (await c.call("metaArithmetic", "visits", { delta: 5n })).meta;
  assert.equal(r.text(), "15");
  r = (await c.call("metaArithmetic", "visits", { mode: "decr", delta: 20 })).meta;
  assert.equal(r.text(), "0");
  assert.match((await c.call("metaDebug", "visits")).meta.text(), /exp=-?\d+ la=\d+ cas=\d+/);
  // Binary keys go base64-encoded.
  const binary = new Uint8Array([0, 32, 255, 10]);
  assert.equal((await c.call("metaSet", binary, "bin")).meta.status, "ok");
  assert.equal((await c.call("metaGet", binary)).meta.text(), "bin");
  // A quiet miss says nothing; the no-op after it answers.
  c.socket.write(c.proto.metaGet("absent", { quiet: true }));
  const noop = await c.call("metaNoop");
  assert.equal(noop.meta.status, "noop");
  assert.equal(c.proto.inFlight, 0);
  assert.throws(() => c.proto.metaSet("k", "v", { mode: "upsert" }), TypeError);
  c.close();
});
