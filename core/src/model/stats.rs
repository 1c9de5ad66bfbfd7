//! `stats`: a small, plausible set of memcached's statistics.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use super::{Ctx, Step};

/// Answers `stats [section]`: the general set, `settings`, `items` and
/// `slabs` (empty), `reset`; anything else is `ERROR`, as memcached.
pub(super) fn stats(cx: &mut Ctx<'_>, args: &[&[u8]]) -> Step {
    let now = cx.now;
    let mut lines: Vec<(&str, String)> = Vec::new();
    let mut num = |name: &'static str, n: u64| lines.push((name, n_to_string(n)));
    match args.first().copied() {
        None => {
            let (curr_items, bytes) = cx.store.usage(now);
            let c = cx.store.counters.clone();
            num("pid", 1);
            num("uptime", now - super::CLOCK_START + 2);
            num("time", cx.store.unix_origin + now - super::CLOCK_START);
            lines.push(("version", String::from(cx.version)));
            let mut num = |name: &'static str, n: u64| lines.push((name, n_to_string(n)));
            num("pointer_size", 64);
            num("curr_connections", cx.open);
            num("total_connections", cx.connections);
            num("cmd_get", c.cmd_get);
            num("cmd_set", c.cmd_set);
            num("cmd_flush", c.cmd_flush);
            num("cmd_touch", c.cmd_touch);
            num("get_hits", c.get_hits);
            num("get_misses", c.get_misses);
            num("delete_misses", c.delete_misses);
            num("delete_hits", c.delete_hits);
            num("incr_misses", c.incr_misses);
            num("incr_hits", c.incr_hits);
            num("decr_misses", c.decr_misses);
            num("decr_hits", c.decr_hits);
            num("cas_misses", c.cas_misses);
            num("cas_hits", c.cas_hits);
            num("cas_badval", c.cas_badval);
            num("touch_hits", c.touch_hits);
            num("touch_misses", c.touch_misses);
            num("threads", 4);
            num("bytes", bytes);
            num("curr_items", curr_items);
            num("total_items", c.total_items);
            num("limit_maxbytes", cx.store.limit_maxbytes);
            num("evictions", 0);
        }
        Some(b"settings") if args.len() == 1 => {
            num("maxbytes", cx.store.limit_maxbytes);
            num("maxconns", 1024);
            num("item_size_max", cx.store.max_item_size as u64);
            lines.push(("evictions", String::from("on")));
            lines.push(("cas_enabled", String::from("yes")));
            lines.push(("flush_enabled", String::from("yes")));
        }
        Some(b"items" | b"slabs") if args.len() == 1 => {}
        Some(b"reset") if args.len() == 1 => {
            cx.store.counters = super::store::Counters {
                total_items: 0,
                ..Default::default()
            };
            cx.line(b"RESET");
            return Step::Line;
        }
        Some(_) => {
            cx.line(b"ERROR");
            return Step::Line;
        }
    }
    for (name, value) in lines {
        cx.out.extend_from_slice(b"STAT ");
        cx.out.extend_from_slice(name.as_bytes());
        cx.out.push(b' ');
        cx.out.extend_from_slice(value.as_bytes());
        cx.out.extend_from_slice(b"\r\n");
    }
    cx.line(b"END");
    Step::Line
}

fn n_to_string(n: u64) -> String {
    let mut s = String::new();
    let _ = write!(s, "{n}");
    s
}
