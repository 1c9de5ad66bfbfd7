//! Any bytes as the server's replies to a pipeline of meta requests (quiet
//! ones with their barriers) and classic requests, these over meta commands
//! or not, in one read and in arbitrary splits (see `memcrab_fuzz::plan`).
//!
//! Invariants: as `text_reply`; a quiet request may stay unanswered, every
//! other one is answered exactly once by the end of the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcrab_fuzz::drive::{check_plan, meta_setup};
use memcrab_fuzz::parsers::check_meta;
use memcrab_fuzz::plan::Plan;

fuzz_target!(|data: &[u8]| {
    let plan = Plan::decode(data);
    check_plan(&plan, meta_setup);
    check_meta(&plan);
});
