// The example page's script: connect through websockify, set and get keys,
// show every result. Build the package it imports with
//   wasm-bindgen --target web --out-dir wasm/examples/browser/pkg \
//       target/wasm32-unknown-unknown/release/memcrab_wasm.wasm
import init, { Client } from "./pkg/memcrab_wasm.js";

const $ = (id) => document.getElementById(id);
const status = (text) => ($("status").textContent = text);

/** Appends one line to the page's log. */
function log(text, error = false) {
  const li = document.createElement("li");
  li.textContent = text;
  if (error) li.className = "error";
  $("log").append(li);
}

let client;

/** Connects, then runs a short tour of the commands. */
async function demo(url) {
  status("connecting");
  client?.close();
  client = await Client.connect(url, { keyPrefix: "memcrab-demo:", timeoutMs: 5000 });
  log(`connected to ${url}, memcached ${await client.version()}`);
  for (const id of ["set", "get", "delete"]) $(id).disabled = false;

  const value = "hello from the browser";
  log(`set greeting: ${await client.set("greeting", value)}`);
  const item = await client.get("greeting");
  log(`get greeting: ${item.text()}`);
  $("status").dataset.readBack = item.text();

  // Many commands in flight at once on one WebSocket.
  await Promise.all([
    client.set("fruit:1", "apple"),
    client.set("fruit:2", "banana"),
    client.set("fruit:3", "cherry"),
  ]);
  const fruit = await client.getMany(["fruit:1", "fruit:2", "fruit:3", "fruit:4"]);
  log(`getMany: ${[...fruit].map(([k, it]) => `${k}=${it.text()}`).join(", ")}`);

  await client.set("visits", "0");
  log(`incr visits: ${await client.incr("visits", 1)}`);

  try {
    await client.get("not a valid key");
  } catch (e) {
    log(`get "not a valid key" rejected: ${e.kind}: ${e.message}`);
  }
  status("done");
}

$("connect").onclick = () => run(() => demo($("url").value));
$("set").onclick = () =>
  run(async () => log(`set ${$("key").value}: ${await client.set($("key").value, $("value").value)}`));
$("get").onclick = () =>
  run(async () => {
    const item = await client.get($("key").value);
    log(`get ${$("key").value}: ${item ? item.text() : "(miss)"}`);
  });
$("delete").onclick = () =>
  run(async () => log(`delete ${$("key").value}: ${await client.delete($("key").value)}`));

/** Runs `action`, showing its error if it fails. */
async function run(action) {
  try {
    await action();
  } catch (e) {
    log(`${e.kind ?? e.name}: ${e.message}`, true);
    status("error");
  }
}

await init();
status("ready");
const ws = new URLSearchParams(location.search).get("ws");
if (ws) {
  $("url").value = ws;
  await run(() => demo(ws));
}
