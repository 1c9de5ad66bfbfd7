// memcrab for Deno (the "deno" export): sockets from Deno.connect.
import { initSync } from "./wasm/memcrab_wasm.js";
import { install, makeConnect, parseAddress } from "./client.js";

install(initSync({ module: Deno.readFileSync(new URL("./wasm/memcrab_wasm_bg.wasm", import.meta.url)) }));

/** Opens a TCP (or TLS) socket with Deno.connect; writes are queued and
 * each is written whole (Deno's write may take part of it). */
export async function denoSocket(name, options, events) {
  const { host, port } = parseAddress(name);
  const conn = options.tls
    ? await Deno.connectTls({ hostname: host, port, ...(options.tls === true ? {} : options.tls) })
    : await Deno.connect({ hostname: host, port });
  conn.setNoDelay?.(true);
  let closed = false;
  const end = (error) => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
    events.closed(error);
  };
  (async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        // The session copies the bytes at once.
        events.data(buffer.subarray(0, n));
      }
      end(undefined);
    } catch (e) {
      end(e);
    }
  })();
  let writing = Promise.resolve();
  return {
    write(bytes) {
      writing = writing
        .then(async () => {
          for (let off = 0; off < bytes.length && !closed; ) off += await conn.write(bytes.subarray(off));
        })
        .catch((e) => end(e));
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}

export const defaultSocket = denoSocket;
export const connect = makeConnect(denoSocket);
export { Client, MemcrabError, Protocol, Router, memoryUsage } from "./client.js";
