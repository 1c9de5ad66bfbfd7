// The promise Client over the core's Cluster, against real memcached
// servers: get merging (many concurrent gets, each its own result, fewer
// get commands on the wire) and routing over several servers with one
// killed.
//
//   MEMCRAB_NPM_DIR=target/npm/package node --test wasm/tests/npm/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.env.MEMCRAB_NPM_DIR ?? path.join(here, "../../../target/npm/package");
const { Router, MemcrabError, connect, defaultSocket } = await import(pathToFileURL(path.join(dir, "dist/node.js")));
const td = new TextDecoder();

const servers = [];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

async function memcached() {
  const port = await freePort();
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64"];
  if (process.getuid?.() === 0) args.push("-u", "root");
  const child = spawn("memcached", args, { stdio: "inherit" });
  servers.push(child);
  await waitPort(port);
  return { child, addr: `127.0.0.1:${port}` };
}

/** The runtime's socket, counting the get commands written on it. */
function counting() {
  const seen = { gets: 0, text: "" };
  const socket = (name, options, events) =>
    defaultSocket(name, options, events).then((h) => ({
      write(bytes) {
        seen.text += td.decode(bytes);
        const lines = seen.text.split("\r\n");
        seen.text = lines.pop();
        for (const line of lines) if (line.startsWith("get ")) seen.gets++;
        h.write(bytes);
      },
      close: () => h.close(),
    }));
  return { seen, socket };
}

let main;
before(async () => {
  main = await memcached();
});
after(() => {
  for (const s of servers) s.kill("SIGKILL");
});

test("get merging: 500 concurrent gets, each its own value, in far fewer get commands", async () => {
  const { seen, socket } = counting();
  const c = await connect(main.addr, { socket });
  const keys = Array.from({ length: 500 }, (_, i) => `merge:${i}`);
  await Promise.all(keys.filter((_, i) => i % 5 !== 0).map((k) => c.set(k, `value of ${k}`)));
  // Misses (every fifth key) and the same key asked twice are in the mix.
  const asked = [...keys, keys[1], keys[1], keys[5]];
  const before = seen.gets;
  const got = await Promise.all(asked.map((k) => c.get(k)));
  const sent = seen.gets - before;
  got.forEach((item, i) => {
    const k = asked[i];
    if (Number(k.split(":")[1]) % 5 === 0) assert.equal(item, null, `${k} is a miss`);
    else {
      assert.equal(item.key, k, `${k}: the item of another caller`);
      assert.equal(td.decode(item.value), `value of ${k}`);
    }
  });
  assert.ok(sent >= 1 && sent <= 20, `${asked.length} gets went as ${sent} get commands`);
  await c.close();
});

test("mergeGets: 0 sends one get per call", async () => {
  const { seen, socket } = counting();
  const c = await connect(main.addr, { socket, mergeGets: 0 });
  await c.set("merge:off", "v");
  const before = seen.gets;
  const got = await Promise.all(Array.from({ length: 50 }, () => c.get("merge:off")));
  assert.ok(got.every((item) => td.decode(item.value) === "v"));
  assert.equal(seen.gets - before, 50);
  await assert.rejects(connect(main.addr, { mergeGets: -1 }), (e) => e.code === "BAD_ARGUMENT");
  await c.close();
});

test("merged gets: memcached looks every key up once (stats cmd_get and get_hits deltas)", async () => {
  const c = await connect(main.addr);
  const watcher = await connect(main.addr, { mergeGets: 0 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => c.set(`counted:${i}`, "x")));
  const stats = async () => {
    const s = await watcher.stats();
    return { gets: Number(s.cmd_get), hits: Number(s.get_hits) };
  };
  const a = await stats();
  const got = await Promise.all(Array.from({ length: 100 }, (_, i) => c.get(`counted:${i}`)));
  const b = await stats();
  assert.ok(got.every((item, i) => item.key === `counted:${i}`));
  // Every key was looked up once and hit, whatever the merging.
  assert.equal(b.gets - a.gets, 100);
  assert.equal(b.hits - a.hits, 100);
  await c.close();
  await watcher.close();
});

test("several servers: a killed node fails once, then its keys move to the live one", async () => {
  const a = await memcached();
  const b = await memcached();
  const list = [a.addr, b.addr];
  const router = new Router(list);
  const options = { retryAttempts: 0, retryTimeoutMs: 50, deadTimeoutMs: 60000 };
  const c = await connect(list, options);
  const quiet = await connect(list, { ...options, ignoreExc: true });
  const keys = Array.from({ length: 40 }, (_, i) => `node:${i}`);
  await Promise.all(keys.map((k) => c.set(k, k)));
  const onB = keys.filter((k) => router.nodeFor(k) === b.addr);
  const onA = keys.filter((k) => router.nodeFor(k) === a.addr);
  assert.ok(onA.length > 0 && onB.length > 0, "keys on both servers");
  assert.equal(Object.keys(await c.getMany(keys)).length, keys.length, "every key before the kill");

  b.child.kill("SIGKILL");
  await new Promise((r) => b.child.once("exit", r));
  // The first call to the dead server fails with a fatal error (its socket
  // closed, or a new one was refused); with ignoreExc it is a miss.
  await assert.rejects(c.get(onB[0]), (e) => e instanceof MemcrabError && e.fatal && /Io|UnexpectedClose/.test(e.kind));
  let first;
  for (let i = 0; i < 3 && first !== null; i++) first = await quiet.get(onB[0]);
  assert.equal(first, null, "ignoreExc: the dead server's key is a miss");
  // Dead at its first failure: its keys now go to the live server.
  for (let i = 0; i < 5; i++) {
    const item = await c.get(onB[0]).catch((e) => e);
    if (item === null) break;
    assert.ok(i < 4, `still failing: ${item?.message}`);
  }
  assert.equal(await c.set(onB[0], "moved"), true);
  assert.equal(td.decode((await c.get(onB[0])).value), "moved");
  for (const k of onA) assert.equal(td.decode((await c.get(k)).value), k, `${k} stays on the live server`);
  const many = await c.getMany(keys);
  assert.deepEqual(Object.keys(many).sort(), [...onA, onB[0]].sort());
  await c.close();
  await quiet.close();
  router.free();
});
