//! memcached's classic text protocol: requests, replies, and the parser.
//!
//! The protocol is specified in memcached's `protocol.txt`. Requests are
//! [`Request`] values encoded by the [`Connection`](crate::Connection);
//! replies come back as [`Reply`] values.

mod encode;
mod expect;
mod header;
mod parse;
mod reply;
mod request;

#[cfg(fuzzing)]
pub(crate) use encode::encode;
pub(crate) use encode::{check, encode_valid};
pub(crate) use expect::Expect;
pub(crate) use parse::{error_line, find_line, parse_u64, Context, Parser, Step};
pub use reply::{Item, Reply};
pub use request::{GetCommand, Request, StoreCommand};
