// Compares the npm package's Node client with memjs (npm) in one run,
// against one memcached started here on a free 127.0.0.1 port, and prints
// ratios. Never a timed test: run it by hand after `cargo xtask npm`:
//
//   node wasm/bench/bench.mjs [--rounds 3] [--gets 10000]
//
// It installs the tarball and memjs (pinned) into target/npm/bench/.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const MEMJS = "1.3.2";
const BASELINE_GZ = 98.7 * 1000; // bytes: the .wasm before the package (README, 98.7 KB)
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const rounds = opt("--rounds", 3);
const gets = opt("--gets", 10000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = JSON.parse(readFileSync(path.join(root, "target/npm/package/package.json"), "utf8"));
const tarball = path.join(root, `target/npm/memcrab-${pkg.version}.tgz`);
const dir = path.join(root, "target/npm/bench");
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench", private: true, type: "module" }));
const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball, `memjs@${MEMJS}`], {
  cwd: dir,
  stdio: "inherit",
});
if (r.status !== 0) process.exit(1);
const memcrab = await import(pathToFileURL(path.join(dir, "node_modules/memcrab/dist/node.js")));
const { default: memjs } = await import(pathToFileURL(path.join(dir, "node_modules/memjs/lib/memjs/memjs.js")));

const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const mcArgs = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64", "-t", "1"];
if (process.getuid?.() === 0) mcArgs.push("-u", "root");
const server = spawn("memcached", mcArgs, { stdio: "inherit" });
await new Promise((r) => setTimeout(r, 300));

const addr = `127.0.0.1:${port}`;
const value = "x".repeat(100);
const mc = await memcrab.connect(addr);
await mc.set("bench:key", value);
const mj = memjs.Client.create(addr, { logger: { log() {} } });
await mj.set("bench:key", value, {});

const check = async () => {
  const a = new TextDecoder().decode((await mc.get("bench:key")).value);
  const b = (await mj.get("bench:key")).value.toString();
  if (a !== value || b !== value) throw new Error("the clients do not read the value back");
};
await check();

async function sequential(get) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < gets; i++) await get();
  return gets / (Number(process.hrtime.bigint() - t) / 1e9);
}
async function concurrent(get, width) {
  const t = process.hrtime.bigint();
  for (let done = 0; done < gets; done += width) {
    const batch = [];
    for (let i = 0; i < width && done + i < gets; i++) batch.push(get());
    await Promise.all(batch);
  }
  return gets / (Number(process.hrtime.bigint() - t) / 1e9);
}

const cases = {
  "sequential get": (get) => sequential(get),
  "concurrent get (100 in flight)": (get) => concurrent(get, 100),
  "concurrent get (1,000 in flight)": (get) => concurrent(get, 1000),
};
const clients = { memcrab: () => mc.get("bench:key"), memjs: () => mj.get("bench:key") };
const results = {};
// Warm up both, then alternate which client goes first, round by round.
for (const get of Object.values(clients)) await sequential(get);
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(cases)) {
    // Each client goes first in every other round.
    const order = Object.entries(clients);
    if (round % 2 === 1) order.reverse();
    for (const [client, get] of order) {
      ((results[name] ??= {})[client] ??= []).push(await run(get));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\n${gets} gets of a 100-byte value, median of ${rounds} rounds, node ${process.version},`,
  `${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}, memjs ${MEMJS}`);
console.log("case".padEnd(34), "memcrab/s".padStart(10), "memjs/s".padStart(10), "ratio".padStart(7));
for (const [name, byClient] of Object.entries(results)) {
  const a = median(byClient.memcrab);
  const b = median(byClient.memjs);
  console.log(name.padEnd(34), a.toFixed(0).padStart(10), b.toFixed(0).padStart(10), `${(a / b).toFixed(2)}x`.padStart(7));
}
// The client's own cost per get, no network: a socket that answers every
// get at once from memory (memcrab only; memjs takes no socket).
{
  const hit = new TextEncoder().encode(`VALUE bench:key 0 ${value.length}\r\n${value}\r\nEND\r\n`);
  const memory = (_name, _options, events) =>
    Promise.resolve({ write: () => queueMicrotask(() => events.data(hit)), close() {} });
  const local = await memcrab.connect("127.0.0.1:1", { socket: memory });
  const n = gets * 10;
  const per = [];
  for (let round = 0; round < rounds; round++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) await local.get("bench:key");
    const used = process.cpuUsage(cpu);
    per.push(((used.user + used.system) * 1000) / n);
  }
  await local.close();
  console.log(`\nmemcrab alone (${n} sequential gets over an in-memory socket): ${median(per).toFixed(0)} ns CPU per get`);
}
const wasm = readFileSync(path.join(dir, "node_modules/memcrab/dist/wasm/memcrab_wasm_bg.wasm"));
const gz = gzipSync(wasm, { level: 9 }).length;
console.log(`\n.wasm: ${wasm.length} bytes, ${gz} gzipped (gzip -9): ${(gz / BASELINE_GZ).toFixed(3)}x the 98.7 KB before`);
await mc.close();
mj.close();
server.kill();
