// memcrab for Bun (the "bun" export): sockets from Bun.connect.
import { readFileSync } from "node:fs";
import { initSync } from "./wasm/memcrab_wasm.js";
import { install, makeConnect, parseAddress } from "./client.js";

install(initSync({ module: readFileSync(new URL("./wasm/memcrab_wasm_bg.wasm", import.meta.url)) }));

/** Opens a TCP (or TLS) socket with Bun.connect; a partial write keeps the
 * rest until the socket drains. */
export function bunSocket(name, options, events) {
  const { host, port } = parseAddress(name);
  return new Promise((resolve, reject) => {
    let sock;
    let opened = false;
    let failure;
    const queue = [];
    const flush = () => {
      while (queue.length > 0) {
        const bytes = queue[0];
        const n = Math.max(0, sock.write(bytes));
        if (n < bytes.length) {
          queue[0] = bytes.subarray(n);
          return;
        }
        queue.shift();
      }
    };
    const handle = {
      write(bytes) {
        queue.push(bytes);
        if (queue.length === 1) flush();
      },
      close() {
        sock.end();
      },
    };
    Bun.connect({
      hostname: host,
      port,
      tls: options.tls || undefined,
      socket: {
        open(s) {
          sock = s;
          opened = true;
          resolve(handle);
        },
        data(_s, data) {
          events.data(data);
        },
        drain() {
          flush();
        },
        error(_s, e) {
          failure = e;
        },
        connectError(_s, e) {
          reject(e);
        },
        close() {
          if (opened) events.closed(failure);
          else reject(failure ?? new Error("connection closed"));
        },
      },
    }).catch(reject);
  });
}

export const defaultSocket = bunSocket;
export const connect = makeConnect(bunSocket);
export { Client, MemcrabError, Protocol, Router, memoryUsage } from "./client.js";
