//! The meta commands (`mg`, `ms`, `md`, `ma`, `mn`, `me`), as memcached
//! 1.6 answers them.

use alloc::vec::Vec;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::store::{item_size, token_i64, token_u64, Delta, Item, Mode, Outcome, Store};
use super::{put_num, Ctx, Step};
use crate::key::MAX_KEY_LENGTH;

const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format";
/// memcached's `MFLAG_MAX_OPAQUE_LENGTH`.
const MAX_OPAQUE: usize = 32;

/// The flags of one meta request, parsed.
#[derive(Default)]
struct Flags<'a> {
    /// Every flag token, in request order (return flags echo this order).
    tokens: Vec<&'a [u8]>,
    base64: bool,
    quiet: bool,
    value: bool,
    no_bump: bool,
    invalidate: bool,
    mode: Option<u8>,
    client_flags: Option<u32>,
    ttl: Option<i64>,
    vivify: Option<i64>,
    recache: Option<i64>,
    compare_cas: Option<u64>,
    delta: Option<u64>,
    initial: Option<u64>,
}

/// Why a flag list is refused.
enum FlagError {
    Invalid,
    Duplicate,
    Number,
    Opaque,
}

fn parse_flags<'a>(tokens: &[&'a [u8]], valid: &[u8]) -> Result<Flags<'a>, FlagError> {
    let mut f = Flags::default();
    let mut seen = [false; 128];
    for &t in tokens {
        let (c, arg) = (t[0], &t[1..]);
        if !c.is_ascii() || !valid.contains(&c) {
            return Err(FlagError::Invalid);
        }
        if core::mem::replace(&mut seen[usize::from(c)], true) {
            return Err(FlagError::Duplicate);
        }
        let int = || {
            token_i64(arg)
                .map(|n| i64::from(n as i32))
                .ok_or(FlagError::Number)
        };
        let uint = || token_u64(arg).ok_or(FlagError::Number);
        match c {
            b'b' => f.base64 = true,
            b'q' => f.quiet = true,
            b'v' => f.value = true,
            b'u' => f.no_bump = true,
            b'I' => f.invalidate = true,
            b'O' if t.len() > MAX_OPAQUE => return Err(FlagError::Opaque),
            b'M' => f.mode = Some(*arg.first().ok_or(FlagError::Number)?),
            b'F' => f.client_flags = Some(uint()? as u32),
            b'T' => f.ttl = Some(int()?),
            b'N' => f.vivify = Some(int()?),
            b'R' => f.recache = Some(int()?),
            b'C' => f.compare_cas = Some(uint()?),
            b'D' => f.delta = Some(uint()?),
            b'J' => f.initial = Some(uint()?),
            _ => {}
        }
        f.tokens.push(t);
    }
    Ok(f)
}

/// Runs one meta command line (`t[0]` is `mg`, `ms`, …).
pub(super) fn command(cx: &mut Ctx<'_>, t: &[&[u8]], rest: &[u8]) -> Step {
    if t[0] == b"mn" {
        cx.line(b"MN");
        return Step::Line;
    }
    let Some(&raw_key) = t.get(1) else {
        cx.line(b"ERROR");
        return Step::Line;
    };
    if raw_key.len() > MAX_KEY_LENGTH {
        cx.line(BAD_FORMAT);
        return Step::Line;
    }
    let (valid, flag_start): (&[u8], usize) = match t[0] {
        b"mg" => (b"bcfhklOqstuvNRTE", 2),
        b"ms" => (b"bcklOqsvfFTCIEMS", 3),
        b"md" => (b"bklOqvCTIE", 2),
        b"ma" => (b"bctvklOqMDNJCTE", 2),
        b"me" => (b"b", 2),
        _ => {
            cx.line(b"ERROR");
            return Step::Line;
        }
    };
    // ms takes its data length before the flags; a bad one swallows nothing.
    let mut swallow = 0;
    if t[0] == b"ms" {
        let vlen = t
            .get(2)
            .and_then(|v| token_i64(v))
            .and_then(|v| i32::try_from(v).ok())
            .and_then(|v| usize::try_from(v).ok());
        match vlen {
            Some(v) => swallow = v + 2,
            None => {
                cx.line(BAD_FORMAT);
                return Step::Line;
            }
        }
    }
    let refuse = |cx: &mut Ctx<'_>, msg: &[u8]| {
        cx.line(msg);
        if swallow > 0 {
            Step::Swallow(swallow)
        } else {
            Step::Line
        }
    };
    let flags = match parse_flags(t.get(flag_start..).unwrap_or_default(), valid) {
        Ok(f) => f,
        Err(e) => {
            let msg: &[u8] = match (t[0], e) {
                (_, FlagError::Opaque) => b"CLIENT_ERROR opaque token too long",
                (b"mg", FlagError::Invalid) => b"CLIENT_ERROR invalid flag",
                (b"mg", FlagError::Duplicate) => b"CLIENT_ERROR duplicate flag",
                (b"mg", FlagError::Number) => b"CLIENT_ERROR bad token in command line format",
                (b"ms", FlagError::Number) => BAD_FORMAT,
                (b"ms", FlagError::Duplicate) => b"CLIENT_ERROR duplicate flag",
                (b"ms", FlagError::Invalid) => b"CLIENT_ERROR invalid flag",
                _ => b"CLIENT_ERROR invalid or duplicate flag",
            };
            return refuse(cx, msg);
        }
    };
    let decoded;
    let key: &[u8] = if flags.base64 {
        match STANDARD.decode(raw_key) {
            Ok(k) if !k.is_empty() => {
                decoded = k;
                &decoded
            }
            _ => {
                let msg: &[u8] = match t[0] {
                    b"mg" | b"ms" => b"CLIENT_ERROR error decoding key",
                    b"me" => BAD_FORMAT,
                    _ => b"CLIENT_ERROR invalid or duplicate flag",
                };
                return refuse(cx, msg);
            }
        }
    } else {
        raw_key
    };
    match t[0] {
        b"mg" => get(cx, key, &flags),
        b"ms" => set(cx, key, &flags, swallow - 2, rest),
        b"md" => delete(cx, key, &flags),
        b"ma" => arith(cx, key, &flags),
        _ => debug(cx, key, &flags),
    }
}

/// Appends ` k<key>` (base64 with ` b` when the key is binary).
fn put_key(out: &mut Vec<u8>, key: &[u8], binary: bool) {
    out.extend_from_slice(b" k");
    if binary {
        out.extend_from_slice(STANDARD.encode(key).as_bytes());
        out.extend_from_slice(b" b");
    } else {
        out.extend_from_slice(key);
    }
}

fn put_flag(out: &mut Vec<u8>, flag: u8, n: u64) {
    out.push(b' ');
    out.push(flag);
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
}

/// Appends a status line's echoed flags (`O`, `k`) for a request without
/// an item to describe.
fn put_echo(out: &mut Vec<u8>, key: &[u8], f: &Flags<'_>) {
    for t in &f.tokens {
        match t[0] {
            b'O' => {
                out.push(b' ');
                out.extend_from_slice(t);
            }
            b'k' => put_key(out, key, f.base64),
            _ => {}
        }
    }
}

/// The TTL left as memcached prints it: -1 for none, else a 32-bit
/// difference (which wraps for an item that expired as it was touched).
fn ttl_left(exptime: Option<u64>, now: u64) -> i64 {
    match exptime {
        None => -1,
        Some(t) => i64::from((t as u32).wrapping_sub(now as u32)),
    }
}

fn put_ttl(out: &mut Vec<u8>, exptime: Option<u64>, now: u64) {
    out.extend_from_slice(b" t");
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(ttl_left(exptime, now)).as_bytes());
}

fn get(cx: &mut Ctx<'_>, key: &[u8], f: &Flags<'_>) -> Step {
    let now = cx.now;
    cx.store.counters.cmd_get += 1;
    let mut created = false;
    if f.vivify.is_some() && cx.store.peek(key, now).is_none() {
        // Created without a TTL: the `N` flag sets it, in flag order.
        // memcached does not mark a vivified item's key binary.
        let item = Store::new_item(Vec::new(), 0, None, now);
        cx.store.store(key, Mode::Add, item, None, now);
        created = true;
    }
    let recache_at = f.recache.map(|r| cx.store.realtime(r, now));
    let vivify_at = f.vivify.map(|n| cx.store.realtime(n, now));
    let ttl_at = f.ttl.map(|t| cx.store.realtime(t, now));
    let Some(it) = cx.store.fetch(key, now, f.no_bump) else {
        cx.store.counters.get_misses += 1;
        if !f.quiet {
            cx.out.extend_from_slice(b"EN");
            put_echo(cx.out, key, f);
            cx.out.extend_from_slice(b"\r\n");
        }
        return Step::Line;
    };
    let out = &mut *cx.out;
    if f.value {
        out.extend_from_slice(b"VA");
        put_num(out, it.value.len() as u64);
    } else {
        out.extend_from_slice(b"HD");
    }
    let mut won = false;
    for t in &f.tokens {
        match t[0] {
            b'T' => it.exptime = ttl_at.flatten(),
            // A created item takes the vivify TTL, whatever `T` said.
            b'N' if created => {
                it.exptime = vivify_at.flatten();
                won = true;
            }
            b'R' => {
                let below = match (it.exptime, recache_at.flatten()) {
                    (Some(e), Some(r)) => e < r,
                    _ => false,
                };
                if !it.token_sent && !created && below {
                    won = true;
                }
            }
            b's' => put_flag(out, b's', it.value.len() as u64),
            b't' => put_ttl(out, it.exptime, now),
            b'c' => put_flag(out, b'c', it.cas),
            b'f' => put_flag(out, b'f', u64::from(it.flags)),
            b'l' => put_flag(out, b'l', now.saturating_sub(it.time)),
            b'h' => out.extend_from_slice(if it.fetched { b" h1" } else { b" h0" }),
            b'O' => {
                out.push(b' ');
                out.extend_from_slice(t);
            }
            b'k' => put_key(out, key, it.binary_key),
            _ => {}
        }
    }
    if it.token_sent {
        out.extend_from_slice(b" Z");
    }
    if it.stale {
        out.extend_from_slice(b" X");
        if !it.token_sent {
            won = true;
        }
    }
    if won {
        out.extend_from_slice(b" W");
        it.token_sent = true;
    }
    out.extend_from_slice(b"\r\n");
    if f.value {
        out.extend_from_slice(&it.value);
        out.extend_from_slice(b"\r\n");
    }
    if !f.no_bump {
        it.fetched = true;
    }
    // The reply holds the item until the client takes it.
    let id = it.id;
    cx.store.hold(cx.conn, key, id);
    cx.store.counters.get_hits += 1;
    Step::Line
}

fn set(cx: &mut Ctx<'_>, key: &[u8], f: &Flags<'_>, vlen: usize, rest: &[u8]) -> Step {
    let mode = match f.mode.unwrap_or(b'S') {
        b'S' | b's' => Mode::Set,
        b'E' | b'e' => Mode::Add,
        b'A' | b'a' => Mode::Append,
        b'P' | b'p' => Mode::Prepend,
        b'R' | b'r' => Mode::Replace,
        _ => {
            cx.line(b"CLIENT_ERROR invalid mode for ms M token");
            return Step::Swallow(vlen + 2);
        }
    };
    let now = cx.now;
    if !cx.store.fits(key, f.client_flags.unwrap_or(0), vlen) {
        cx.line(b"SERVER_ERROR object too large for cache");
        if mode == Mode::Set {
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
    let exp = cx.store.realtime(f.ttl.unwrap_or(0), now);
    let mut item = Store::new_item(rest[..vlen].to_vec(), f.client_flags.unwrap_or(0), exp, now);
    item.binary_key = f.base64;
    // A cas compare turns set and replace into cas (add ignores it;
    // append and prepend compare it themselves).
    let mode = match (mode, f.compare_cas) {
        (Mode::Replace, Some(_)) => Mode::Set,
        _ => mode,
    };
    let mut cas = f.compare_cas.filter(|_| mode != Mode::Add);
    // `I` with an older token: store, but as stale.
    if f.invalidate && mode == Mode::Set {
        if let (Some(c), Some(old)) = (cas, cx.store.peek(key, now)) {
            if c < old.cas {
                item.stale = true;
                cas = None;
            }
        }
    }
    let (outcome, token) = cx.store.store(key, mode, item, cas, now);
    if outcome == Outcome::Stored && f.quiet {
        return Step::Data(vlen + 2);
    }
    let out = &mut *cx.out;
    out.extend_from_slice(match outcome {
        Outcome::Stored => b"HD",
        Outcome::NotStored => b"NS",
        Outcome::Exists => b"EX",
        Outcome::NotFound => b"NF",
    });
    for t in &f.tokens {
        match t[0] {
            b'O' => {
                out.push(b' ');
                out.extend_from_slice(t);
            }
            b'k' => put_key(out, key, f.base64),
            b'c' => put_flag(out, b'c', token),
            _ => {}
        }
    }
    out.extend_from_slice(b"\r\n");
    Step::Data(vlen + 2)
}

fn delete(cx: &mut Ctx<'_>, key: &[u8], f: &Flags<'_>) -> Step {
    let now = cx.now;
    let ttl_at = f.ttl.map(|t| cx.store.realtime(t, now));
    let status: &[u8] = match cx.store.peek(key, now).map(|it| it.cas) {
        None => {
            cx.store.counters.delete_misses += 1;
            b"NF"
        }
        Some(cas) if f.compare_cas.is_some_and(|c| c != cas) => b"EX",
        Some(_) if f.invalidate => {
            let cas = cx.store.next_cas();
            if let Some(it) = cx.store.fetch(key, now, true) {
                it.cas = cas;
                it.stale = true;
                it.token_sent = false;
                if let Some(t) = ttl_at {
                    it.exptime = t;
                }
            }
            b"HD"
        }
        Some(_) => {
            cx.store.unlink(key, now);
            cx.store.counters.delete_hits += 1;
            b"HD"
        }
    };
    if status == b"HD" && f.quiet {
        return Step::Line;
    }
    cx.out.extend_from_slice(status);
    put_echo(cx.out, key, f);
    cx.out.extend_from_slice(b"\r\n");
    Step::Line
}

fn arith(cx: &mut Ctx<'_>, key: &[u8], f: &Flags<'_>) -> Step {
    let incr = match f.mode.unwrap_or(b'I') {
        b'I' | b'i' | b'+' => true,
        b'D' | b'd' | b'-' => false,
        _ => {
            cx.line(b"CLIENT_ERROR invalid mode for ma M token");
            return Step::Line;
        }
    };
    let now = cx.now;
    let delta = f.delta.unwrap_or(1);
    let mut quiet = f.quiet;
    let mut number = 0;
    let status: &[u8] = match cx.store.add_delta(key, incr, delta, f.compare_cas, now) {
        Delta::Done(n) => {
            number = n;
            if let Some(t) = f.ttl {
                let exp = cx.store.realtime(t, now);
                if let Some(it) = cx.store.fetch(key, now, true) {
                    it.exptime = exp;
                }
            }
            b"HD"
        }
        Delta::NotFound => match f.vivify {
            Some(n) => {
                number = f.initial.unwrap_or(0);
                let mut buf = itoa::Buffer::new();
                let digits = buf.format(number).as_bytes().to_vec();
                let exp = cx.store.realtime(n, now);
                let mut item = Store::new_item(digits, 0, exp, now);
                item.binary_key = f.base64;
                cx.store.store(key, Mode::Add, item, None, now);
                // A created counter is reported even in quiet mode.
                quiet = false;
                b"HD"
            }
            None => b"NF",
        },
        Delta::CasMismatch => b"EX",
        Delta::NonNumeric => {
            cx.line(b"CLIENT_ERROR cannot increment or decrement non-numeric value");
            return Step::Line;
        }
    };
    let counters = &mut cx.store.counters;
    match (incr, status == b"HD") {
        (true, true) => counters.incr_hits += 1,
        (true, false) => counters.incr_misses += 1,
        (false, true) => counters.decr_hits += 1,
        (false, false) => counters.decr_misses += 1,
    }
    if status == b"HD" && quiet {
        return Step::Line;
    }
    let item = if status == b"HD" {
        cx.store.peek(key, now).cloned()
    } else {
        None
    };
    // `v` returns the number, not the item's (maybe space-padded) bytes.
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(number).as_bytes();
    let out = &mut *cx.out;
    match &item {
        Some(_) if f.value => {
            out.extend_from_slice(b"VA");
            put_num(out, digits.len() as u64);
        }
        _ => out.extend_from_slice(status),
    }
    for t in &f.tokens {
        match (t[0], &item) {
            (b'O', _) => {
                out.push(b' ');
                out.extend_from_slice(t);
            }
            (b'k', _) => put_key(out, key, f.base64),
            (b't', Some(it)) => put_ttl(out, it.exptime, now),
            (b'c', Some(it)) => put_flag(out, b'c', it.cas),
            _ => {}
        }
    }
    out.extend_from_slice(b"\r\n");
    if item.is_some() && f.value {
        out.extend_from_slice(digits);
        out.extend_from_slice(b"\r\n");
    }
    Step::Line
}

/// `me`: the item's metadata, with memcached 1.6.18's sign of `exp`.
fn debug(cx: &mut Ctx<'_>, key: &[u8], f: &Flags<'_>) -> Step {
    let now = cx.now;
    let Some(it) = cx.store.peek(key, now) else {
        cx.line(b"EN");
        return Step::Line;
    };
    let it: Item = it.clone();
    let size = item_size(key, it.flags, it.value.len()) as u64;
    let mut class = 1u64;
    let mut chunk = 96u64;
    while size > chunk {
        chunk = (chunk * 5 / 4 + 7) & !7;
        class += 1;
    }
    let exp = match it.exptime {
        None => -1,
        Some(_) => -ttl_left(it.exptime, now),
    };
    let out = &mut *cx.out;
    out.extend_from_slice(b"ME ");
    if f.base64 || it.binary_key {
        out.extend_from_slice(STANDARD.encode(key).as_bytes());
    } else {
        out.extend_from_slice(key);
    }
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(b" exp=");
    out.extend_from_slice(buf.format(exp).as_bytes());
    out.extend_from_slice(b" la=");
    out.extend_from_slice(buf.format(now.saturating_sub(it.time)).as_bytes());
    out.extend_from_slice(b" cas=");
    out.extend_from_slice(buf.format(it.cas).as_bytes());
    out.extend_from_slice(if it.fetched {
        b" fetch=yes"
    } else {
        b" fetch=no"
    });
    out.extend_from_slice(b" cls=");
    out.extend_from_slice(buf.format(class).as_bytes());
    out.extend_from_slice(b" size=");
    out.extend_from_slice(buf.format(size).as_bytes());
    out.extend_from_slice(b"\r\n");
    Step::Line
}
