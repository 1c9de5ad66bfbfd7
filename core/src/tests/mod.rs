//! memcrab-core's in-memory tests: exact request bytes, replies under every
//! split, pipelining against a scripted server, noreply, hostile servers,
//! timeouts and the connection's lifecycle.

mod encode;
mod fuzz_regressions;
mod hostile;
mod lifecycle;
mod meta;
mod noreply;
mod parse_splits;
mod pipeline;
mod timeouts;
pub(crate) mod util;
