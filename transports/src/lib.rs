//! memcrab-transport: the transports of memcrab.
//!
//! The protocol lives in `memcrab-core`; this crate moves its bytes. The
//! blocking [`Client`] talks to one server over TCP (v4 and v6) or a unix
//! socket; every client implements the [`Memcache`] command trait, with
//! pymemcache's method names and results. With the `mio` feature,
//! `mio` drives connections inside a user's own `mio::Poll`
//! and offers a pipelined engine for throughput. With the `tokio` feature,
//! `tokio::Client` is an async client for any number of tasks, with
//! automatic pipelining and get merging; every async client implements
//! [`AsyncMemcache`].
//!
//! With the `tracing` feature, the blocking clients and the tokio client
//! emit a `memcrab.command` span (target `memcrab`, level INFO) per
//! command batch, with fields `command` (the first request's name),
//! `server` (comma-separated server names, where known), `keys`,
//! `outcome` (`ok`, `partial` or `error`), `error` (the first error's kind)
//! and `latency_us`; the blocking drivers also emit `connected` (DEBUG),
//! `connect failed` (WARN), `node dead` (WARN) and `node revived` (INFO)
//! events with a `server` field. Without the feature none of it is
//! compiled in. With the `metrics` feature, every client reports
//! requests, hits, misses, errors and latencies through the `metrics`
//! facade (see the `metrics` module).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
mod api;
mod async_api;
pub mod blocking;
mod clock;
mod error;
mod fallback;
mod fault;
#[cfg(feature = "json")]
mod json;
mod meta_api;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "mio")]
pub mod mio;
#[cfg(feature = "mock")]
pub mod mock;
mod retrying;
#[cfg(feature = "tokio")]
pub mod tokio;
mod trace;

pub use address::{ServerAddr, ToServerAddr};
pub use api::{CommandOptions, Expiry, Memcache, StoreOptions};
pub use async_api::{AsyncMemcache, AsyncMetaCommands};
pub use blocking::{
    Client, ClientBuilder, ClientOptions, HashClient, HashClientBuilder, HashOptions, Keepalive,
    ObjectPool, PoolError, PoolOptions, Pooled, PooledClient, PooledClientBuilder,
};
pub use blocking::{DiscoveryClient, DiscoveryClientBuilder, ServerKeyed};
#[cfg(feature = "tls")]
pub use blocking::{TlsConfig, TlsConfigBuilder};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorKind, Result};
pub use fallback::FallbackClient;
#[cfg(feature = "json")]
pub use json::{JsonCommands, FLAG_JSON};
pub use memcrab_core::router::{Distribution, HealthConfig};
pub use memcrab_core::serde::{FromValue, ToValue, Value};
pub use memcrab_core::Protocol;
pub use meta_api::{MetaCommands, Recache, Recached};
pub use retrying::{RetryingBuilder, RetryingClient};
