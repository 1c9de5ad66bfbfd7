// memcrab's promise Client: a thin driver of the wasm Session, itself a thin
// driver of the core's Cluster, which decides everything (validation,
// routing, node health, merging, timeouts, when to open and close sockets,
// what each reply resolves to); this file only moves bytes between sockets
// and the Session, tells it the time and settles promises.
import { Session, Protocol, Router, setHelpers } from "./wasm/memcrab_wasm.js";

/** Every failure memcrab reports: bad arguments, refused commands, broken
 * or unreachable servers. */
export class MemcrabError extends Error {
  constructor(kind, code, message, fatal) {
    super(message);
    this.name = "MemcrabError";
    this.kind = kind;
    this.code = code;
    this.fatal = fatal;
  }
}

// Values and outgoing bytes are copied out of wasm memory. Small ones go
// into a shared 16 KiB buffer, as Node's Buffer pool does (an ArrayBuffer
// per small value costs more than the rest of a get); a region is handed out
// once and never written again, so a socket may keep it queued.
const SLAB = 16 * 1024;
const POOLED = 1024;
let slab = new Uint8Array(0);
let used = 0;
function copy(view) {
  const n = view.length;
  if (n > POOLED) return view.slice();
  if (used + n > slab.length) {
    slab = new Uint8Array(SLAB);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  out.set(view);
  used += n;
  return out;
}

const helpers = {
  error: (kind, code, message, fatal) => new MemcrabError(kind, code, message, fatal),
  // `value` is a view of wasm memory: copy it.
  item: (key, value, flags, cas) => {
    const bytes = copy(value);
    return cas === undefined ? { key, value: bytes, flags } : { key, value: bytes, flags, cas };
  },
};

let exports;

/** Returns the size of the module's wasm memory in bytes (it grows, never
 * shrinks: a steady value over many clients means nothing leaks). */
export function memoryUsage() {
  return exports.memory.buffer.byteLength;
}

/** Called by each entry module with the instantiated module's exports. */
export function install(wasmExports) {
  exports = wasmExports;
  setHelpers(helpers);
  if (typeof Symbol.dispose === "symbol") {
    for (const cls of [Protocol, Router]) {
      if (!cls.prototype[Symbol.dispose]) cls.prototype[Symbol.dispose] = cls.prototype.free;
    }
  }
}

const CONNECT_TIMEOUT_MS = 10000;

// The Session's clock: monotonic milliseconds.
const now = typeof performance !== "undefined" && typeof performance.now === "function"
  ? () => performance.now()
  : () => Date.now();

/** Splits `"host:port"`, `"[v6]:port"` (port default 11211). */
export function parseAddress(name) {
  let host = name;
  let port = 11211;
  const v6 = /^\[(.*)\](?::(\d+))?$/.exec(name);
  if (v6) {
    host = v6[1];
    if (v6[2]) port = Number(v6[2]);
  } else {
    const i = name.lastIndexOf(":");
    if (i > 0 && name.indexOf(":") === i) {
      host = name.slice(0, i);
      port = Number(name.slice(i + 1));
    }
  }
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new MemcrabError("IllegalInput", "BAD_ARGUMENT", `bad port in server address ${JSON.stringify(name)}`, false);
  }
  return { host, port };
}

/** A get's item: the key the caller gave, the value copied out. */
function item(k, value, flags, cas) {
  const key = typeof k === "string" ? k : decoder.decode(k);
  return cas === undefined ? { key, value, flags } : { key, value, flags, cas };
}

function describe(e) {
  return e instanceof Error ? e.message : String(e ?? "unknown error");
}

const decoder = new TextDecoder();

// One executor for every call's promise (no closure per call).
let resolveNext;
let rejectNext;
function capture(resolve, reject) {
  resolveNext = resolve;
  rejectNext = reject;
}

// The Session's command codes (`submitCode`): the index in this list.
const OPS = [
  "set", "add", "replace", "append", "prepend", "cas", "get", "gets", "getMany", "getsMany",
  "delete", "incr", "decr", "touch", "stats", "version", "flushAll", "shutdown",
  "metaGet", "metaSet", "metaDelete", "metaArithmetic", "metaNoop", "metaDebug",
];
const CODE = Object.fromEntries(OPS.map((op, i) => [op, i]));

/** A memcached client over one server or many: every command returns a
 * promise; commands issued together are pipelined. */
export class Client {
  #s;
  #names;
  #open;
  #options;
  /** By the session's connection index: { gen, handle, stale }. */
  #sockets = [];
  /** By ticket: { resolve, reject, key }. */
  #waiters = new Map();
  #queued = false;
  #timer = undefined;
  #timerAt = 0;
  #closed = false;
  /** Some call has a timeout: the timer must follow the session's. */
  #timed = false;
  /** While the session runs a call: socket events wait for a microtask. */
  #busy = false;
  /** During `_start`: the promises of the first sockets. */
  #opening = undefined;
  /** Tickets settled before their promise existed (answered at once). */
  #early = new Map();

  /** Use `connect()`. */
  constructor(servers, open, options) {
    this.#s = new Session(servers, options, this.#driver());
    this.#names = this.#s.servers;
    this.#open = open;
    this.#options = options ?? {};
    this.#timed = this.#options.timeoutMs !== undefined;
  }

  /** The servers, as given. */
  get servers() {
    return this.#closed ? [] : [...this.#names];
  }
  /** Commands not settled yet. */
  get inFlight() {
    return this.#waiters.size;
  }
  /** True once `close()` was called. */
  get isClosed() {
    return this.#closed;
  }

  set(key, value, options) { return this.#call("set", key, value, options); }
  add(key, value, options) { return this.#call("add", key, value, options); }
  replace(key, value, options) { return this.#call("replace", key, value, options); }
  append(key, value, options) { return this.#call("append", key, value, options); }
  prepend(key, value, options) { return this.#call("prepend", key, value, options); }
  cas(key, value, cas, options) { return this.#call("cas", key, value, cas, options); }
  get(key, options) {
    return options === undefined && typeof key === "string" ? this.#get(key, false) : this.#call("get", key, options);
  }
  gets(key, options) {
    return options === undefined && typeof key === "string" ? this.#get(key, true) : this.#call("gets", key, options);
  }
  getMany(keys, options) { return this.#call("getMany", keys, options); }
  getsMany(keys, options) { return this.#call("getsMany", keys, options); }
  delete(key, options) { return this.#call("delete", key, options); }
  incr(key, delta, options) { return this.#call("incr", key, delta, options); }
  decr(key, delta, options) { return this.#call("decr", key, delta, options); }
  touch(key, expire, options) { return this.#call("touch", key, expire, options); }
  stats(args, options) { return this.#call("stats", args, options); }
  version(options) { return this.#call("version", options); }
  flushAll(delay, options) { return this.#call("flushAll", delay, options); }
  shutdown(options) { return this.#call("shutdown", options); }
  metaGet(key, options) { return this.#call("metaGet", key, options); }
  metaSet(key, value, options) { return this.#call("metaSet", key, value, options); }
  metaDelete(key, options) { return this.#call("metaDelete", key, options); }
  metaArithmetic(key, options) { return this.#call("metaArithmetic", key, options); }
  metaNoop(options) { return this.#call("metaNoop", options); }
  metaDebug(key, options) { return this.#call("metaDebug", key, options); }

  /** Closes every socket (WebSockets with code 1000) and frees the wasm
   * memory; commands in flight reject with `kind: "Closed"`. */
  async close() {
    if (this.#closed) return;
    this.#enter(() => this.#s.close());
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#s.free();
  }

  [Symbol.dispose ?? Symbol.for("Symbol.dispose")]() {
    void this.close();
  }

  [Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose")]() {
    return this.close();
  }

  /** Opens a first socket to every server; rejects if none opens. */
  async _start() {
    const opened = (this.#opening = []);
    const t = now();
    this.#enter(() => {
      for (let i = 0; i < this.#names.length; i++) this.#s.prepare(i, t);
    });
    this.#opening = undefined;
    const results = await Promise.allSettled(opened);
    if (results.every((r) => r.status === "rejected")) {
      await this.close();
      throw results[0].reason;
    }
    return this;
  }

  /** What the session calls: sockets and settlements. */
  #driver() {
    return {
      open: (conn, gen, server) => {
        const p = this.#openSocket(conn, gen, server);
        // Opened for a call: the call's promise reports the failure.
        if (this.#opening) this.#opening.push(p);
        else p.catch(() => {});
      },
      close: (conn, gen) => {
        const sock = this.#sockets[conn];
        if (sock !== undefined && sock.gen === gen) {
          this.#sockets[conn] = undefined;
          sock.stale = true;
          sock.handle?.close();
        }
      },
      // A view of wasm memory: copied at once.
      write: (conn, view) => this.#sockets[conn]?.handle?.write(copy(view)),
      settle: (ticket, ok, value) => {
        const waiter = this.#waiters.get(ticket);
        if (waiter === undefined) {
          this.#early.set(ticket, [ok, value]);
          return;
        }
        this.#waiters.delete(ticket);
        if (ok) waiter.resolve(value);
        else waiter.reject(value);
      },
      // A get's item: the key is the caller's; `view` is wasm memory.
      hit: (ticket, view, flags, cas) => {
        const waiter = this.#waiters.get(ticket);
        const value = copy(view);
        if (waiter === undefined) {
          this.#early.set(ticket, [true, { value, flags, cas }, true]);
          return;
        }
        this.#waiters.delete(ticket);
        waiter.resolve(item(waiter.key, value, flags, cas));
      },
    };
  }

  /** Runs `f` (calls into the session); socket events it causes wait. */
  #enter(f) {
    this.#busy = true;
    try {
      return f();
    } finally {
      this.#busy = false;
    }
  }

  /** `#call` of `get(key)`/`gets(key)` with a string key, no options. */
  #get(key, gets) {
    if (this.#closed) {
      return Promise.reject(new MemcrabError("Closed", "CLOSED", "the client is closed", true));
    }
    let ticket;
    const t = now();
    // Nothing in flight (sequential use): the session writes at once.
    const idle = this.#waiters.size === 0 && !this.#queued;
    this.#busy = true;
    try {
      ticket = this.#s.submitGet(key, gets, t, idle);
    } catch (e) {
      return Promise.reject(e);
    } finally {
      this.#busy = false;
    }
    return this.#wait(ticket, key, idle);
  }

  #call(op, a, b, c, d) {
    if (this.#closed) {
      return Promise.reject(new MemcrabError("Closed", "CLOSED", "the client is closed", true));
    }
    let ticket;
    const t = now();
    const idle = this.#waiters.size === 0 && !this.#queued;
    this.#busy = true;
    try {
      ticket = this.#s.submitCode(CODE[op], a, b, c, d, t, idle);
    } catch (e) {
      return Promise.reject(e);
    } finally {
      this.#busy = false;
    }
    if (!this.#timed && (a?.timeoutMs ?? b?.timeoutMs ?? c?.timeoutMs ?? d?.timeoutMs) !== undefined) {
      this.#timed = true;
    }
    return this.#wait(ticket, a, idle);
  }

  /** Returns the promise of `ticket`. `flushed`: the session wrote it
   * already (nothing was in flight); else calls made together go out in
   * one write, after this tick. */
  #wait(ticket, key, flushed) {
    if (this.#early.size > 0 && this.#early.has(ticket)) {
      const [ok, value, hit] = this.#early.get(ticket);
      this.#early.delete(ticket);
      if (flushed) this.#arm();
      if (!ok) return Promise.reject(value);
      return Promise.resolve(hit ? item(key, value.value, value.flags, value.cas) : value);
    }
    const promise = new Promise(capture);
    this.#waiters.set(ticket, { resolve: resolveNext, reject: rejectNext, key });
    if (flushed) {
      this.#arm();
    } else if (!this.#queued) {
      this.#queued = true;
      queueMicrotask(() => {
        this.#queued = false;
        this.#flush();
      });
    }
    return promise;
  }

  /** Writes what the session has (merged gets first) and settles what
   * that completed. */
  #flush(t = now()) {
    if (this.#closed) return;
    this.#busy = true;
    try {
      this.#s.flush(t);
    } finally {
      this.#busy = false;
    }
    this.#arm();
  }

  #openSocket(i, gen, server) {
    const name = this.#names[server];
    const sock = { gen, handle: undefined, stale: false };
    this.#sockets[i] = sock;
    const live = () => !this.#closed && this.#sockets[i] === sock;
    const events = {
      data: (bytes) => {
        if (!live()) return;
        if (this.#busy) {
          // From inside a write: later, with a copy (the buffer may be reused).
          const copied = bytes.slice();
          queueMicrotask(() => events.data(copied));
          return;
        }
        this.#busy = true;
        try {
          this.#s.receive(i, gen, bytes, now());
        } finally {
          this.#busy = false;
        }
      },
      closed: (error) => {
        if (!live()) return;
        if (this.#busy) {
          queueMicrotask(() => events.closed(error));
          return;
        }
        this.#sockets[i] = undefined;
        this.#enter(() => this.#s.closed(i, gen, error === undefined ? undefined : describe(error), now()));
        this.#flush();
      },
    };
    const ms = this.#options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no connection within ${ms} ms`)), ms);
    });
    const opening = Promise.resolve().then(() => this.#open(name, this.#options, events));
    return Promise.race([opening, timeout]).then(
      (handle) => {
        clearTimeout(timer);
        if (!live()) {
          handle.close();
          return;
        }
        sock.handle = handle;
        this.#enter(() => this.#s.connected(i, gen));
        this.#flush();
      },
      (e) => {
        clearTimeout(timer);
        opening.then((h) => h?.close(), () => {});
        const message = `could not connect to ${name}: ${describe(e)}`;
        if (live()) {
          this.#sockets[i] = undefined;
          this.#enter(() => this.#s.connectFailed(i, gen, message, now()));
          this.#flush();
        }
        throw new MemcrabError("Io", "CONNECT_FAILED", message, true);
      },
    );
  }

  #arm() {
    if (!this.#timed) return;
    const ms = this.#s.timeout(now());
    if (ms === undefined) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      return;
    }
    const at = Date.now() + ms;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.#enter(() => this.#s.handleTimeout(now()));
      this.#flush();
    }, ms + 1);
  }
}

/** Returns the `connect` of a runtime whose sockets `open` makes. */
export function makeConnect(open) {
  return function connect(servers, options) {
    try {
      const list = typeof servers === "string" ? [servers] : Array.isArray(servers) ? servers : undefined;
      if (list === undefined || list.some((s) => typeof s !== "string")) {
        throw new MemcrabError("IllegalInput", "BAD_ARGUMENT", "connect takes a server address or an array of them", false);
      }
      const client = new Client(list, options?.socket ?? open, options);
      return client._start();
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

export { Protocol, Router };
