//! Typed `stats` replies.
//!
//! A `stats` reply is a list of `STAT <name> <value>` lines (or, for
//! `stats cachedump`, `ITEM <key> <value>` lines). [`Stats::from_pairs`] turns
//! those `(name, value)` pairs into [`StatValue`]s the way pymemcache types
//! them, so code ported from Python finds the same kinds:
//!
//! | names | value |
//! |---|---|
//! | `version`, `inter`, `stat_key_prefix` | bytes, always |
//! | `rusage_user`, `rusage_system` | float, a `:` read as `.` (`1:5` is 1.5) |
//! | `growth_factor` | float |
//! | `umask` | integer, read in octal (`777` is 511) |
//! | `hash_is_expanding`, `slab_reassign_running`, `detail_enabled`, `cas_enabled`, `maxconns_fast`, `slab_reassign`, `slab_automove` | bool: integer ≠ 0, or `yes`/`no`/`on`/`off` |
//! | `auth_enabled_sasl` | bool: value is `yes` |
//! | anything else | integer if it is one, else bytes |
//!
//! A value that does not convert stays bytes. Integers are read as Python's
//! `int()` reads them (surrounding whitespace, a sign, underscores between
//! digits) into an `i128`, which holds every `u64` counter memcached keeps;
//! floats use Rust's float syntax after trimming whitespace.
//!
//! Where memcrab differs from pymemcache:
//!
//! - pymemcache keeps only the third whitespace-separated token of a `STAT`
//!   line (`STAT version 1.6 extra` gives `1.6`); memcrab keeps the whole
//!   rest of the line as the parser hands it over.
//! - pymemcache leaves `yes`/`no` in the boolean settings as bytes (memcached
//!   1.6's `stats settings` prints `cas_enabled yes`); memcrab reads them as
//!   booleans, as well as `on`/`off`.
//! - Names are kept in the order the server sent them, not in a dict.

use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

use crate::serde::decimal::{parse_int, trim_ascii_whitespace};

/// Hold one typed statistic, as [`Stats`] converts it.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use memcrab_core::stats::StatValue;
///
/// let value = StatValue::parse(b"umask", Bytes::from_static(b"700"));
/// assert_eq!(value, StatValue::Int(0o700));
/// assert_eq!(value.as_u64(), Some(448));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StatValue {
    /// An integer (every counter, size and time memcached reports).
    Int(i128),
    /// A float (`rusage_user`, `rusage_system`, `growth_factor`).
    Float(f64),
    /// A flag (the settings listed in the [module docs](self)).
    Bool(bool),
    /// Anything else, unchanged (`version`, `libevent`, `evictions on`).
    Bytes(Bytes),
}

impl StatValue {
    /// Convert the raw `value` of the statistic called `name`, as
    /// [`Stats::from_pairs`] does for each of its pairs.
    ///
    /// # Example
    ///
    /// ```
    /// use bytes::Bytes;
    /// use memcrab_core::stats::StatValue;
    ///
    /// let parse = |name: &str, value: &'static str| {
    ///     StatValue::parse(name.as_bytes(), Bytes::from_static(value.as_bytes()))
    /// };
    /// assert_eq!(parse("cmd_get", "2519"), StatValue::Int(2519));
    /// assert_eq!(parse("rusage_user", "1:5"), StatValue::Float(1.5));
    /// assert_eq!(parse("cas_enabled", "yes"), StatValue::Bool(true));
    /// assert_eq!(parse("version", "1.6.18").as_str(), Some("1.6.18"));
    /// ```
    #[must_use]
    pub fn parse(name: &[u8], value: Bytes) -> StatValue {
        let converted = match name {
            b"version" | b"inter" | b"stat_key_prefix" => None,
            b"rusage_user" | b"rusage_system" => {
                let dotted: Vec<u8> = value
                    .iter()
                    .map(|&b| if b == b':' { b'.' } else { b })
                    .collect();
                parse_float(&dotted).map(StatValue::Float)
            }
            b"growth_factor" => parse_float(&value).map(StatValue::Float),
            b"umask" => parse_int(&value, 8).map(StatValue::Int),
            b"hash_is_expanding"
            | b"slab_reassign_running"
            | b"detail_enabled"
            | b"cas_enabled"
            | b"maxconns_fast"
            | b"slab_reassign"
            | b"slab_automove" => parse_int(&value, 10)
                .map(|n| n != 0)
                .or_else(|| parse_word_bool(&value))
                .map(StatValue::Bool),
            b"auth_enabled_sasl" => Some(StatValue::Bool(&value[..] == b"yes")),
            _ => parse_int(&value, 10).map(StatValue::Int),
        };
        converted.unwrap_or(StatValue::Bytes(value))
    }

    /// Return the bytes of a [`StatValue::Bytes`], and `None` otherwise.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            StatValue::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Return the text of a [`StatValue::Bytes`] that is valid UTF-8, and
    /// `None` otherwise.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes()
            .and_then(|bytes| core::str::from_utf8(bytes).ok())
    }

    /// Return a [`StatValue::Int`] that fits in a `u64`, and `None` otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::stats::StatValue;
    ///
    /// assert_eq!(StatValue::Int(5).as_u64(), Some(5));
    /// assert_eq!(StatValue::Int(-5).as_u64(), None);
    /// assert_eq!(StatValue::Bool(true).as_u64(), None);
    /// ```
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            StatValue::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// Return a [`StatValue::Int`] that fits in an `i64`, and `None` otherwise.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StatValue::Int(n) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// Return a number as an `f64`: a float, an integer (rounded when beyond
    /// 2^53), or bytes that spell a float (memcached's `hot_max_factor 0.20`
    /// stays bytes, as in pymemcache); `None` otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use bytes::Bytes;
    /// use memcrab_core::stats::StatValue;
    ///
    /// let factor = StatValue::parse(b"hot_max_factor", Bytes::from_static(b"0.20"));
    /// assert_eq!(factor.as_f64(), Some(0.2));
    /// assert_eq!(StatValue::Int(3).as_f64(), Some(3.0));
    /// ```
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            StatValue::Float(x) => Some(*x),
            StatValue::Int(n) => Some(*n as f64),
            StatValue::Bytes(bytes) => parse_float(bytes),
            StatValue::Bool(_) => None,
        }
    }

    /// Return a flag: a bool, an integer ≠ 0, or bytes reading `yes`/`no`,
    /// `on`/`off` or `true`/`false` (any case); `None` otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use bytes::Bytes;
    /// use memcrab_core::stats::StatValue;
    ///
    /// let evictions = StatValue::parse(b"evictions", Bytes::from_static(b"on"));
    /// assert_eq!(evictions.as_bool(), Some(true));
    /// assert_eq!(StatValue::Int(0).as_bool(), Some(false));
    /// ```
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            StatValue::Bool(flag) => Some(*flag),
            StatValue::Int(n) => Some(*n != 0),
            StatValue::Bytes(bytes) => parse_word_bool(bytes).or_else(|| {
                let word = trim_ascii_whitespace(bytes);
                if word.eq_ignore_ascii_case(b"true") {
                    Some(true)
                } else if word.eq_ignore_ascii_case(b"false") {
                    Some(false)
                } else {
                    None
                }
            }),
            StatValue::Float(_) => None,
        }
    }
}

impl fmt::Display for StatValue {
    /// Format integers in decimal, floats as Rust does, flags as `true` or
    /// `false`, and bytes as text (invalid UTF-8 as U+FFFD).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatValue::Int(n) => write!(f, "{n}"),
            StatValue::Float(x) => write!(f, "{x}"),
            StatValue::Bool(flag) => write!(f, "{flag}"),
            StatValue::Bytes(bytes) => {
                for chunk in bytes.utf8_chunks() {
                    f.write_str(chunk.valid())?;
                    if !chunk.invalid().is_empty() {
                        f.write_str("\u{FFFD}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Read a float as pymemcache's `float()` would (Rust's syntax, trimmed).
fn parse_float(text: &[u8]) -> Option<f64> {
    core::str::from_utf8(trim_ascii_whitespace(text))
        .ok()?
        .parse()
        .ok()
}

/// Read `yes`/`no`/`on`/`off` (any case) as a flag.
fn parse_word_bool(text: &[u8]) -> Option<bool> {
    let word = trim_ascii_whitespace(text);
    if word.eq_ignore_ascii_case(b"yes") || word.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if word.eq_ignore_ascii_case(b"no") || word.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

/// Hold a typed `stats` reply: names and [`StatValue`]s in the order the
/// server sent them.
///
/// Lookups scan the list (`O(n)`; a reply has a few hundred entries at most,
/// a `cachedump` more). Duplicated names are all kept by iteration, and
/// [`get`](Stats::get) returns the last one, as a dict built from the reply
/// would.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use memcrab_core::stats::{StatValue, Stats};
///
/// let stats = Stats::from_pairs(vec![
///     (Bytes::from_static(b"cmd_get"), Bytes::from_static(b"2519")),
///     (Bytes::from_static(b"version"), Bytes::from_static(b"1.6.18")),
/// ]);
/// assert_eq!(stats.get("cmd_get").and_then(StatValue::as_u64), Some(2519));
/// assert_eq!(stats.get("version").and_then(StatValue::as_str), Some("1.6.18"));
/// assert_eq!(stats.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    entries: Vec<(Bytes, StatValue)>,
}

impl Stats {
    /// Convert the raw `(name, value)` pairs of a `stats` reply, typing each
    /// value with [`StatValue::parse`].
    #[must_use]
    pub fn from_pairs(pairs: Vec<(Bytes, Bytes)>) -> Stats {
        pairs.into_iter().collect()
    }

    /// Return the value of the statistic called `name` (the last one, if the
    /// server sent it twice), or `None` if there is none.
    #[must_use]
    pub fn get<K: AsRef<[u8]> + ?Sized>(&self, name: &K) -> Option<&StatValue> {
        let name = name.as_ref();
        self.entries
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
    }

    /// Return the number of statistics.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Return true if the reply had no statistics.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterate over `(name, value)` pairs in the order the server sent them.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self.entries.iter(),
        }
    }
}

impl FromIterator<(Bytes, Bytes)> for Stats {
    /// Convert raw `(name, value)` pairs, as [`Stats::from_pairs`] does.
    fn from_iter<I: IntoIterator<Item = (Bytes, Bytes)>>(pairs: I) -> Stats {
        let entries = pairs
            .into_iter()
            .map(|(name, value)| {
                let value = StatValue::parse(&name, value);
                (name, value)
            })
            .collect();
        Stats { entries }
    }
}

impl<'a> IntoIterator for &'a Stats {
    type Item = (&'a [u8], &'a StatValue);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Stats {
    type Item = (Bytes, StatValue);
    type IntoIter = alloc::vec::IntoIter<(Bytes, StatValue)>;

    /// Iterate over owned `(name, value)` pairs, in the server's order.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// Iterate over the `(name, value)` pairs of a [`Stats`], in the server's
/// order; made by [`Stats::iter`].
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    inner: core::slice::Iter<'a, (Bytes, StatValue)>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a StatValue);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(name, value)| (&name[..], value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner
            .next_back()
            .map(|(name, value)| (&name[..], value))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// Split `STAT name value\r\n` lines into pairs, as the reply parser does.
    fn stats(reply: &'static str) -> Stats {
        reply
            .lines()
            .filter_map(|line| line.strip_prefix("STAT ").or(line.strip_prefix("ITEM ")))
            .map(|rest| {
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                (
                    Bytes::from_static(name.as_bytes()),
                    Bytes::from_static(value.as_bytes()),
                )
            })
            .collect()
    }

    fn bytes(text: &'static str) -> StatValue {
        StatValue::Bytes(Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn types_pymemcache_test_vector() {
        // spec §15 item 35, and pymemcache's test_stats_conversions.
        let stats = stats(
            "STAT cmd_get 2519\nSTAT libevent 2.0.19-stable\nSTAT hash_is_expanding 0\n\
             STAT rusage_user 0.609165\nSTAT slab_reassign_running 1\nSTAT version 1.4.14\n\
             STAT umask 777\nSTAT auth_enabled_sasl yes\nSTAT rusage_system 1:5\n",
        );
        assert_eq!(stats.get("cmd_get"), Some(&StatValue::Int(2519)));
        assert_eq!(stats.get("libevent"), Some(&bytes("2.0.19-stable")));
        assert_eq!(
            stats.get("hash_is_expanding"),
            Some(&StatValue::Bool(false))
        );
        assert_eq!(stats.get("rusage_user"), Some(&StatValue::Float(0.609165)));
        assert_eq!(
            stats.get("slab_reassign_running"),
            Some(&StatValue::Bool(true))
        );
        assert_eq!(stats.get("version"), Some(&bytes("1.4.14")));
        assert_eq!(stats.get("umask"), Some(&StatValue::Int(0o777)));
        assert_eq!(stats.get("auth_enabled_sasl"), Some(&StatValue::Bool(true)));
        assert_eq!(stats.get("rusage_system"), Some(&StatValue::Float(1.5)));
        assert_eq!(stats.len(), 9);
    }

    #[test]
    fn keeps_empty_values_and_whole_lines() {
        let stats = stats("STAT fake_stats \nSTAT version 1.6 extra\nITEM bob [7 b; 0 s]\n");
        assert_eq!(stats.get("fake_stats"), Some(&bytes("")));
        // pymemcache would keep b"1.6" here.
        assert_eq!(stats.get("version"), Some(&bytes("1.6 extra")));
        assert_eq!(stats.get(b"bob"), Some(&bytes("[7 b; 0 s]")));
    }

    #[test]
    fn types_memcached_1_6_stats_settings() {
        // Captured from memcached 1.6.18 (`stats settings`, abridged).
        let stats = stats(
            "STAT maxbytes 67108864\nSTAT inter 127.0.0.1\nSTAT evictions on\n\
             STAT domain_socket NULL\nSTAT umask 700\nSTAT growth_factor 1.25\n\
             STAT stat_key_prefix :\nSTAT detail_enabled no\nSTAT cas_enabled yes\n\
             STAT binding_protocol auto-negotiate\nSTAT auth_enabled_sasl no\n\
             STAT maxconns_fast yes\nSTAT slab_reassign yes\nSTAT slab_automove 1\n\
             STAT slab_automove_ratio 0.80\nSTAT hot_max_factor 0.20\n\
             STAT ext_item_age 4294967295\nSTAT ssl_chain_cert (null)\n",
        );
        let get = |name: &str| stats.get(name).cloned();
        assert_eq!(get("maxbytes"), Some(StatValue::Int(67_108_864)));
        assert_eq!(get("inter"), Some(bytes("127.0.0.1")));
        assert_eq!(get("evictions"), Some(bytes("on")));
        assert_eq!(get("evictions").and_then(|v| v.as_bool()), Some(true));
        assert_eq!(get("domain_socket"), Some(bytes("NULL")));
        assert_eq!(get("umask"), Some(StatValue::Int(448)));
        assert_eq!(get("growth_factor"), Some(StatValue::Float(1.25)));
        assert_eq!(get("stat_key_prefix"), Some(bytes(":")));
        // memcrab reads yes/no here; pymemcache would keep the bytes.
        assert_eq!(get("detail_enabled"), Some(StatValue::Bool(false)));
        assert_eq!(get("cas_enabled"), Some(StatValue::Bool(true)));
        assert_eq!(get("maxconns_fast"), Some(StatValue::Bool(true)));
        assert_eq!(get("slab_reassign"), Some(StatValue::Bool(true)));
        assert_eq!(get("slab_automove"), Some(StatValue::Bool(true)));
        assert_eq!(get("auth_enabled_sasl"), Some(StatValue::Bool(false)));
        assert_eq!(get("binding_protocol"), Some(bytes("auto-negotiate")));
        assert_eq!(get("hot_max_factor"), Some(bytes("0.20")));
        assert_eq!(
            get("ext_item_age").and_then(|v| v.as_u64()),
            Some(4_294_967_295)
        );
        assert_eq!(get("ssl_chain_cert"), Some(bytes("(null)")));
    }

    #[test]
    fn leaves_unconvertible_values_as_bytes() {
        for (name, value) in [
            ("rusage_user", "soon"),
            ("growth_factor", ""),
            ("umask", "9"),
            ("cas_enabled", "maybe"),
            ("curr_items", "1.5"),
        ] {
            let parsed = StatValue::parse(name.as_bytes(), Bytes::from_static(value.as_bytes()));
            assert_eq!(parsed, bytes(value), "{name} {value}");
        }
        // Like pymemcache, anything but "yes" is false here.
        let sasl = StatValue::parse(b"auth_enabled_sasl", Bytes::from_static(b"maybe"));
        assert_eq!(sasl, StatValue::Bool(false));
        // Beyond u64 still fits; beyond i128 stays bytes.
        let huge = StatValue::parse(b"bytes", Bytes::from_static(b"18446744073709551616"));
        assert_eq!(huge, StatValue::Int(1 << 64));
        let huger = "1".repeat(40);
        let parsed = StatValue::parse(b"bytes", Bytes::from(huger.clone()));
        assert_eq!(parsed, StatValue::Bytes(Bytes::from(huger)));
    }

    #[test]
    fn iterates_in_server_order_and_gets_the_last_duplicate() {
        let stats = stats("STAT b 1\nSTAT a 2\nSTAT b 3\n");
        let names: Vec<&[u8]> = stats.iter().map(|(name, _)| name).collect();
        assert_eq!(names, [&b"b"[..], b"a", b"b"]);
        assert_eq!(stats.get("b"), Some(&StatValue::Int(3)));
        assert_eq!(stats.get("c"), None);
        assert_eq!((&stats).into_iter().len(), 3);
        let owned: Vec<(Bytes, StatValue)> = stats.into_iter().collect();
        assert_eq!(owned[1], (Bytes::from_static(b"a"), StatValue::Int(2)));
        assert!(Stats::default().is_empty());
        assert!(Stats::from_pairs(Vec::new()).is_empty());
    }

    #[test]
    fn displays_values() {
        assert_eq!(StatValue::Int(-3).to_string(), "-3");
        assert_eq!(StatValue::Float(0.609165).to_string(), "0.609165");
        assert_eq!(StatValue::Bool(true).to_string(), "true");
        assert_eq!(bytes("1.6.18").to_string(), "1.6.18");
        assert_eq!(
            StatValue::Bytes(Bytes::from_static(b"a\xffb")).to_string(),
            "a\u{FFFD}b"
        );
    }

    #[test]
    fn reads_flags_and_numbers_leniently() {
        assert_eq!(bytes(" OFF ").as_bool(), Some(false));
        assert_eq!(bytes("True").as_bool(), Some(true));
        assert_eq!(bytes("x").as_bool(), None);
        assert_eq!(StatValue::Float(1.0).as_bool(), None);
        assert_eq!(StatValue::Int(i128::from(u64::MAX) + 1).as_u64(), None);
        assert_eq!(StatValue::Int(-1).as_i64(), Some(-1));
        assert_eq!(bytes("x").as_f64(), None);
        assert_eq!(StatValue::Bool(true).as_f64(), None);
        assert_eq!(bytes("v").as_str(), Some("v"));
        assert_eq!(StatValue::Int(1).as_bytes(), None);
    }
}
