//! memcrab-core: the sans-IO heart of memcrab.
//!
//! Everything memcrab knows about memcached's protocol lives here, over byte
//! buffers, with no socket and no clock: requests are values ([`Request`]),
//! replies are values ([`Reply`]), and a [`Connection`] state machine matches
//! them up, pipelined, with deadlines passed in as [`Millis`].
//!
//! Transports (the blocking client, the mio driver, the WebAssembly bindings)
//! only move bytes between a socket and a [`Connection`].
#![no_std]
#![forbid(unsafe_code, unused_must_use)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod address;
pub mod cluster;
pub mod command;
mod connection;
pub mod discovery;
mod error;
pub mod fallback;
#[cfg(fuzzing)]
pub mod fuzzing;
mod key;
mod limits;
pub mod meta;
#[cfg(feature = "model")]
pub mod model;
pub mod router;
pub mod serde;
pub mod stats;
#[cfg(test)]
mod tests;
pub mod text;
mod time;

pub use connection::{Connection, Protocol, RequestId};
pub use error::{Error, ErrorKind, IllegalInput};
pub use key::{validate_key, KeyPolicy, MAX_KEY_LENGTH};
pub use limits::Limits;
pub use text::{GetCommand, Item, Reply, Request, StoreCommand};
pub use time::Millis;
