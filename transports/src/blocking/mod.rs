//! The blocking std transport: [`Client`] over TCP (v4, v6) or unix sockets.

mod affinity;
mod client;
mod driver;
mod hash;
mod options;
mod pool;
mod setters;
mod socket;
#[cfg(feature = "tls")]
pub(crate) mod tls;

pub use client::{Client, ClientBuilder};
pub use driver::{Outcome, Outcomes};
pub use hash::{HashClient, HashClientBuilder, HashOptions};
pub use options::{ClientOptions, Keepalive, DEFAULT_TIMEOUT};
pub use pool::{PoolOptions, PooledClient, PooledClientBuilder};
#[cfg(feature = "tls")]
pub use rustls;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsConfigBuilder};
