//! The model's items: values, flags, cas tokens, expiry, flushes, counters.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

/// Relative TTLs up to this many seconds; above, a Unix time.
const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;
/// memcached bumps an item's access time at most once a minute.
const ITEM_UPDATE_INTERVAL: u64 = 60;
/// memcached's item header (with cas) plus the key's NUL and the value's `\r\n`.
const ITEM_OVERHEAD: usize = 48 + 8 + 1 + 2;

/// One stored item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Item {
    pub(super) value: Vec<u8>,
    pub(super) flags: u32,
    pub(super) cas: u64,
    /// Which linked item this is (the cas it was linked with): replies
    /// hold an item, not a key.
    pub(super) id: u64,
    /// Model second at which it expires (expired once `now >= exptime`);
    /// `None` never.
    pub(super) exptime: Option<u64>,
    /// Model second of the last access memcached recorded.
    pub(super) time: u64,
    /// Fetched at least once (`h`).
    pub(super) fetched: bool,
    /// Stored with a base64 key (`b`): `k` returns it base64-encoded.
    pub(super) binary_key: bool,
    /// Marked stale by `md … I` (`X`).
    pub(super) stale: bool,
    /// A client already won the right to recache (`W` sent, so `Z`).
    pub(super) token_sent: bool,
}

/// What a storage command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Stored,
    NotStored,
    Exists,
    NotFound,
}

/// The storage modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
}

/// What incr/decr did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Delta {
    Done(u64),
    NotFound,
    NonNumeric,
    CasMismatch,
}

/// Counters for `stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Counters {
    pub(super) cmd_get: u64,
    pub(super) cmd_set: u64,
    pub(super) cmd_flush: u64,
    pub(super) cmd_touch: u64,
    pub(super) get_hits: u64,
    pub(super) get_misses: u64,
    pub(super) delete_hits: u64,
    pub(super) delete_misses: u64,
    pub(super) incr_hits: u64,
    pub(super) incr_misses: u64,
    pub(super) decr_hits: u64,
    pub(super) decr_misses: u64,
    pub(super) cas_hits: u64,
    pub(super) cas_misses: u64,
    pub(super) cas_badval: u64,
    pub(super) touch_hits: u64,
    pub(super) touch_misses: u64,
    pub(super) total_items: u64,
}

/// memcached's hash table, on model time (whole seconds since the origin).
#[derive(Clone, Debug)]
pub(super) struct Store {
    items: BTreeMap<Vec<u8>, Item>,
    last_cas: u64,
    /// `flush_all`: items last accessed at or before this second are gone
    /// once it has come.
    oldest_live: Option<u64>,
    /// `flush_all` now: items with a smaller cas are gone.
    oldest_cas: u64,
    /// Unix time at `Millis(0)` (model second `CLOCK_START`).
    pub(super) unix_origin: u64,
    pub(super) max_item_size: usize,
    pub(super) limit_maxbytes: u64,
    pub(super) counters: Counters,
    /// Items an `mg` reply not yet taken by the client refers to, by
    /// connection and key: memcached holds such an item until the reply is
    /// written, so an incr/decr cannot rewrite it in place.
    held: BTreeSet<(usize, Vec<u8>, u64)>,
}

impl Store {
    pub(super) fn new(max_item_size: usize, unix_origin: u64) -> Store {
        Store {
            items: BTreeMap::new(),
            last_cas: 0,
            oldest_live: None,
            oldest_cas: 0,
            unix_origin,
            max_item_size,
            limit_maxbytes: 64 * 1024 * 1024,
            counters: Counters::default(),
            held: BTreeSet::new(),
        }
    }

    /// Takes the next cas token from the one global counter.
    pub(super) fn next_cas(&mut self) -> u64 {
        self.last_cas += 1;
        self.last_cas
    }

    /// memcached's `realtime()`: an expiration as a model second.
    pub(super) fn realtime(&self, exptime: i64, now: u64) -> Option<u64> {
        // memcached keeps it in 32 bits.
        let exptime = i64::from(exptime as i32);
        if exptime == 0 {
            None
        } else if exptime < 0 {
            Some(1)
        } else if exptime > REALTIME_MAXDELTA {
            // A Unix time, as seconds since memcached's `process_started`.
            let started = self.unix_origin.saturating_sub(super::CLOCK_START);
            let unix = exptime as u64;
            Some(if unix <= started { 1 } else { unix - started })
        } else {
            Some(now + exptime as u64)
        }
    }

    /// Returns true if an item of `key` with a value of `value_len` bytes
    /// fits the item size limit.
    pub(super) fn fits(&self, key: &[u8], flags: u32, value_len: usize) -> bool {
        value_len.saturating_add(item_size(key, flags, 0)) <= self.max_item_size
    }

    fn is_live(&self, it: &Item, now: u64) -> bool {
        if it.exptime.is_some_and(|t| t <= now) {
            return false;
        }
        if self
            .oldest_live
            .is_some_and(|ol| ol <= now && it.time <= ol)
        {
            return false;
        }
        !(self.oldest_cas != 0 && it.cas < self.oldest_cas)
    }

    /// Drops `key` if it expired or was flushed.
    fn reap(&mut self, key: &[u8], now: u64) {
        if let Some(it) = self.items.get(key) {
            if !self.is_live(it, now) {
                self.items.remove(key);
            }
        }
    }

    /// Returns the live item of `key` without touching it.
    pub(super) fn peek(&mut self, key: &[u8], now: u64) -> Option<&Item> {
        self.reap(key, now);
        self.items.get(key)
    }

    /// Returns the live item of `key`, bumping it (as a fetch does unless
    /// `no_bump`).
    pub(super) fn fetch(&mut self, key: &[u8], now: u64, no_bump: bool) -> Option<&mut Item> {
        self.reap(key, now);
        let it = self.items.get_mut(key)?;
        if !no_bump && it.time + ITEM_UPDATE_INTERVAL < now {
            it.time = now;
        }
        Some(it)
    }

    /// Marks an item fetched after its reply was written.
    pub(super) fn mark_fetched(&mut self, key: &[u8]) {
        if let Some(it) = self.items.get_mut(key) {
            it.fetched = true;
        }
    }

    /// Records that a reply on connection `conn` holds the item of `key`.
    pub(super) fn hold(&mut self, conn: usize, key: &[u8], id: u64) {
        self.held.insert((conn, key.to_vec(), id));
    }

    /// Lets go of every item the replies on connection `conn` held.
    pub(super) fn release(&mut self, conn: usize) {
        self.held.retain(|(c, _, _)| *c != conn);
    }

    /// Removes `key`; true if it was there and live.
    pub(super) fn unlink(&mut self, key: &[u8], now: u64) -> bool {
        self.reap(key, now);
        self.items.remove(key).is_some()
    }

    /// Links a new item under `key` with a new cas token; returns the token.
    pub(super) fn link(&mut self, key: &[u8], mut item: Item) -> u64 {
        item.cas = self.next_cas();
        item.id = item.cas;
        let cas = item.cas;
        self.counters.total_items += 1;
        self.items.insert(key.to_vec(), item);
        cas
    }

    /// A new item, as `item_alloc` makes it.
    pub(super) fn new_item(value: Vec<u8>, flags: u32, exptime: Option<u64>, now: u64) -> Item {
        Item {
            value,
            flags,
            cas: 0,
            id: 0,
            exptime,
            time: now,
            fetched: false,
            binary_key: false,
            stale: false,
            token_sent: false,
        }
    }

    /// memcached's `do_store_item`: stores `item` under `key` by `mode`,
    /// comparing `cas` when given (`Some(0)` never matches, as memcached).
    /// Returns the outcome and the new cas token when stored.
    pub(super) fn store(
        &mut self,
        key: &[u8],
        mode: Mode,
        mut item: Item,
        cas: Option<u64>,
        now: u64,
    ) -> (Outcome, u64) {
        self.counters.cmd_set += 1;
        self.reap(key, now);
        let old = self.items.get(key);
        if let (Some(token), Mode::Set) = (cas, mode) {
            return match old {
                None => {
                    self.counters.cas_misses += 1;
                    (Outcome::NotFound, 0)
                }
                Some(o) if o.cas == token => {
                    self.counters.cas_hits += 1;
                    (Outcome::Stored, self.link(key, item))
                }
                Some(_) => {
                    self.counters.cas_badval += 1;
                    (Outcome::Exists, 0)
                }
            };
        }
        match (mode, old) {
            (Mode::Add, Some(_)) => {
                // An add that fails still bumps the item.
                if let Some(o) = self.items.get_mut(key) {
                    if o.time + ITEM_UPDATE_INTERVAL < now {
                        o.time = now;
                    }
                }
                (Outcome::NotStored, 0)
            }
            (Mode::Replace | Mode::Append | Mode::Prepend, None) => (Outcome::NotStored, 0),
            (Mode::Append | Mode::Prepend, Some(o)) => {
                if cas.is_some_and(|c| c != 0 && c != o.cas) {
                    return (Outcome::Exists, 0);
                }
                if !self.fits(key, o.flags, o.value.len() + item.value.len()) {
                    return (Outcome::NotStored, 0);
                }
                let mut value = Vec::with_capacity(o.value.len() + item.value.len());
                if mode == Mode::Append {
                    value.extend_from_slice(&o.value);
                    value.extend_from_slice(&item.value);
                } else {
                    value.extend_from_slice(&item.value);
                    value.extend_from_slice(&o.value);
                }
                // append and prepend keep the item's flags and expiry.
                let mut new = Store::new_item(value, o.flags, o.exptime, now);
                new.binary_key = o.binary_key || item.binary_key;
                (Outcome::Stored, self.link(key, new))
            }
            _ => {
                if let Some(o) = old {
                    item.binary_key |= o.binary_key;
                }
                (Outcome::Stored, self.link(key, item))
            }
        }
    }

    /// memcached's `do_add_delta`: incr (wrapping) or decr (floored at 0).
    /// A result that fits the old value's length is written in place,
    /// space-padded, when no one else holds the item (memcached's
    /// `refcount == 2`); else it becomes a new item of just the digits.
    pub(super) fn add_delta(
        &mut self,
        key: &[u8],
        incr: bool,
        delta: u64,
        cas: Option<u64>,
        now: u64,
    ) -> Delta {
        let Some(id) = self.peek(key, now).map(|it| it.id) else {
            return Delta::NotFound;
        };
        let held = self.held.iter().any(|(_, k, i)| k == key && *i == id);
        let Some(it) = self.fetch(key, now, false) else {
            return Delta::NotFound;
        };
        if it.value.is_empty() {
            return Delta::NonNumeric;
        }
        if cas.is_some_and(|c| c != 0 && c != it.cas) {
            return Delta::CasMismatch;
        }
        let Some(old) = strtoull(&it.value) else {
            return Delta::NonNumeric;
        };
        let n = if incr {
            old.wrapping_add(delta)
        } else {
            old.saturating_sub(delta)
        };
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(n).as_bytes();
        if digits.len() <= it.value.len() && !held {
            let len = it.value.len();
            // Written in place (memcached holds the only reference).
            it.value.clear();
            it.value.extend_from_slice(digits);
            it.value.resize(len, b' ');
            it.time = now;
            let cas = self.next_cas();
            if let Some(it) = self.items.get_mut(key) {
                it.cas = cas;
            }
        } else {
            let (flags, exptime, binary) = (it.flags, it.exptime, it.binary_key);
            let mut new = Store::new_item(digits.to_vec(), flags, exptime, now);
            new.binary_key = binary;
            self.link(key, new);
        }
        Delta::Done(n)
    }

    /// `flush_all <delay>`.
    pub(super) fn flush(&mut self, delay: i64, now: u64) {
        self.counters.cmd_flush += 1;
        let new_oldest = if delay > 0 {
            self.realtime(delay, now).unwrap_or(now)
        } else {
            now
        };
        // Items last touched before this second are gone once it comes.
        self.oldest_live = new_oldest.checked_sub(1);
        if self.oldest_live.is_none_or(|ol| ol <= now) {
            self.oldest_cas = self.next_cas();
            self.items.clear();
        }
    }

    /// Live items and their bytes, for `stats`.
    pub(super) fn usage(&self, now: u64) -> (u64, u64) {
        let mut n = 0;
        let mut bytes = 0;
        for (k, it) in &self.items {
            if self.is_live(it, now) {
                n += 1;
                bytes += item_size(k, it.flags, it.value.len()) as u64;
            }
        }
        (n, bytes)
    }
}

/// memcached's size of an item: header, cas, key and NUL, client flags
/// when not 0, the value and its `\r\n`.
pub(super) fn item_size(key: &[u8], flags: u32, value_len: usize) -> usize {
    let flags_len = if flags == 0 { 0 } else { 4 };
    ITEM_OVERHEAD + key.len() + flags_len + value_len
}

/// C's `isspace`.
pub(super) fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// memcached's `safe_strtoull` over a stored value (followed by `\r\n`):
/// leading whitespace, an optional sign, digits without overflow, then
/// whitespace or the end; a `-` refused when the result reads as a negative
/// `i64`.
pub(super) fn strtoull(value: &[u8]) -> Option<u64> {
    let mut i = value.iter().take_while(|&&b| c_space(b)).count();
    let negative = value.get(i) == Some(&b'-');
    if matches!(value.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = value[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in &value[i..i + digits] {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    let end = i + digits;
    if end < value.len() && !c_space(value[end]) && value[end] != 0 {
        return None;
    }
    let n = if negative { n.wrapping_neg() } else { n };
    if negative && (n as i64) < 0 {
        return None;
    }
    Some(n)
}

/// A protocol token as an unsigned number (`safe_strtoull` on a token).
pub(super) fn token_u64(t: &[u8]) -> Option<u64> {
    if t.is_empty() {
        return None;
    }
    strtoull(t)
}

/// A protocol token as a signed number (`safe_strtol`).
pub(super) fn token_i64(t: &[u8]) -> Option<i64> {
    let (neg, digits) = match t.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, t.strip_prefix(b"+").unwrap_or(t)),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    Some(if neg { -n } else { n })
}
