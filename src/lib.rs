//! memcrab: a memcached client for Rust.
//!
//! What `cargo add memcrab-client` gives you: the blocking [`Client`] and the
//! [`Memcache`] command trait with pymemcache's names and results, server
//! addresses in every form pymemcache takes, pymemcache-compatible serdes,
//! and the sans-IO protocol core ([`core`]) for your own transports.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use memcrab::{Client, Memcache, StoreOptions};
//!
//! let client = Client::new("localhost")?;
//! client.set("some_key", "some_value")?;
//! let result: Option<String> = client.get("some_key")?;
//! client.set_with("visits", 0u64, StoreOptions::new().expire(Duration::from_secs(3600)))?;
//! client.incr("visits", 1)?;
//! let visits: Option<u64> = client.get("visits")?;
//! # Ok::<(), memcrab::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The sans-IO protocol core (`memcrab-core`).
pub use memcrab_core as core;
/// A serde type stored as JSON with [`FLAG_JSON`] (cargo feature `json`).
#[cfg(feature = "json")]
pub use memcrab_core::serde::Json;
/// A serde type stored as a Python pickle (cargo feature `pickle`).
#[cfg(feature = "pickle")]
pub use memcrab_core::serde::Pickle;
pub use memcrab_core::serde::{
    CompressedSerde, FromValue, PickleSerde, RawSerde, Serde, SerdeError, ToValue, Value,
};
pub use memcrab_core::stats::{StatValue, Stats};
pub use memcrab_transport::address::{self, AddrParseError, ServerAddr, ToServerAddr};
pub use memcrab_transport::blocking;
/// The mio driver and the pipelined engine (cargo feature `mio`).
#[cfg(feature = "mio")]
pub use memcrab_transport::mio;
/// The in-memory test double, `MockClient` (cargo feature `mock`).
#[cfg(feature = "mock")]
pub use memcrab_transport::mock;
/// The async client for tokio (cargo feature `tokio`).
#[cfg(feature = "tokio")]
pub use memcrab_transport::tokio;
pub use memcrab_transport::{AsyncMemcache, AsyncMetaCommands};
pub use memcrab_transport::{
    Client, ClientBuilder, ClientOptions, Clock, CommandOptions, Error, ErrorKind, Expiry,
    Keepalive, ManualClock, Memcache, Result, StoreOptions, SystemClock,
};
pub use memcrab_transport::{DiscoveryClient, DiscoveryClientBuilder, ServerKeyed};
pub use memcrab_transport::{
    Distribution, FallbackClient, HashClient, HashClientBuilder, HashOptions, HealthConfig,
    ObjectPool, PoolError, PoolOptions, Pooled, PooledClient, PooledClientBuilder, RetryingBuilder,
    RetryingClient,
};
#[cfg(feature = "json")]
pub use memcrab_transport::{JsonCommands, FLAG_JSON};
pub use memcrab_transport::{MetaCommands, Protocol, Recache, Recached};
#[cfg(feature = "tls")]
pub use memcrab_transport::{TlsConfig, TlsConfigBuilder};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
