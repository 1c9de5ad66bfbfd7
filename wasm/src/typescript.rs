//! The TypeScript types of the plain objects that cross the boundary.
//!
//! wasm-bindgen types the classes and their methods; the objects built by
//! hand (options, replies, items, errors, routes) are declared here and
//! referenced from the methods' signatures, so the generated `.d.ts` reads as
//! one API.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A key: a string (sent as its UTF-8 bytes) or raw bytes. At most 250
 * bytes with the key prefix; no whitespace or control characters; non-ASCII
 * only with `allowUnicodeKeys`. */
export type Key = string | Uint8Array;

/** A value: a string (stored as its UTF-8 bytes) or raw bytes. */
export type Value = string | Uint8Array | ArrayBuffer;

/** Options of a connection (`new Protocol(options)`, `Client.connect`). */
export interface ProtocolOptions {
  /** Prepended to every key on the wire; counts towards the 250 bytes. */
  keyPrefix?: string;
  /** Allow keys with non-ASCII bytes (sent as UTF-8). Default false. */
  allowUnicodeKeys?: boolean;
  /** The largest value sent or accepted, in bytes. Default 1 MiB + 512. */
  maxItemSize?: number;
  /** `"text"` (default): memcached's classic commands. `"meta"`: the keyed
   * classic commands go as meta commands (memcached 1.6+) with the same
   * results, and noreply becomes quiet mode, whose failures are reported
   * (as that command's error reply, or to `Client.onerror`) instead of
   * closing the connection. */
  protocol?: "text" | "meta";
}

/** Options of every command. */
export interface CallOptions {
  /** Ask the server not to reply (storage, delete, incr/decr, touch,
   * flush_all). A `Protocol` returns no reply for it; a `Client` resolves
   * at once. */
  noreply?: boolean;
  /** `Protocol` only: when the reply must be complete, in milliseconds on
   * the clock passed to `handleTimeout` (e.g. `performance.now() + 500`). */
  deadline?: number;
}

/** Options of the storage commands. */
export interface StoreOptions extends CallOptions {
  /** Opaque client flags stored with the value (0 to 2^32-1). Default 0. */
  flags?: number;
  /** Expiration in seconds: 0 never, up to 30 days relative, else a Unix
   * time. Default 0. */
  expire?: number;
}

/** One item found by a retrieval. */
export interface Item {
  /** The key, without the key prefix. */
  key: string;
  /** The client flags stored with the value. */
  flags: number;
  /** The value's bytes (a copy, owned by JavaScript). */
  value: Uint8Array;
  /** The cas token, from `gets`: pass it to `cas`. */
  cas?: bigint;
  /** Decodes `value` as UTF-8 (invalid bytes become U+FFFD). */
  text(): string;
}

/** The names of `MemcrabError.kind`. */
export type ErrorKind =
  | "IllegalInput"    // a bad key, value or argument; nothing was sent
  | "UnknownCommand"  // the server answered ERROR
  | "Client"          // CLIENT_ERROR <message>
  | "Server"          // SERVER_ERROR <message>
  | "UnexpectedReply" // a reply that does not answer the command
  | "Protocol"        // the server's bytes broke the protocol
  | "NoreplyFailed"   // an error line after a noreply command
  | "UnexpectedClose" // the connection closed with the reply outstanding
  | "Timeout"         // the deadline passed before the reply was complete
  | "Closed"          // the client was closed, or the socket had closed already
  | "Io";             // the WebSocket could not be opened or failed

/** Every error memcrab reports: thrown by `Protocol` commands, returned in
 * `Reply.error`, or the reason of a rejected `Client` promise. */
export interface MemcrabError extends Error {
  name: "MemcrabError";
  kind: ErrorKind;
  /** True when the connection is gone (make a new one); false when only
   * this command failed. */
  fatal: boolean;
}

/** A completed reply from `Protocol.receive` (and `receiveEof`,
 * `handleTimeout`); `id` is the command's `Protocol.lastId`. */
export type Reply = { id: number } & (
  | { type: "stored" | "notStored" | "exists" | "notFound" | "deleted" | "touched" | "ok" | "closed" }
  | { type: "number"; value: bigint }
  | { type: "values"; items: Item[] }
  | { type: "stats"; stats: Record<string, string> }
  | { type: "version"; version: string }
  | { type: "raw"; value: Uint8Array }
  | { type: "meta"; meta: MetaReply }
  | { type: "error"; error: MemcrabError }
);

/** The status of a meta reply: `value` (VA), `ok` (HD), `miss` (EN),
 * `notFound` (NF), `notStored` (NS), `exists` (EX), `noop` (MN), `debug` (ME). */
export type MetaStatus =
  "value" | "ok" | "miss" | "notFound" | "notStored" | "exists" | "noop" | "debug";

/** A meta command's reply, with the fields its request asked for. */
export interface MetaReply {
  status: MetaStatus;
  /** The value (`value` status), or the debug text (`debug` status). */
  value?: Uint8Array;
  /** Decodes `value` as UTF-8; present when `value` is. */
  text?(): string;
  cas?: bigint;
  /** The client flags. */
  flags?: number;
  /** Remaining TTL in seconds (-1: none). */
  ttl?: number;
  size?: number;
  /** The key, without the key prefix. */
  key?: string;
  /** Seconds since the last access. */
  lastAccess?: number;
  hitBefore?: boolean;
  /** This client won the right to recompute the item (`W`). */
  win: boolean;
  /** The item is stale (`X`). */
  stale: boolean;
  /** Another client already won the right to recompute it (`Z`). */
  alreadyWon: boolean;
}

/** Options of `metaGet` (`mg`). */
export interface MetaGetOptions {
  /** Return the value. Default true. */
  returnValue?: boolean;
  returnCas?: boolean;
  returnFlags?: boolean;
  returnHit?: boolean;
  returnKey?: boolean;
  returnLastAccess?: boolean;
  returnSize?: boolean;
  returnTtl?: boolean;
  /** Do not bump the item in the LRU nor update its access time. */
  noBump?: boolean;
  /** `Protocol` only: reply only on a hit. */
  quiet?: boolean;
  /** On a miss, create an empty item with this TTL; this client wins. */
  vivify?: number;
  /** If the remaining TTL is below this, this client wins the recache. */
  recache?: number;
  /** Set a new TTL. */
  touch?: number;
  /** `Protocol` only: see `CallOptions.deadline`. */
  deadline?: number;
}

/** Options of `metaSet` (`ms`). */
export interface MetaSetOptions {
  mode?: "set" | "add" | "replace" | "append" | "prepend";
  /** Client flags stored with the value. */
  flags?: number;
  /** TTL in seconds. */
  ttl?: number;
  /** Store only if the item's cas token is this one. */
  compareCas?: bigint | number;
  /** With compareCas: store even if the token is older, marking the item stale. */
  invalidate?: boolean;
  returnCas?: boolean;
  returnKey?: boolean;
  /** `Protocol` only: reply only on failure. */
  quiet?: boolean;
  deadline?: number;
}

/** Options of `metaDelete` (`md`). */
export interface MetaDeleteOptions {
  compareCas?: bigint | number;
  /** Mark the item stale instead of deleting it. */
  invalidate?: boolean;
  /** With invalidate: the stale item's new TTL. */
  ttl?: number;
  returnKey?: boolean;
  /** `Protocol` only: reply only on failure. */
  quiet?: boolean;
  deadline?: number;
}

/** Options of `metaArithmetic` (`ma`). */
export interface MetaArithmeticOptions {
  mode?: "incr" | "decr";
  /** Default 1. */
  delta?: bigint | number;
  /** On a miss, create the counter with this TTL… */
  vivify?: number;
  /** …starting at this value (default 0). */
  initial?: bigint | number;
  compareCas?: bigint | number;
  /** Set this TTL on success. */
  ttl?: number;
  /** Return the new value (as the reply's `value`/`text()`). Default true. */
  returnValue?: boolean;
  returnTtl?: boolean;
  returnCas?: boolean;
  /** `Protocol` only: reply only on failure. */
  quiet?: boolean;
  deadline?: number;
}

/** Options of `Client.connect`. */
export interface ClientOptions extends ProtocolOptions {
  /** Reject a command whose reply takes longer than this many milliseconds
   * (and close the connection: the stream cannot be trusted after it).
   * Default: no timeout. */
  timeoutMs?: number;
  /** Reject `connect` if the WebSocket is not open after this many
   * milliseconds. Default 10000. */
  connectTimeoutMs?: number;
  /** WebSocket sub-protocols to offer; websockify needs none. */
  protocols?: string | string[];
}

/** How `Router` spreads keys: `"rendezvous"` (pymemcache's HashClient,
 * the default), `"rendezvous-bytes-repr"` (pymemcache with `bytes` keys),
 * `"ketama-md5"` (libmemcached, twemproxy `hash: md5`), `"ketama-fnv1a64"`
 * (twemproxy `hash: fnv1a_64`). */
export type Distribution = "rendezvous" | "rendezvous-bytes-repr" | "ketama-md5" | "ketama-fnv1a64";

/** Options of `new Router(nodes, options)`; the defaults are pymemcache's. */
export interface RouterOptions {
  distribution?: Distribution;
  /** Retries after a node's first failure before it is dead. Default 2. */
  retryAttempts?: number;
  /** Milliseconds after a failure before the node is tried again. Default 1000. */
  retryTimeoutMs?: number;
  /** Milliseconds a dead node stays off the ring. Default 60000. */
  deadTimeoutMs?: number;
  /** The current time in milliseconds. Default `Date.now()`. */
  now?: number;
}

/** Where `Router.route` sends a key. `"node"`: call that node. `"wait"`:
 * the node failed less than `retryTimeoutMs` ago; answer with the
 * command's default (a miss) without calling it. `"noNodes"`: every node is
 * dead. */
export type Route =
  | { type: "node" | "wait"; node: string; index: number }
  | { type: "noNodes" };
"#;

#[wasm_bindgen]
extern "C" {
    /// A key (`string | Uint8Array`).
    #[wasm_bindgen(typescript_type = "Key")]
    pub type Key;
    /// A value (`string | Uint8Array | ArrayBuffer`).
    #[wasm_bindgen(typescript_type = "Value")]
    pub type Value;
    /// An array of keys.
    #[wasm_bindgen(typescript_type = "Key[]")]
    pub type Keys;
    /// An unsigned integer (`bigint | number`).
    #[wasm_bindgen(typescript_type = "bigint | number")]
    pub type Integer;
    /// Bytes read from a socket.
    #[wasm_bindgen(typescript_type = "Uint8Array | ArrayBuffer")]
    pub type Bytes;
    /// The options of a storage command.
    #[wasm_bindgen(typescript_type = "StoreOptions")]
    pub type StoreOptions;
    /// The options of any command.
    #[wasm_bindgen(typescript_type = "CallOptions")]
    pub type CallOptions;
    /// The options of `new Protocol`.
    #[wasm_bindgen(typescript_type = "ProtocolOptions")]
    pub type ProtocolOptions;
    /// The options of `new Session` (`connect`).
    #[wasm_bindgen(typescript_type = "ConnectOptions")]
    pub type SessionOptions;
    /// An array of completions.
    #[wasm_bindgen(typescript_type = "Completion[]")]
    pub type Completions;
    /// The options of `new Router`.
    #[wasm_bindgen(typescript_type = "RouterOptions")]
    pub type RouterOptions;
    /// The options of `metaGet`.
    #[wasm_bindgen(typescript_type = "MetaGetOptions")]
    pub type MetaGetOptions;
    /// The options of `metaSet`.
    #[wasm_bindgen(typescript_type = "MetaSetOptions")]
    pub type MetaSetOptions;
    /// The options of `metaDelete`.
    #[wasm_bindgen(typescript_type = "MetaDeleteOptions")]
    pub type MetaDeleteOptions;
    /// The options of `metaArithmetic`.
    #[wasm_bindgen(typescript_type = "MetaArithmeticOptions")]
    pub type MetaArithmeticOptions;
    /// The arguments of `stats` (`string[]`).
    #[wasm_bindgen(typescript_type = "string[]")]
    pub type StatsArgs;
}
