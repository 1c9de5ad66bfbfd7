//! Shared code of memcrab's fuzz targets (`fuzz_targets/`) and of the seed
//! generator (`examples/seed.rs`).
//!
//! - [`plan`]: the input format of `text_reply` and `meta_reply`.
//! - [`drive`]: running a plan through a `Connection` and its invariants.
//! - [`server`]: reading a client's bytes as memcached does.
//! - `parsers` (with `--cfg fuzzing`): the reply parsers on their own.

pub mod drive;
#[cfg(fuzzing)]
pub mod parsers;
pub mod plan;
pub mod server;
