// `Protocol` from the packed package, driven over net.Socket by hand, the
// way the README shows: ids, completions for every command (noreply and
// quiet ones too), the same results as Client, timeouts, EOF, Router.
//
//   MEMCRAB_NPM_DIR=target/npm/package node --test wasm/tests/npm/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.env.MEMCRAB_NPM_DIR ?? path.join(here, "../../../target/npm/package");
const { Protocol, Router, MemcrabError, connect } = await import(pathToFileURL(path.join(dir, "dist/node.js")));
const td = new TextDecoder();

let server;
let port;
let second;
let secondPort;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function open() {
  for (let i = 0; ; i++) {
    try {
      return await new Promise((resolve, reject) => {
        const s = net.connect(port, "127.0.0.1");
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      });
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

before(async () => {
  port = await freePort();
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64"];
  if (process.getuid?.() === 0) args.push("-u", "root");
  server = spawn("memcached", args, { stdio: "inherit" });
  (await open()).destroy();
  secondPort = await freePort();
  const args2 = args.map((a) => (a === String(port) ? String(secondPort) : a));
  second = spawn("memcached", args2, { stdio: "inherit" });
  await new Promise((r) => setTimeout(r, 300));
});
after(() => {
  server?.kill();
  second?.kill();
});

/** The glue a user writes: write transmit(), settle completions by id. */
async function driver(options) {
  const socket = await open();
  const p = new Protocol(options);
  const waiting = new Map();
  const settle = (done) => {
    for (const c of done) {
      waiting.get(c.id)?.(c);
      waiting.delete(c.id);
    }
  };
  socket.on("data", (chunk) => settle(p.receive(chunk)));
  socket.on("error", () => {});
  socket.on("close", () => settle(p.receiveEof()));
  const call = (op, ...args) => {
    const id = p[op](...args);
    const done = new Promise((resolve) => waiting.set(id, resolve));
    socket.write(p.transmit());
    settle(p.poll());
    return done;
  };
  // Free once the close handler above has run.
  const close = () => {
    socket.once("close", () => p.free());
    socket.destroy();
  };
  return { p, call, socket, close };
}

test("ids and completions: { id, value } with the Client's shapes", async () => {
  const d = await driver();
  const set = await d.call("set", "pk", "hello", { flags: 5 });
  assert.deepEqual(set, { id: 0, value: true });
  const got = await d.call("get", "pk");
  assert.equal(got.id, 1);
  assert.deepEqual({ ...got.value, value: td.decode(got.value.value) }, { key: "pk", value: "hello", flags: 5 });
  assert.deepEqual(await d.call("get", "absent"), { id: 2, value: null });
  const many = (await d.call("getMany", ["pk", "absent"])).value;
  assert.deepEqual(Object.keys(many), ["pk"]);
  await d.call("set", "counter", "10");
  assert.equal((await d.call("incr", "counter", 5)).value, 15);
  d.close();
});

test("noreply and quiet commands complete too", async () => {
  for (const protocol of ["text", "meta"]) {
    const d = await driver({ protocol });
    assert.deepEqual((await d.call("set", "nr", "v", { noreply: true })).value, true, protocol);
    assert.equal(td.decode((await d.call("get", "nr")).value.value), "v", protocol);
    d.close();
  }
  const d = await driver();
  assert.equal((await d.call("metaGet", "quiet-miss", { quiet: true })).value.status, "miss");
  assert.equal((await d.call("metaSet", "quiet-set", "x", { quiet: true })).value.status, "ok");
  assert.equal((await d.call("metaGet", "quiet-set")).value.status, "value");
  d.close();
});

test("bad input throws a MemcrabError and encodes nothing", async () => {
  const p = new Protocol({ protocol: "meta" });
  for (const key of ["a b", "a\r\nb", "nul\0", "ünï", ""]) {
    assert.throws(() => p.get(key), (e) => e instanceof MemcrabError && e.kind === "IllegalInput");
  }
  assert.throws(() => p.set("k", "v", { expire: 1, flagz: 2 }), (e) => e.code === "UNKNOWN_OPTION");
  assert.equal(p.transmit().length, 0);
  assert.equal(p.inFlight, 0);
  p.free();
  const binary = new Protocol({ protocol: "meta", binaryKeys: true });
  binary.metaGet("a b");
  assert.match(td.decode(binary.transmit()), /^mg YSBi .*b/);
  assert.throws(() => binary.get("a b"), (e) => e.code === "KEY_WHITESPACE");
  binary.free();
  assert.throws(() => new Protocol({ binaryKeys: true }), (e) => e.code === "BAD_ARGUMENT");
});

test("a deadline that passes fails what is in flight, once, with Timeout", () => {
  const p = new Protocol();
  const id = p.get("k", { deadline: 1000 });
  p.transmit();
  assert.equal(p.pollTimeout(), 1000);
  assert.deepEqual(p.handleTimeout(999), []);
  const [done] = p.handleTimeout(1000);
  assert.equal(done.id, id);
  assert.equal(done.error.kind, "Timeout");
  assert.equal(done.error.fatal, true);
  assert.equal(p.isClosed, true);
  p.free();
});

test("EOF fails the commands in flight; replies split anywhere parse the same", () => {
  const p = new Protocol();
  p.get("a");
  p.get("b");
  p.transmit();
  const reply = new TextEncoder().encode("VALUE a 0 2\r\nhi\r\nEND\r\n");
  let done = [];
  for (const byte of reply) done = done.concat(p.receive(new Uint8Array([byte])));
  assert.equal(done.length, 1);
  assert.equal(td.decode(done[0].value.value), "hi");
  const [eof] = p.receiveEof();
  assert.equal(eof.id, 1);
  assert.equal(eof.error.kind, "UnexpectedClose");
  p.free();
});

test("Router: pymemcache's rendezvous placement, failures and recovery", () => {
  const r = new Router(["a:1", "b:2", "c:3"], { retryAttempts: 2, retryTimeoutMs: 1000, now: 0 });
  const node = r.nodeFor("some-key", 0);
  assert.ok(["a:1", "b:2", "c:3"].includes(node));
  r.reportFailure(node, 0);
  assert.equal(r.route("some-key", 1).type, "wait");
  assert.throws(() => new Router(["a:1"], { distrib: "x" }), (e) => e.code === "UNKNOWN_OPTION");
  r.free();
});

test("several servers: keys go where Router says, getMany is split and merged", async () => {
  const servers = [`127.0.0.1:${port}`, `127.0.0.1:${secondPort}`];
  const router = new Router(servers);
  const both = await connect(servers);
  const alone = [await connect(servers[0]), await connect(servers[1])];
  const keys = Array.from({ length: 40 }, (_, i) => `spread:${i}`);
  await Promise.all(keys.map((k) => both.set(k, k)));
  for (const k of keys) {
    const home = servers.indexOf(router.nodeFor(k));
    assert.notEqual(await alone[home].get(k), null, `${k} is on ${servers[home]}`);
    assert.equal(await alone[1 - home].get(k), null, `${k} is only on ${servers[home]}`);
  }
  const many = await both.getMany(keys);
  assert.deepEqual(Object.keys(many).sort(), [...keys].sort());
  assert.equal(await both.flushAll(), true);
  assert.equal(await alone[0].get(keys[0]), null);
  assert.equal(await alone[1].get(keys[1]), null);
  for (const c of [both, ...alone]) await c.close();
  router.free();
});

test("free() and Symbol.dispose release a Protocol", () => {
  const p = new Protocol();
  assert.equal(typeof p[Symbol.dispose], "function");
  p[Symbol.dispose]();
  assert.throws(() => p.get("k"));
});

/** True once every thread of process `pid` is stopped (state T). */
function stopped(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).every((t) => {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
    });
  } catch {
    return false;
  }
}

test("Client timeoutMs: a stalled server rejects with Timeout, the next call reconnects", async () => {
  const c = await connect(`127.0.0.1:${secondPort}`, { timeoutMs: 300 });
  await c.set("t", "v");
  second.kill("SIGSTOP");
  // kill only queues the signal: wait until every thread of memcached is
  // stopped, or a thread still running answers the get.
  for (let i = 0; i < 200 && !stopped(second.pid); i++) await new Promise((r) => setTimeout(r, 5));
  try {
    const started = Date.now();
    await assert.rejects(c.get("t"), (e) => e instanceof MemcrabError && e.kind === "Timeout" && e.fatal);
    assert.ok(Date.now() - started < 3000, "timed out in time");
    await assert.rejects(c.get("t", { timeoutMs: 100 }), (e) => e.kind === "Timeout");
  } finally {
    second.kill("SIGCONT");
  }
  assert.equal(new TextDecoder().decode((await c.get("t")).value), "v");
  await c.close();
  await assert.rejects(c.get("t"), (e) => e.kind === "Closed");
});
