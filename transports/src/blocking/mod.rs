//! The blocking std transport: [`Client`] over TCP (v4, v6) or unix sockets.

mod client;
mod hash;
mod link;
mod options;
mod pool;
mod socket;
#[cfg(feature = "tls")]
pub(crate) mod tls;

pub use client::{Client, ClientBuilder};
pub use hash::{HashClient, HashClientBuilder, HashOptions};
pub use link::{Outcome, Outcomes};
pub use options::{ClientOptions, Keepalive};
pub use pool::{PoolOptions, PooledClient};
#[cfg(feature = "tls")]
pub use rustls;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsConfigBuilder};
