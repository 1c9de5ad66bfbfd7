//! Test support: real memcached servers for integration tests.
//!
//! Each test file in `tests/` compiles this module on its own (`mod support;`),
//! and uses only part of it, hence `allow(dead_code)`.
//!
//! ```ignore
//! mod support;
//! use support::MemcachedServer;
//!
//! let server = MemcachedServer::start();            // 127.0.0.1:<free port>
//! let client = memcrab::Client::new(server.addr_string()).unwrap();
//! // ... use the client, then look at what the server really holds:
//! assert_eq!(server.raw_get(b"key"), Some(b"value".to_vec()));
//! ```
//!
//! Servers listen on loopback only (`-l 127.0.0.1` / `-l ::1`, or a unix
//! socket in a temporary directory), with UDP off (`-U 0`). They are killed
//! when dropped.
#![allow(dead_code, unused_imports)]

mod binary;
pub mod cli;
pub mod faults;
pub mod nutcracker;
pub mod proxy;
pub mod python;
pub mod raw;
pub mod reference;
mod server;

pub use binary::{memcached_available, memcached_binary, require_memcached};
pub use raw::{RawConn, RawItem, RawTarget};
pub use server::{ipv6_available, Builder, MemcachedServer};
