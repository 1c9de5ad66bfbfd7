//! Any bytes as the server's replies to a pipeline of classic requests, in
//! one read and in arbitrary splits (see `memcrab_fuzz::plan` for the input
//! format).
//!
//! Invariants: no panic and no livelock; one read and the split reads give
//! identical `(id, result)` sequences; every request is answered at most
//! once, in order, and every awaited one exactly once by the end of the
//! stream; once closed, every result is the closing error. The parser on its
//! own: a partial step consumes nothing, a complete step a non-empty prefix,
//! the same bytes however the input is split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcrab_fuzz::drive::{check_plan, text_setup};
use memcrab_fuzz::parsers::check_text;
use memcrab_fuzz::plan::Plan;

fuzz_target!(|data: &[u8]| {
    let plan = Plan::decode(data);
    check_plan(&plan, text_setup);
    check_text(&plan);
});
