// memcrab for browsers and web workers (the "browser", "worker" and
// "default" exports): the .wasm is fetched next to this file; servers are
// ws:// or wss:// URLs of a WebSocket-to-TCP bridge (websockify).
import init from "./wasm/memcrab_wasm.js";
import { install, makeConnect } from "./client.js";

install(await init({ module_or_path: new URL("./wasm/memcrab_wasm_bg.wasm", import.meta.url) }));

/** Opens a WebSocket (binary frames) to a bridge; closes with code 1000. */
export function webSocket(url, options, events) {
  return new Promise((resolve, reject) => {
    let ws;
    try {
      ws = new WebSocket(url, options.protocols);
    } catch (e) {
      reject(e);
      return;
    }
    ws.binaryType = "arraybuffer";
    let opened = false;
    ws.onopen = () => {
      opened = true;
      resolve({ write: (bytes) => ws.send(bytes), close: () => ws.close(1000) });
    };
    ws.onmessage = (event) => {
      const data = event.data;
      events.data(typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data));
    };
    ws.onerror = () => {
      if (!opened) reject(new Error(`could not open a WebSocket to ${url} (is the bridge running?)`));
    };
    ws.onclose = (event) => {
      if (!opened) {
        reject(new Error(`WebSocket ${url} closed with code ${event.code}`));
        return;
      }
      const why = event.reason ? `: ${event.reason}` : "";
      events.closed(event.code === 1000 ? undefined : new Error(`WebSocket closed with code ${event.code}${why}`));
    };
  });
}

export const defaultSocket = webSocket;
export const connect = makeConnect(webSocket);
export { Client, MemcrabError, Protocol, Router, memoryUsage } from "./client.js";
