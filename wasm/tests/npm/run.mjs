// Installs the npm package from its tarball into an empty project per
// runtime and runs wasm/tests/npm/suite.mjs there, against real memcached
// servers this script starts on free 127.0.0.1 ports:
//
//   node wasm/tests/npm/run.mjs TARBALL node deno bun workerd chromium
//
// Each runtime comes from the npm registry (deno, bun, workerd, esbuild for
// the Workers bundle) or Debian (chromium, chromedriver, websockify),
// pinned below. The "victim" server is stopped, killed and restarted
// through a small control server (GET /stop, /kill, /restart; CORS open so
// a page and a worker can call it). Exit status 1 if any check fails.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const VERSIONS = { deno: "2.9.6", bun: "1.4.5", workerd: "1.20261117.1", esbuild: "0.28.2" };
const here = path.dirname(fileURLToPath(import.meta.url));
const [tarball, ...runtimes] = process.argv.slice(2);
if (!tarball || runtimes.length === 0) {
  console.error("usage: node run.mjs TARBALL RUNTIME...");
  process.exit(2);
}
const root = path.resolve(here, "../../..");
const work = path.join(root, "target/npm/try");
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

function start(cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...options });
  children.push(child);
  return child;
}

async function memcached(port) {
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64"];
  if (process.getuid?.() === 0) args.push("-u", "root");
  const child = start("memcached", args);
  await waitPort(port);
  return child;
}

function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status})`);
}

/** An empty project with the package (and `extra` packages) installed. */
function project(name, extra = []) {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `try-${name}`, private: true, type: "module" }));
  sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", path.resolve(tarball), ...extra], dir);
  copyFileSync(path.join(here, "suite.mjs"), path.join(dir, "suite.mjs"));
  return dir;
}

const ENTRY = `import * as memcrab from "memcrab";
import { run } from "./suite.mjs";
const arg = globalThis.Deno ? Deno.args[0] : process.argv[2];
const results = await run(memcrab, JSON.parse(arg));
console.log("RESULTS " + JSON.stringify(results));
globalThis.Deno ? Deno.exit(0) : process.exit(0);
`;

function runScript(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULTS "));
      if (!line) reject(new Error(`${cmd} exited ${code} without results:\n${out}`));
      else resolve(JSON.parse(line.slice(8)));
    });
  });
}

async function webdriver(base, method, p, body) {
  const r = await fetch(base + p, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${p}: ${JSON.stringify(json.value)}`);
  return json.value;
}

function serveStatic(dir, port) {
  const types = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

const runners = {
  async node(config) {
    const dir = project("node");
    writeFileSync(path.join(dir, "entry.mjs"), ENTRY);
    return runScript(process.execPath, ["entry.mjs", JSON.stringify(config)], dir);
  },
  async deno(config) {
    const dir = project("deno", [`deno@${VERSIONS.deno}`]);
    writeFileSync(path.join(dir, "entry.mjs"), ENTRY);
    return runScript(path.join(dir, "node_modules/.bin/deno"), ["run", "-A", "entry.mjs", JSON.stringify(config)], dir);
  },
  async bun(config) {
    const dir = project("bun", [`bun@${VERSIONS.bun}`]);
    writeFileSync(path.join(dir, "entry.mjs"), ENTRY);
    return runScript(path.join(dir, "node_modules/.bin/bun"), ["entry.mjs", JSON.stringify(config)], dir);
  },
  // As the package README tells Workers users without wrangler: bundle with
  // the "workerd" condition, keep the .wasm as its own module.
  async workerd(config) {
    const dir = project("workerd", [`workerd@${VERSIONS.workerd}`, `esbuild@${VERSIONS.esbuild}`]);
    writeFileSync(
      path.join(dir, "worker.mjs"),
      `import * as memcrab from "memcrab";
import { run } from "./suite.mjs";
export default {
  async fetch(request) {
    const config = JSON.parse(new URL(request.url).searchParams.get("config"));
    return Response.json(await run(memcrab, config));
  },
};
`,
    );
    sh(path.join(dir, "node_modules/.bin/esbuild"), [
      "worker.mjs", "--bundle", "--format=esm", "--conditions=workerd,worker,browser",
      "--external:*.wasm", "--external:cloudflare:*", "--outfile=out/worker.js",
    ], dir);
    mkdirSync(path.join(dir, "out/wasm"), { recursive: true });
    copyFileSync(
      path.join(dir, "node_modules/memcrab/dist/wasm/memcrab_wasm_bg.wasm"),
      path.join(dir, "out/wasm/memcrab_wasm_bg.wasm"),
    );
    const port = await freePort();
    writeFileSync(
      path.join(dir, "out/config.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "local", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "wasm/memcrab_wasm_bg.wasm", wasm = embed "wasm/memcrab_wasm_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  globalOutbound = "local",
);
`,
    );
    start(path.join(dir, "node_modules/.bin/workerd"), ["serve", "out/config.capnp"], { cwd: dir });
    await waitPort(port);
    const r = await fetch(`http://127.0.0.1:${port}/?config=${encodeURIComponent(JSON.stringify(config))}`);
    const text = await r.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`workerd answered ${r.status}: ${text}`);
    }
  },
  // As the package README tells browser users: an import map to the
  // package's browser build, servers as ws:// URLs of websockify.
  async chromium(config) {
    const dir = project("chromium");
    const bridge = async (target) => {
      const port = await freePort();
      start("websockify", [`127.0.0.1:${port}`, `127.0.0.1:${target}`], { stdio: "ignore" });
      await waitPort(port);
      return `ws://127.0.0.1:${port}`;
    };
    const wsConfig = { ...config, main: await bridge(config.mainPort), victim: await bridge(config.victimPort) };
    writeFileSync(
      path.join(dir, "index.html"),
      `<!doctype html><script type="importmap">{"imports":{"memcrab":"/node_modules/memcrab/dist/browser.js"}}</script>
<script type="module">
import * as memcrab from "memcrab";
import { run } from "/suite.mjs";
const config = JSON.parse(new URLSearchParams(location.search).get("config"));
run(memcrab, config).then((r) => (window.__results = r), (e) => (window.__results = [{ name: "page", ok: false, detail: String(e) }]));
</script>`,
    );
    const httpPort = await freePort();
    const server = await serveStatic(dir, httpPort);
    const driverPort = await freePort();
    start(process.env.CHROMEDRIVER ?? "chromedriver", [`--port=${driverPort}`], { stdio: "ignore" });
    const base = `http://127.0.0.1:${driverPort}`;
    for (let i = 0; ; i++) {
      try {
        if ((await webdriver(base, "GET", "/status")).ready) break;
      } catch (e) {
        if (i > 100) throw e;
      }
      await sleep(100);
    }
    const session = await webdriver(base, "POST", "/session", {
      capabilities: {
        alwaysMatch: {
          browserName: "chrome",
          "goog:chromeOptions": {
            args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--no-first-run"],
          },
        },
      },
    });
    const s = `/session/${session.sessionId}`;
    try {
      const url = `http://127.0.0.1:${httpPort}/index.html?config=${encodeURIComponent(JSON.stringify(wsConfig))}`;
      await webdriver(base, "POST", `${s}/url`, { url });
      for (let i = 0; i < 3000; i++) {
        const r = await webdriver(base, "POST", `${s}/execute/sync`, { script: "return window.__results ?? null", args: [] });
        if (r) return r;
        await sleep(100);
      }
      throw new Error("the page never finished");
    } finally {
      await webdriver(base, "DELETE", s).catch(() => {});
      server.close();
    }
  },
};

/** Resolves once every thread of `pid` is stopped (or after 2 s). */
async function stopped(pid) {
  const deadline = Date.now() + 2000;
  const { readdirSync } = await import("node:fs");
  const all = () => {
    try {
      return readdirSync(`/proc/${pid}/task`).every((t) => {
        const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
        return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(") ") + 2, stat.lastIndexOf(") ") + 3));
      });
    } catch {
      return true;
    }
  };
  while (!all() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
}

let failed = 0;
try {
  const mainPort = await freePort();
  const victimPort = await freePort();
  await memcached(mainPort);
  let victim = await memcached(victimPort);
  const control = createServer(async (req, res) => {
    const what = new URL(req.url, "http://x").pathname.slice(1);
    if (what === "stop") {
      victim.kill("SIGSTOP");
      // kill() only queues the signal: answer once every thread is stopped,
      // so no request sent after "stop" is served (a loaded machine did).
      await stopped(victim.pid);
    }
    else if (what === "kill") victim.kill("SIGKILL");
    else if (what === "restart") victim = await memcached(victimPort);
    res.writeHead(200, { "access-control-allow-origin": "*" }).end(what);
  });
  const controlPort = await freePort();
  await new Promise((r) => control.listen(controlPort, "127.0.0.1", r));
  for (const runtime of runtimes) {
    const t = Date.now();
    console.log(`\n## ${runtime}`);
    const config = {
      main: `127.0.0.1:${mainPort}`,
      victim: `127.0.0.1:${victimPort}`,
      mainPort,
      victimPort,
      control: `http://127.0.0.1:${controlPort}`,
    };
    let results;
    try {
      results = await runners[runtime](config);
    } catch (e) {
      results = [{ name: `${runtime} ran`, ok: false, detail: String(e?.stack ?? e) }];
    }
    for (const r of results) {
      console.log(`${r.ok ? "ok  " : "FAIL"} ${runtime}: ${r.name}${r.ok ? "" : "\n" + r.detail}`);
      if (!r.ok) failed++;
      else if (!r.name.startsWith("  ")) console.log(`# pass 1`);
    }
    console.log(`   (${runtime}: ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    // The next runtime gets a running victim, whatever this one left.
    victim.kill("SIGCONT");
    if (victim.exitCode !== null || victim.signalCode !== null) victim = await memcached(victimPort);
  }
  control.close();
} finally {
  for (const c of children) c.kill("SIGKILL");
}
console.log(failed === 0 ? "\nall runtimes passed" : `\n${failed} check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
