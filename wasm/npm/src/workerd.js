// memcrab for Cloudflare Workers (the "workerd" export): the .wasm is
// imported as a module (workerd compiles it at deploy; import.meta.url is
// undefined there), sockets come from cloudflare:sockets.
import { connect as tcpConnect } from "cloudflare:sockets";
import wasmModule from "./wasm/memcrab_wasm_bg.wasm";
import { initSync } from "./wasm/memcrab_wasm.js";
import { install, makeConnect, parseAddress } from "./client.js";

install(initSync({ module: wasmModule }));

/** Opens a TCP (or TLS) socket with cloudflare:sockets connect(). */
export async function workersSocket(name, options, events) {
  const { host, port } = parseAddress(name);
  const socket = tcpConnect({ hostname: host, port }, { secureTransport: options.tls ? "on" : "off" });
  await socket.opened;
  const writer = socket.writable.getWriter();
  const reader = socket.readable.getReader();
  let closed = false;
  const end = (error) => {
    if (closed) return;
    closed = true;
    socket.close().catch(() => {});
    events.closed(error);
  };
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        events.data(value);
      }
      end(undefined);
    } catch (e) {
      end(e);
    }
  })();
  return {
    // The stream queues what the socket does not take yet.
    write: (bytes) => void writer.write(bytes).catch((e) => end(e)),
    close() {
      if (closed) return;
      closed = true;
      socket.close().catch(() => {});
    },
  };
}

export const defaultSocket = workersSocket;
export const connect = makeConnect(workersSocket);
export { Client, MemcrabError, Protocol, Router, memoryUsage } from "./client.js";
