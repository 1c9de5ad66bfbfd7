//! Key rules: what may be sent to memcached as a key.

use bytes::Bytes;

use crate::error::{escape, IllegalInput};

/// The longest key memcached accepts, in bytes, key prefix included.
pub const MAX_KEY_LENGTH: usize = 250;

/// How keys are checked and prefixed before they are encoded.
///
/// # Example
///
/// ```
/// use memcrab_core::KeyPolicy;
///
/// let policy = KeyPolicy::new().with_prefix("app:").allow_unicode_keys(true);
/// assert_eq!(&policy.prefix()[..], b"app:");
/// assert!(policy.unicode_keys_allowed());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPolicy {
    prefix: Bytes,
    allow_unicode: bool,
}

impl KeyPolicy {
    /// Returns the default policy: no prefix, ASCII keys only.
    #[must_use]
    pub fn new() -> Self {
        KeyPolicy::default()
    }

    /// Sets the prefix prepended to every key on the wire (pymemcache's
    /// `key_prefix`). It counts towards the 250-byte limit.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<Bytes>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Allows keys with bytes at or above 0x80 (pymemcache's
    /// `allow_unicode_keys`; such keys are sent as their UTF-8 bytes).
    #[must_use]
    pub fn allow_unicode_keys(mut self, allow: bool) -> Self {
        self.allow_unicode = allow;
        self
    }

    /// Returns the key prefix.
    #[must_use]
    pub fn prefix(&self) -> &Bytes {
        &self.prefix
    }

    /// Returns true if non-ASCII keys are allowed.
    #[must_use]
    pub fn unicode_keys_allowed(&self) -> bool {
        self.allow_unicode
    }

    /// Checks `key` (the caller's key, without prefix) against this policy.
    ///
    /// # Errors
    ///
    /// See [`validate_key`].
    #[inline]
    pub fn check(&self, key: &[u8]) -> Result<(), IllegalInput> {
        validate_key(key, &self.prefix, self.allow_unicode)
    }
}

/// Checks that `prefix` + `key` can be sent to memcached as a key.
///
/// The rules are pymemcache's (no whitespace, no NUL, at most 250 bytes with
/// the prefix, non-ASCII only when `allow_unicode` is set) and stricter where
/// memcached's protocol is: no empty key and no control character at all.
///
/// # Errors
///
/// Returns the [`IllegalInput`] that names the first rule broken and the key.
///
/// # Example
///
/// ```
/// use memcrab_core::{validate_key, IllegalInput};
///
/// assert!(validate_key(b"user:42", b"", false).is_ok());
/// assert!(matches!(
///     validate_key(b"a key", b"", false),
///     Err(IllegalInput::KeyWhitespace { .. })
/// ));
/// assert!(validate_key(&[b'x'; 251], b"", false).is_err());
/// ```
#[inline]
pub fn validate_key(key: &[u8], prefix: &[u8], allow_unicode: bool) -> Result<(), IllegalInput> {
    #[cfg(test)]
    checks::bump();
    // The common key, decided without a call: short and printable.
    if !key.is_empty()
        && prefix.len() + key.len() <= MAX_KEY_LENGTH
        && printable(key)
        && printable(prefix)
    {
        return Ok(());
    }
    refused(key, prefix, allow_unicode)
}

/// [`validate_key`] for a key that is not plainly printable: which rule it
/// breaks, if any.
#[cold]
#[inline(never)]
fn refused(key: &[u8], prefix: &[u8], allow_unicode: bool) -> Result<(), IllegalInput> {
    let Some(rule) = broken_rule(key, prefix, allow_unicode) else {
        return Ok(());
    };
    let named = || {
        let mut full = alloc::vec::Vec::with_capacity(prefix.len() + key.len());
        full.extend_from_slice(prefix);
        full.extend_from_slice(key);
        escape(&full)
    };
    Err(match rule {
        Rule::Empty => IllegalInput::EmptyKey,
        Rule::TooLong(len) => IllegalInput::KeyTooLong { key: named(), len },
        Rule::Whitespace => IllegalInput::KeyWhitespace { key: named() },
        Rule::Null => IllegalInput::KeyNull { key: named() },
        Rule::Control => IllegalInput::KeyControl { key: named() },
        Rule::NonAscii => IllegalInput::KeyNonAscii { key: named() },
    })
}

/// The first key rule a key breaks; found without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    Empty,
    TooLong(usize),
    Whitespace,
    Null,
    Control,
    NonAscii,
}

/// Returns the first rule `prefix` + `key` breaks, or `None` for a key the
/// text protocol can carry. Pure: no allocation, not counted as a check.
pub(crate) fn broken_rule(key: &[u8], prefix: &[u8], allow_unicode: bool) -> Option<Rule> {
    if key.is_empty() {
        return Some(Rule::Empty);
    }
    let len = prefix.len() + key.len();
    if len > MAX_KEY_LENGTH {
        return Some(Rule::TooLong(len));
    }
    for part in [prefix, key] {
        // Fast path: every byte printable ASCII.
        if printable(part) {
            continue;
        }
        for &b in part {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => return Some(Rule::Whitespace),
                0 => return Some(Rule::Null),
                0x01..=0x1f | 0x7f => return Some(Rule::Control),
                0x80.. if !allow_unicode => return Some(Rule::NonAscii),
                _ => {}
            }
        }
    }
    None
}

/// Returns true if every byte of `s` is printable ASCII (0x21..=0x7e),
/// eight bytes at a time: a byte below 0x21 or above 0x7e sets its high bit
/// in `(w - 0x21..) & !w` or in `(w + 0x01..) | w` (exact for these bounds,
/// see "Bit Twiddling Hacks", hasless/hasmore). The last word overlaps the
/// one before it instead of being copied out.
#[inline]
fn printable(s: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    if s.len() < 8 {
        return s.iter().all(|&b| b.wrapping_sub(0x21) < 0x5e);
    }
    let bad = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&s[at..at + 8]);
        let w = u64::from_ne_bytes(b);
        (w.wrapping_sub(ONES * 0x21) & !w) | w.wrapping_add(ONES) | w
    };
    let mut seen = bad(s.len() - 8);
    let mut at = 0;
    while at + 8 < s.len() {
        seen |= bad(at);
        at += 8;
    }
    seen & HIGH == 0
}

/// Counts key checks in tests, per thread, to show each request is
/// validated exactly once on every path.
#[cfg(test)]
pub(crate) mod checks {
    use core::cell::Cell;

    std::thread_local! {
        static COUNT: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn bump() {
        COUNT.with(|c| c.set(c.get() + 1));
    }

    pub(crate) fn reset() {
        COUNT.with(|c| c.set(0));
    }

    pub(crate) fn count() -> usize {
        COUNT.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_keys() {
        assert_eq!(validate_key(b"key", b"", false), Ok(()));
        assert_eq!(validate_key(&[b'k'; 250], b"", false), Ok(()));
        assert_eq!(validate_key(&[b'k'; 246], b"pfx:", false), Ok(()));
    }

    #[test]
    fn refuses_by_rule() {
        type Case<'a> = (&'a [u8], fn(&IllegalInput) -> bool);
        let cases: &[Case<'_>] = &[
            (b"", |e| matches!(e, IllegalInput::EmptyKey)),
            (b"a b", |e| matches!(e, IllegalInput::KeyWhitespace { .. })),
            (b"a\r\nb", |e| {
                matches!(e, IllegalInput::KeyWhitespace { .. })
            }),
            (b"tab\t", |e| {
                matches!(e, IllegalInput::KeyWhitespace { .. })
            }),
            (b"\x0bv", |e| {
                matches!(e, IllegalInput::KeyWhitespace { .. })
            }),
            (b"nul\0", |e| matches!(e, IllegalInput::KeyNull { .. })),
            (b"ctl\x01", |e| matches!(e, IllegalInput::KeyControl { .. })),
            (b"del\x7f", |e| matches!(e, IllegalInput::KeyControl { .. })),
            ("my☃".as_bytes(), |e| {
                matches!(e, IllegalInput::KeyNonAscii { .. })
            }),
        ];
        for (key, is) in cases {
            let e = validate_key(key, b"", false).unwrap_err();
            assert!(is(&e), "{key:?} gave {e:?}");
        }
    }

    #[test]
    fn printable_agrees_with_the_byte_rule() {
        for b in 0..=255u8 {
            for len in [1usize, 7, 8, 9, 16, 17] {
                for at in [0, len / 2, len - 1] {
                    let mut key = alloc::vec![b'k'; len];
                    key[at] = b;
                    assert_eq!(
                        printable(&key),
                        (0x21..0x7f).contains(&b),
                        "{b:#x} at {at} of {len}"
                    );
                }
            }
        }
        assert!(printable(b""));
    }

    #[test]
    fn length_counts_the_prefix() {
        let e = validate_key(&[b'k'; 247], b"pfx:", false).unwrap_err();
        assert!(matches!(e, IllegalInput::KeyTooLong { len: 251, .. }));
        assert!(validate_key(&[b'k'; 251], b"", false).is_err());
    }

    #[test]
    fn unicode_when_allowed() {
        assert_eq!(validate_key("my☃".as_bytes(), b"pfx:", true), Ok(()));
        // 150 snowmen are 450 bytes.
        let long = "my☃".repeat(150);
        assert!(validate_key(long.as_bytes(), b"", true).is_err());
    }

    #[test]
    fn prefix_is_checked_too() {
        assert!(validate_key(b"k", b"bad prefix", false).is_err());
    }

    #[test]
    fn message_names_the_key() {
        let e = validate_key(b"has space", b"p:", false).unwrap_err();
        assert_eq!(
            alloc::format!("{e}"),
            "key contains whitespace: \"p:has space\""
        );
    }
}
