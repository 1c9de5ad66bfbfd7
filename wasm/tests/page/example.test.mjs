// Loads the example page (wasm/examples/browser/) in headless Chromium
// through ChromeDriver, waits for its demo to finish, reads the results back
// from the DOM, and saves a screenshot. Run by wasm/ci.sh, which serves the
// page and starts websockify and memcached:
//
//   MEMCRAB_EXAMPLE_URL='http://127.0.0.1:PORT/index.html?ws=ws://127.0.0.1:WSPORT' \
//   MEMCRAB_EXAMPLE_SCREENSHOT=target/wasm/example.png \
//   CHROMEDRIVER=/usr/bin/chromedriver node --test wasm/tests/page/
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import net from "node:net";

const pageUrl = process.env.MEMCRAB_EXAMPLE_URL;
const chromedriver = process.env.CHROMEDRIVER ?? "chromedriver";
const screenshot = process.env.MEMCRAB_EXAMPLE_SCREENSHOT;

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One W3C WebDriver call; returns `value` or throws the driver's error. */
async function webdriver(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value)}`);
  return json.value;
}

test("the example page connects through websockify and shows the value read back", async (t) => {
  assert.ok(pageUrl, "set MEMCRAB_EXAMPLE_URL (wasm/ci.sh does)");
  const port = await freePort();
  const driver = spawn(chromedriver, [`--port=${port}`], { stdio: "ignore" });
  let session;
  // Chromium goes with its session: delete the session, then stop the driver.
  t.after(async () => {
    if (session) await webdriver(base, "DELETE", `/session/${session.sessionId}`).catch(() => {});
    driver.kill();
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await webdriver(base, "GET", "/status")).ready) break;
    } catch (e) {
      if (i > 100) throw e;
    }
    await sleep(100);
  }

  session = await webdriver(base, "POST", "/session", {
    capabilities: {
      alwaysMatch: {
        browserName: "chrome",
        "goog:chromeOptions": {
          // Root needs --no-sandbox; the rest keep Chromium off the network.
          args: [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--window-size=900,1000",
          ],
        },
      },
    },
  });
  const s = `/session/${session.sessionId}`;
  const run = (script) => webdriver(base, "POST", `${s}/execute/sync`, { script, args: [] });

  await webdriver(base, "POST", `${s}/url`, { url: pageUrl });
  let status;
  for (let i = 0; i < 200; i++) {
    status = await run('return document.getElementById("status").textContent');
    if (status === "done" || status === "error") break;
    await sleep(100);
  }
  const lines = await run(
    'return [...document.querySelectorAll("#log li")].map((li) => li.textContent)',
  );
  const readBack = await run('return document.getElementById("status").dataset.readBack');
  if (screenshot) {
    writeFileSync(screenshot, Buffer.from(await webdriver(base, "GET", `${s}/screenshot`), "base64"));
  }
  console.log(lines.map((l) => `  page: ${l}`).join("\n"));

  assert.equal(status, "done", lines.join("\n"));
  assert.equal(readBack, "hello from the browser");
  assert.match(lines[0], /^connected to ws:\/\/127\.0\.0\.1:\d+, memcached 1\.\d+/);
  assert.ok(lines.includes("get greeting: hello from the browser"), lines.join("\n"));
  assert.ok(
    lines.includes("getMany: fruit:1=apple, fruit:2=banana, fruit:3=cherry"),
    lines.join("\n"),
  );
  assert.ok(lines.includes("incr visits: 1"), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith('get "not a valid key" rejected: IllegalInput')));
});
