//! memcrab-wasm: memcrab for JavaScript, the engine of the npm package
//! `memcrab` (Node, Deno, Bun, Cloudflare Workers, browsers).
//!
//! Built with wasm-bindgen for `wasm32-unknown-unknown`, it exports:
//!
//! - [`Session`]: the client behind the package's promise `Client`, a thin
//!   driver of the core's `Cluster`, which decides everything (validation,
//!   routing over several servers, node health, splitting and merging
//!   gets, timeouts, when sockets open and close, what each reply means);
//!   the package's JavaScript only moves bytes between sockets and the
//!   session, tells it the time and settles promises.
//! - [`Protocol`]: memcached over a socket the caller drives: commands
//!   return ids, `transmit()` the bytes to write, `receive(bytes)` the
//!   completed commands, with the same results as `Client`.
//! - [`Router`]: the core's key routing over several servers (rendezvous
//!   hashing compatible with pymemcache, ketama compatible with libmemcached
//!   and twemproxy) and its node health rules.
//!
//! Everything about the protocol comes from `memcrab-core`; this crate only
//! converts between JavaScript values and the core's. It never reads
//! `std::time::Instant` (which panics on this target): the `Session` is
//! told `performance.now()` by its driver (`Date.now()` when it is not),
//! the `Protocol` and `Router` take time as arguments.
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod command;
mod config;
mod convert;
mod driver;
mod error;
mod helpers;
mod meta;
mod protocol;
mod reply;
mod router;
mod session;
mod shape;
mod typescript;

pub use driver::SessionDriver;
pub use helpers::{set_helpers, Helpers};
pub use protocol::Protocol;
pub use router::Router;
pub use session::Session;
pub use typescript::{
    Bytes, CallOptions, Completions, Integer, Key, Keys, MetaArithmeticOptions, MetaDeleteOptions,
    MetaGetOptions, MetaSetOptions, ProtocolOptions, RouterOptions, SessionOptions, StatsArgs,
    StoreOptions, Value,
};
