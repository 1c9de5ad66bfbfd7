//! The blocking std transport: [`Client`] over TCP (v4, v6) or unix sockets.

mod affinity;
mod client;
mod discovery;
mod driver;
mod hash;
mod object_pool;
mod options;
mod pool;
mod server_key;
pub(crate) mod setters;
pub(crate) mod socket;
#[cfg(feature = "tls")]
pub(crate) mod tls;

pub use client::{Client, ClientBuilder};
pub use discovery::{DiscoveryClient, DiscoveryClientBuilder};
pub use driver::{Outcome, Outcomes};
pub use hash::{HashClient, HashClientBuilder, HashOptions};
pub use object_pool::{ObjectPool, PoolError, Pooled};
pub use options::{ClientOptions, Keepalive, DEFAULT_TIMEOUT};
pub use pool::{PoolOptions, PooledClient, PooledClientBuilder};
#[cfg(feature = "tls")]
pub use rustls;
pub use server_key::ServerKeyed;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsConfigBuilder};
