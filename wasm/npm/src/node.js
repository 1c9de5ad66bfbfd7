// memcrab for Node (the "node" export): sockets from node:net / node:tls.
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { initSync } from "./wasm/memcrab_wasm.js";
import { install, makeConnect, parseAddress } from "./client.js";

install(initSync({ module: readFileSync(new URL("./wasm/memcrab_wasm_bg.wasm", import.meta.url)) }));

/** Opens a TCP (or TLS, or Unix-socket: a name starting with "/") socket. */
export function nodeSocket(name, options, events) {
  return new Promise((resolve, reject) => {
    let socket;
    if (name.startsWith("/")) {
      socket = net.connect({ path: name });
    } else {
      const { host, port } = parseAddress(name);
      socket = options.tls
        ? tls.connect({ host, port, servername: host, ...(options.tls === true ? {} : options.tls) })
        : net.connect({ host, port });
    }
    let opened = false;
    let failure;
    socket.setNoDelay?.(true);
    socket.once(options.tls ? "secureConnect" : "connect", () => {
      opened = true;
      resolve({
        // Node buffers what the kernel does not take yet.
        write: (bytes) => socket.write(bytes),
        close: () => socket.destroy(),
      });
    });
    socket.on("data", events.data);
    socket.on("error", (e) => {
      if (!opened) reject(e);
      else failure = e;
    });
    socket.on("close", () => {
      if (opened) events.closed(failure);
    });
  });
}

export const defaultSocket = nodeSocket;
export const connect = makeConnect(nodeSocket);
export { Client, MemcrabError, Protocol, Router, memoryUsage } from "./client.js";
