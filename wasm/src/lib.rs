//! memcrab-wasm: memcrab for JavaScript, in browsers, Node and edge runtimes.
//!
//! Built with wasm-bindgen for `wasm32-unknown-unknown`, it exports:
//!
//! - [`Protocol`]: the sans-IO core for any JavaScript socket. Commands
//!   return the bytes to write (`Uint8Array`); `receive(bytes)` takes what
//!   the socket read and returns the completed replies as plain objects.
//!   Works over Node's `net.Socket`, Deno's and Bun's TCP, Cloudflare
//!   Workers' `connect()`.
//! - [`Client`]: a promise-based client over a browser `WebSocket` to a
//!   WebSocket-to-TCP bridge (websockify) in front of memcached, with
//!   pipelining and errors as rejected promises.
//! - [`Router`]: the core's key routing over several servers (rendezvous
//!   hashing compatible with pymemcache, ketama compatible with libmemcached
//!   and twemproxy) and its node health rules.
//!
//! Everything about the protocol comes from `memcrab-core`; this crate only
//! converts between JavaScript values and the core's, and moves bytes. It
//! never reads `std::time::Instant` (which panics on this target): the
//! `Client` reads `performance.now()`, the `Protocol` and `Router` take time
//! as arguments.
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod client;
mod command;
mod convert;
mod error;
mod meta;
mod protocol;
mod reply;
mod router;
mod shape;
mod socket;
mod typescript;

pub use client::Client;
pub use protocol::{Protocol, Replies};
pub use router::Router;
pub use typescript::{
    Bytes, CallOptions, ClientOptions, ErrorHandler, Integer, Key, Keys, MetaArithmeticOptions,
    MetaDeleteOptions, MetaGetOptions, MetaSetOptions, ProtocolOptions, RouterOptions, StatsArgs,
    StoreOptions, Value,
};
