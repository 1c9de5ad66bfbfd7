//! The classic text commands, as memcached 1.6 answers them.

use alloc::vec::Vec;

use super::store::{token_i64, token_u64, Delta, Mode, Outcome, Store};
use super::{put_num, Ctx, Step};
use crate::key::MAX_KEY_LENGTH;

const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format";

/// Runs one text command line. `t` holds its tokens; `rest` the bytes
/// after its line (a storage command's data).
pub(super) fn command(cx: &mut Ctx<'_>, t: &[&[u8]], rest: &[u8]) -> Step {
    // memcached counts a terminal token: `ntokens` is `t.len() + 1`.
    let n = t.len() + 1;
    let name = t[0];
    let want = |ok: bool, cx: &mut Ctx<'_>, f: &dyn Fn(&mut Ctx<'_>) -> Step| {
        if ok {
            f(cx)
        } else {
            cx.line(b"ERROR");
            Step::Line
        }
    };
    match name {
        b"get" | b"gets" => want(n >= 3, cx, &|cx| get(cx, t, name == b"gets", false)),
        b"gat" | b"gats" => want(n >= 3, cx, &|cx| get(cx, t, name == b"gats", true)),
        b"set" | b"add" | b"replace" | b"append" | b"prepend" => {
            want(n == 6 || n == 7, cx, &|cx| update(cx, t, rest, false))
        }
        b"cas" => want(n == 7 || n == 8, cx, &|cx| update(cx, t, rest, true)),
        b"incr" | b"decr" => want(n == 4 || n == 5, cx, &|cx| arith(cx, t, name == b"incr")),
        b"touch" => want(n == 4 || n == 5, cx, &|cx| touch(cx, t)),
        b"delete" => want((3..=5).contains(&n), cx, &|cx| delete(cx, t)),
        b"flush_all" => want((2..=4).contains(&n), cx, &|cx| flush_all(cx, t)),
        b"verbosity" => want(n == 3 || n == 4, cx, &|cx| verbosity(cx, t)),
        b"cache_memlimit" => want(n == 3 || n == 4, cx, &|cx| memlimit(cx, t)),
        b"stats" => super::stats::stats(cx, &t[1..]),
        b"version" => {
            let mut line = Vec::from(&b"VERSION "[..]);
            line.extend_from_slice(cx.version.as_bytes());
            cx.line(&line);
            Step::Line
        }
        b"quit" => Step::Close,
        b"shutdown" => {
            cx.line(b"ERROR: shutdown not enabled");
            Step::Line
        }
        _ => {
            cx.line(b"ERROR");
            Step::Line
        }
    }
}

/// memcached's `set_noreply_maybe`: a last token `noreply`.
fn noreply(cx: &mut Ctx<'_>, t: &[&[u8]]) -> bool {
    let on = t.last().is_some_and(|l| *l == b"noreply");
    cx.noreply = on;
    on
}

fn get(cx: &mut Ctx<'_>, t: &[&[u8]], with_cas: bool, touch: bool) -> Step {
    let mut keys = &t[1..];
    let mut exptime = None;
    if touch {
        let Some(e) = token_i64(t[1]) else {
            cx.line(b"CLIENT_ERROR invalid exptime argument");
            return Step::Line;
        };
        // EXPTIME_TO_POSITIVE_TIME: a negative TTL is a time long past.
        exptime = Some(cx.store.realtime(if e < 0 { -1 } else { e }, cx.now));
        keys = &t[2..];
    }
    for key in keys {
        if key.len() > MAX_KEY_LENGTH {
            cx.line(BAD_FORMAT);
            return Step::Line;
        }
        let now = cx.now;
        cx.store.counters.cmd_get += 1;
        if touch {
            cx.store.counters.cmd_touch += 1;
        }
        let Some(it) = cx.store.fetch(key, now, false) else {
            cx.store.counters.get_misses += 1;
            if touch {
                cx.store.counters.touch_misses += 1;
            }
            continue;
        };
        if let Some(e) = exptime {
            it.exptime = e;
        }
        let (flags, cas, value) = (it.flags, it.cas, it.value.clone());
        cx.store.counters.get_hits += 1;
        if touch {
            cx.store.counters.touch_hits += 1;
        }
        cx.out.extend_from_slice(b"VALUE ");
        cx.out.extend_from_slice(key);
        put_num(cx.out, u64::from(flags));
        put_num(cx.out, value.len() as u64);
        if with_cas {
            put_num(cx.out, cas);
        }
        cx.out.extend_from_slice(b"\r\n");
        cx.out.extend_from_slice(&value);
        cx.out.extend_from_slice(b"\r\n");
        cx.store.mark_fetched(key);
    }
    cx.line(b"END");
    Step::Line
}

fn update(cx: &mut Ctx<'_>, t: &[&[u8]], rest: &[u8], with_cas: bool) -> Step {
    noreply(cx, t);
    let key = t[1];
    if key.len() > MAX_KEY_LENGTH {
        cx.line(BAD_FORMAT);
        return Step::Line;
    }
    let flags = token_u64(t[2]);
    let exptime = token_i64(t[3]);
    let vlen = token_i64(t[4]).and_then(|v| i32::try_from(v).ok());
    let (Some(flags), Some(exptime), Some(vlen)) = (flags, exptime, vlen) else {
        cx.line(BAD_FORMAT);
        return Step::Line;
    };
    let cas = if with_cas {
        match token_u64(t[5]) {
            Some(c) => Some(c),
            None => {
                cx.line(BAD_FORMAT);
                return Step::Line;
            }
        }
    } else {
        None
    };
    let Ok(vlen) = usize::try_from(vlen) else {
        cx.line(BAD_FORMAT);
        return Step::Line;
    };
    let mode = match t[0] {
        b"add" => Mode::Add,
        b"replace" => Mode::Replace,
        b"append" => Mode::Append,
        b"prepend" => Mode::Prepend,
        _ => Mode::Set,
    };
    if !cx.store.fits(key, flags as u32, vlen) {
        cx.line(b"SERVER_ERROR object too large for cache");
        // A set that cannot store leaves no stale value behind.
        if mode == Mode::Set && cas.is_none() {
            let now = cx.now;
            cx.store.unlink(key, now);
        }
        return Step::Swallow(vlen + 2);
    }
    if rest.len() < vlen + 2 {
        return Step::NeedMore;
    }
    if &rest[vlen..vlen + 2] != b"\r\n" {
        cx.line(b"CLIENT_ERROR bad data chunk");
        return Step::Data(vlen + 2);
    }
    let now = cx.now;
    let exp = cx
        .store
        .realtime(if exptime < 0 { -1 } else { exptime }, now);
    let item = Store::new_item(rest[..vlen].to_vec(), flags as u32, exp, now);
    let (outcome, _) = cx.store.store(key, mode, item, cas, now);
    cx.line(match outcome {
        Outcome::Stored => b"STORED",
        Outcome::NotStored => b"NOT_STORED",
        Outcome::Exists => b"EXISTS",
        Outcome::NotFound => b"NOT_FOUND",
    });
    Step::Data(vlen + 2)
}

fn arith(cx: &mut Ctx<'_>, t: &[&[u8]], incr: bool) -> Step {
    noreply(cx, t);
    let key = t[1];
    if key.len() > MAX_KEY_LENGTH {
        cx.line(BAD_FORMAT);
        return Step::Line;
    }
    let Some(delta) = token_u64(t[2]) else {
        cx.line(b"CLIENT_ERROR invalid numeric delta argument");
        return Step::Line;
    };
    let now = cx.now;
    let result = cx.store.add_delta(key, incr, delta, None, now);
    let c = &mut cx.store.counters;
    let (hits, misses) = if incr {
        (&mut c.incr_hits, &mut c.incr_misses)
    } else {
        (&mut c.decr_hits, &mut c.decr_misses)
    };
    match result {
        Delta::Done(n) => {
            *hits += 1;
            let mut buf = itoa::Buffer::new();
            cx.line(buf.format(n).as_bytes());
        }
        Delta::NotFound | Delta::CasMismatch => {
            *misses += 1;
            cx.line(b"NOT_FOUND");
        }
        Delta::NonNumeric => {
            cx.line(b"CLIENT_ERROR cannot increment or decrement non-numeric value");
        }
    }
    Step::Line
}

fn touch(cx: &mut Ctx<'_>, t: &[&[u8]]) -> Step {
    noreply(cx, t);
    let key = t[1];
    if key.len() > MAX_KEY_LENGTH {
        cx.line(BAD_FORMAT);
        return Step::Line;
    }
    let Some(e) = token_i64(t[2]) else {
        cx.line(b"CLIENT_ERROR invalid exptime argument");
        return Step::Line;
    };
    let now = cx.now;
    let exp = cx.store.realtime(e, now);
    cx.store.counters.cmd_touch += 1;
    match cx.store.fetch(key, now, false) {
        Some(it) => {
            it.exptime = exp;
            // A touch is a fetch for memcached (`h` says so afterwards).
            it.fetched = true;
            cx.store.counters.touch_hits += 1;
            cx.line(b"TOUCHED");
        }
        None => {
            cx.store.counters.touch_misses += 1;
            cx.line(b"NOT_FOUND");
        }
    }
    Step::Line
}

fn delete(cx: &mut Ctx<'_>, t: &[&[u8]]) -> Step {
    if t.len() > 2 {
        let hold_is_zero = t[2] == b"0";
        let sets_noreply = noreply(cx, t);
        let valid = (t.len() == 3 && (hold_is_zero || sets_noreply))
            || (t.len() == 4 && hold_is_zero && sets_noreply);
        if !valid {
            cx.line(b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
            return Step::Line;
        }
    }
    let key = t[1];
    if key.len() > MAX_KEY_LENGTH {
        cx.line(BAD_FORMAT);
        return Step::Line;
    }
    let now = cx.now;
    if cx.store.unlink(key, now) {
        cx.store.counters.delete_hits += 1;
        cx.line(b"DELETED");
    } else {
        cx.store.counters.delete_misses += 1;
        cx.line(b"NOT_FOUND");
    }
    Step::Line
}

fn flush_all(cx: &mut Ctx<'_>, t: &[&[u8]]) -> Step {
    let on = noreply(cx, t);
    let mut delay = 0;
    if t.len() != if on { 2 } else { 1 } {
        match token_i64(t[1]) {
            Some(d) => delay = d,
            None => {
                cx.line(b"CLIENT_ERROR invalid exptime argument");
                return Step::Line;
            }
        }
    }
    let now = cx.now;
    cx.store.flush(delay, now);
    cx.line(b"OK");
    Step::Line
}

fn verbosity(cx: &mut Ctx<'_>, t: &[&[u8]]) -> Step {
    if noreply(cx, t) && t.len() == 2 {
        // `verbosity noreply` lacks its level.
        cx.noreply = false;
        cx.line(b"ERROR");
        return Step::Line;
    }
    match token_u64(t[1]).filter(|&l| u32::try_from(l).is_ok()) {
        Some(_) => cx.line(b"OK"),
        None => cx.line(BAD_FORMAT),
    }
    Step::Line
}

fn memlimit(cx: &mut Ctx<'_>, t: &[&[u8]]) -> Step {
    noreply(cx, t);
    match token_u64(t[1]).filter(|&l| u32::try_from(l).is_ok()) {
        None => cx.line(b"ERROR"),
        Some(mb) if mb < 8 => cx.line(b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m"),
        Some(mb) if mb > 1_000_000_000 => {
            cx.line(b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes");
        }
        Some(mb) => {
            cx.store.limit_maxbytes = mb * 1024 * 1024;
            cx.line(b"OK");
        }
    }
    Step::Line
}
