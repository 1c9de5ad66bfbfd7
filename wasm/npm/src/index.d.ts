// Types of the package `memcrab` (every runtime's entry has this API).
import type { Protocol, Router, ProtocolOptions } from "./wasm/memcrab_wasm.js";
export { Protocol, Router } from "./wasm/memcrab_wasm.js";
export type {
  Key, Value, Completion, Item, MetaReply, MetaStatus, ProtocolOptions, CallOptions,
  StoreOptions, MetaGetOptions, MetaSetOptions, MetaDeleteOptions, MetaArithmeticOptions,
  RouterOptions, Route, Distribution, ErrorKind,
} from "./wasm/memcrab_wasm.js";
import type {
  Key, Value, Item, MetaReply, MetaGetOptions, MetaSetOptions, MetaDeleteOptions,
  MetaArithmeticOptions, Distribution, ErrorKind,
} from "./wasm/memcrab_wasm.js";

/** Every failure: bad arguments (thrown or rejected before any byte is
 * sent), the server's refusal, a broken or unreachable server. */
export declare class MemcrabError extends Error {
  name: "MemcrabError";
  /** What went wrong ("IllegalInput", "Server", "Timeout", "Io", …). */
  kind: ErrorKind;
  /** A stable, precise name: "KEY_WHITESPACE", "UNKNOWN_OPTION",
   * "CONNECT_FAILED", "TIMEOUT", "UNEXPECTED_CLOSE", … */
  code: string;
  /** True when the connection it happened on is gone (the next call opens
   * a new one); false when only this command failed. */
  fatal: boolean;
}

/** The events a socket adapter reports. */
export interface SocketEvents {
  /** Bytes read (copied at once: the buffer may be reused). */
  data(bytes: Uint8Array): void;
  /** The socket closed (with the error that closed it, if any). */
  closed(error?: unknown): void;
}

/** An open socket, as an adapter returns it. `write` must write every byte
 * in order (queueing what the socket does not take yet). */
export interface SocketHandle {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** Opens a socket to `server` (a name from `connect`'s list). */
export type SocketAdapter = (
  server: string,
  options: ConnectOptions,
  events: SocketEvents,
) => Promise<SocketHandle>;

/** Options of `connect`. Unknown names are an error. */
export interface ConnectOptions extends ProtocolOptions {
  /** Reject a command whose reply takes longer (ms); the connection is
   * then closed and reopened by the next call. Default: none. */
  timeoutMs?: number;
  /** Give up opening a socket after this many ms. Default 10000. */
  connectTimeoutMs?: number;
  /** TLS (Node, Deno, Bun, Workers): true, or the runtime's TLS options. */
  tls?: boolean | Record<string, unknown>;
  /** WebSocket sub-protocols (browsers). */
  protocols?: string | string[];
  /** Your own socket adapter instead of the runtime's. */
  socket?: SocketAdapter;
  /** Several servers: how keys are spread (default "rendezvous", as
   * pymemcache's HashClient). */
  distribution?: Distribution;
  retryAttempts?: number;
  retryTimeoutMs?: number;
  deadTimeoutMs?: number;
  /** A command that fails (a broken or unreachable server, a timeout, the
   * server's error) resolves to its default instead of rejecting: `null`
   * for `get`, `{}` for `getMany`, `false` for writes (pymemcache's
   * `ignore_exc`). Bad arguments still reject. Default false. */
  ignoreExc?: boolean;
  /** Concurrent `get`s of one key each, bound for a server that is busy,
   * go as one multi-key get of up to this many keys; each call still gets
   * its own item. Default 64; 0 turns merging off. */
  mergeGets?: number;
}

/** Options of every command. */
export interface ClientCallOptions {
  /** This command's timeout in ms (instead of `timeoutMs`). */
  timeoutMs?: number;
}
export interface ClientWriteOptions extends ClientCallOptions {
  /** Ask the server not to reply; resolves once the bytes are written and
   * every earlier command on the connection is done. */
  noreply?: boolean;
}
export interface ClientStoreOptions extends ClientWriteOptions {
  flags?: number;
  /** Seconds: 0 never, up to 30 days relative, else a Unix time. */
  expire?: number;
}
export interface ServerOptions extends ClientCallOptions {
  /** Which server (index or name); default the first. */
  server?: number | string;
}
type Timed<T> = Omit<T, "deadline"> & ClientCallOptions;

/** A memcached client over one server or many (see `connect`). */
export declare class Client {
  readonly servers: string[];
  readonly inFlight: number;
  readonly isClosed: boolean;
  set(key: Key, value: Value, options?: ClientStoreOptions): Promise<boolean>;
  add(key: Key, value: Value, options?: ClientStoreOptions): Promise<boolean>;
  replace(key: Key, value: Value, options?: ClientStoreOptions): Promise<boolean>;
  append(key: Key, value: Value, options?: ClientStoreOptions): Promise<boolean>;
  prepend(key: Key, value: Value, options?: ClientStoreOptions): Promise<boolean>;
  /** true stored, false changed since `gets`, null gone. */
  cas(key: Key, value: Value, cas: string | number | bigint, options?: ClientStoreOptions): Promise<boolean | null>;
  get(key: Key, options?: ClientCallOptions): Promise<Item | null>;
  gets(key: Key, options?: ClientCallOptions): Promise<Item | null>;
  /** Hits only, by key. */
  getMany(keys: Key[], options?: ClientCallOptions): Promise<Record<string, Item>>;
  getsMany(keys: Key[], options?: ClientCallOptions): Promise<Record<string, Item>>;
  delete(key: Key, options?: ClientWriteOptions): Promise<boolean>;
  /** The new value (a bigint above 2^53-1), null when not found or noreply. */
  incr(key: Key, delta?: number | bigint | string, options?: ClientWriteOptions): Promise<number | bigint | null>;
  decr(key: Key, delta?: number | bigint | string, options?: ClientWriteOptions): Promise<number | bigint | null>;
  touch(key: Key, expire: number, options?: ClientWriteOptions): Promise<boolean>;
  stats(args?: string[], options?: ServerOptions): Promise<Record<string, string>>;
  version(options?: ServerOptions): Promise<string>;
  /** On every server. */
  flushAll(delay?: number, options?: ClientWriteOptions): Promise<boolean>;
  shutdown(options?: { graceful?: boolean; server?: number | string }): Promise<void>;
  metaGet(key: Key, options?: Timed<MetaGetOptions>): Promise<MetaReply>;
  metaSet(key: Key, value: Value, options?: Timed<MetaSetOptions>): Promise<MetaReply>;
  metaDelete(key: Key, options?: Timed<MetaDeleteOptions>): Promise<MetaReply>;
  metaArithmetic(key: Key, options?: Timed<MetaArithmeticOptions>): Promise<MetaReply>;
  metaNoop(options?: ServerOptions): Promise<MetaReply>;
  metaDebug(key: Key, options?: ClientCallOptions): Promise<MetaReply>;
  /** Closes the sockets (WebSockets with 1000) and frees the wasm memory. */
  close(): Promise<void>;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Connects to one server (`"host:port"`; a `ws://` URL in browsers) or
 * several; resolves once a socket is open (to at least one of them). */
export declare function connect(servers: string | string[], options?: ConnectOptions): Promise<Client>;

export type { Protocol as ProtocolClass, Router as RouterClass };

/** This runtime's socket adapter (what `connect` uses without `socket`). */
export declare const defaultSocket: SocketAdapter;

/** The module's wasm memory in bytes (grows, never shrinks). */
export declare function memoryUsage(): number;
