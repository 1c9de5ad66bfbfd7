//! What a command means: whether it awaits a reply, and how its reply
//! becomes its result.
//!
//! Every front end (the blocking clients, the mio engine, the tokio client,
//! the WebAssembly bindings) asks this module, so a `set` means the same
//! everywhere: pymemcache's results, decided once.
//!
//! - [`Awaits`]: does a request get a reply always, never, or only when it
//!   failed (quiet meta requests)?
//! - [`Meaning`]: how a reply becomes a result ([`Outcome`]), and what a
//!   request answers without I/O when its server is skipped.
//! - [`match_items`]: the items of a multi-key get, in the caller's key
//!   order.
//! - [`OwnedRequest`]: a request that owns its keys and value (backed by
//!   [`bytes::Bytes`]), for queues, fuzzers and bindings, borrowed as a
//!   [`Request`](crate::Request) to encode.
//! - [`retry`]: which failed requests may be sent again.

mod awaits;
mod items;
mod meaning;
mod owned;
pub mod retry;

pub use awaits::Awaits;
pub use items::{for_each_match, match_items};
pub use meaning::{Meaning, Outcome};
pub use owned::{OwnedRequest, RequestRef};
