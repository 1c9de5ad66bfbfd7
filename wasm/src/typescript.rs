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

/** Options of a connection (`new Protocol(options)`, `connect`). */
export interface ProtocolOptions {
  /** Prepended to every key on the wire; counts towards the 250 bytes. */
  keyPrefix?: string;
  /** Allow keys with non-ASCII bytes (sent as UTF-8). Default false. */
  allowUnicodeKeys?: boolean;
  /** With `protocol: "meta"` only: the meta commands (`metaGet`,
   * `metaSet`, …) take keys with any bytes (spaces, CR/LF, NUL, non-ASCII),
   * sent base64-encoded. Default false: the same keys are refused whatever
   * the protocol; the classic commands always keep the classic rules. */
  binaryKeys?: boolean;
  /** The largest value sent or accepted, in bytes. Default 1 MiB + 512. */
  maxItemSize?: number;
  /** `"text"` (default): memcached's classic commands. `"meta"`: the keyed
   * classic commands go as meta commands (memcached 1.6+) with the same
   * results, and noreply becomes quiet mode, whose failures are reported. */
  protocol?: "text" | "meta";
}

/** Options of `new Session` (the package's `connect` options). */
export interface SessionOptions extends ProtocolOptions {
  timeoutMs?: number;
  [name: string]: unknown;
}

/** Options of every command. */
export interface CallOptions {
  /** Ask the server not to reply (storage, delete, incr/decr, touch,
   * flush_all). The command still completes: once its bytes were taken and
   * every earlier command completed. */
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

/** One item found by a retrieval: plain data (structured-cloneable). */
export interface Item {
  /** The key, without the key prefix (UTF-8 decoded, invalid bytes as U+FFFD). */
  key: string;
  /** The value's bytes (a copy). Decode text with `new TextDecoder().decode(item.value)`. */
  value: Uint8Array;
  /** The client flags stored with the value. */
  flags: number;
  /** The cas token, from `gets`, as a decimal string (64-bit tokens do not
   * fit a number; a string survives JSON): pass it to `cas` as is. */
  cas?: string;
}

/** The names of `MemcrabError.kind`. */
export type ErrorKind =
  | "IllegalInput"    // a bad key, value, argument or option; nothing was sent
  | "UnknownCommand"  // the server answered ERROR
  | "Client"          // CLIENT_ERROR <message>
  | "Server"          // SERVER_ERROR <message>
  | "UnexpectedReply" // a reply that does not answer the command
  | "Protocol"        // the server's bytes broke the protocol
  | "NoreplyFailed"   // an error line after a noreply command
  | "UnexpectedClose" // the connection closed with the reply outstanding
  | "Timeout"         // the deadline passed before the reply was complete
  | "Closed"          // the client was closed
  | "NoServers"       // every server is marked down
  | "Io";             // a socket could not be opened, or failed

/** The error of a completion (the package exports it as a class). */
export interface MemcrabError extends Error {
  name: "MemcrabError";
  kind: ErrorKind;
  /** A stable, precise name, e.g. "KEY_WHITESPACE", "UNKNOWN_OPTION". */
  code: string;
  /** True when the connection is gone; false when only this command failed. */
  fatal: boolean;
}

/** A completed command from `Protocol.receive` (and `poll`, `receiveEof`,
 * `handleTimeout`): `id` is what the command returned; `value` is what the
 * same `Client` method resolves to. */
export type Completion =
  | { id: number; value: unknown; error?: undefined }
  | { id: number; error: MemcrabError; value?: undefined };

/** The status of a meta reply: `value` (VA), `ok` (HD), `miss` (EN),
 * `notFound` (NF), `notStored` (NS), `exists` (EX), `noop` (MN), `debug` (ME). */
export type MetaStatus =
  "value" | "ok" | "miss" | "notFound" | "notStored" | "exists" | "noop" | "debug";

/** A meta command's reply, with the fields its request asked for. */
export interface MetaReply {
  status: MetaStatus;
  /** The value (`value` status), or the debug text (`debug` status). */
  value?: Uint8Array;
  /** The cas token, as a decimal string. */
  cas?: string;
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
  compareCas?: string | bigint | number;
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
  compareCas?: string | bigint | number;
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
  compareCas?: string | bigint | number;
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
    /// An unsigned integer (`bigint | number | string`).
    #[wasm_bindgen(typescript_type = "bigint | number | string")]
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
    #[wasm_bindgen(typescript_type = "SessionOptions")]
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
