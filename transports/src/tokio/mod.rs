//! The tokio driver (cargo feature `tokio`): [`Client`], an async client
//! over one or many servers for any number of tasks, driving the core's
//! [`Cluster`](memcrab_core::cluster::Cluster).
//!
//! The cluster decides everything (routing, health, pipelining, merging,
//! timeouts); this module opens sockets, moves bytes and tells the time
//! with tokio's clock. Calls are the methods of
//! [`AsyncMemcache`](crate::AsyncMemcache) and
//! [`AsyncMetaCommands`](crate::AsyncMetaCommands).

mod builder;
mod client;
mod conn;
mod driver;
mod socket;

pub use builder::ClientBuilder;
pub use client::Client;
