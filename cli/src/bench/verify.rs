//! `memcrab bench --verify`: values that name their key, checked on read.
//!
//! Every value written is `KEY SP FILLER HEX8`: the key, a space, filler
//! bytes that depend on the key and their position, and the 8 hex digits
//! of the FNV-1a (32-bit) checksum of everything before them. A value read
//! is right when its checksum holds, the key it names is the key asked
//! for, and it has the size written. Anything else is a mismatch: counted,
//! printed (the first [`PRINTED`] of them), and the run exits 2.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mismatches printed so far by every verifier of the run (the tasks of
/// the tokio transport have one each).
static PRINTED_SO_FAR: AtomicU64 = AtomicU64::new(0);

/// The hex digits of the checksum at the end of every value.
const CHECKSUM_LEN: usize = 8;

/// How many mismatches are printed to stderr (all are counted).
pub const PRINTED: u64 = 10;

/// The smallest value that can name a key of `key_width` bytes.
pub fn min_value_size(key_width: usize) -> usize {
    key_width + 1 + CHECKSUM_LEN
}

fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Writes the value of `key` with `size` bytes into `out` (cleared first).
/// `size` is at least [`min_value_size`] of the key's length.
pub fn encode(key: &[u8], size: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(key);
    out.push(b' ');
    let seed = fnv1a32(key) as usize;
    let filler = size.saturating_sub(key.len() + 1 + CHECKSUM_LEN);
    out.extend((0..filler).map(|i| b'a' + (seed.wrapping_add(i) % 26) as u8));
    let sum = fnv1a32(out);
    let _ = write!(out, "{sum:08x}");
}

/// What is wrong with a value read.
#[derive(Debug, PartialEq, Eq)]
pub enum Wrong {
    /// Its checksum does not hold (or it is too short to have one).
    Corrupt { len: usize },
    /// A well-formed value of another key.
    OtherKey(Vec<u8>),
    /// The value of the key asked for, of another size.
    Size { len: usize },
    /// A multi-key get returned a key it did not ask for.
    Unasked(Vec<u8>),
}

/// The key a value names, if its checksum holds.
fn named_key(value: &[u8]) -> Option<&[u8]> {
    let body_len = value.len().checked_sub(CHECKSUM_LEN)?;
    let (body, sum) = value.split_at(body_len);
    let sum = std::str::from_utf8(sum).ok()?;
    let sum = u32::from_str_radix(sum, 16).ok()?;
    if sum != fnv1a32(body) {
        return None;
    }
    let space = body.iter().position(|&b| b == b' ')?;
    Some(&body[..space])
}

/// Checks `value`, read for `asked`, written with `size` bytes.
pub fn check(asked: &[u8], value: &[u8], size: usize) -> Result<(), Wrong> {
    match named_key(value) {
        None => Err(Wrong::Corrupt { len: value.len() }),
        Some(key) if key != asked => Err(Wrong::OtherKey(key.to_vec())),
        Some(_) if value.len() != size => Err(Wrong::Size { len: value.len() }),
        Some(_) => Ok(()),
    }
}

/// Keys as printed: their bytes, with anything not printable ASCII as
/// `\xNN`.
fn show(key: &[u8]) -> String {
    let mut s = String::with_capacity(key.len());
    for &b in key {
        if b.is_ascii_graphic() {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// The counts of a verifying run.
#[derive(Debug, Default)]
pub struct Verifier {
    /// The size of every value written.
    pub size: usize,
    /// Values checked.
    pub checked: u64,
    /// Values that were wrong.
    pub mismatches: u64,
    /// The first mismatch, as printed (after `mismatch: `).
    pub first: Option<String>,
}

impl Verifier {
    /// A verifier of values of `size` bytes.
    pub fn new(size: usize) -> Verifier {
        Verifier {
            size,
            ..Verifier::default()
        }
    }

    /// Checks the value read for `asked`.
    pub fn single(&mut self, asked: &[u8], value: &[u8]) {
        self.checked += 1;
        if let Err(wrong) = check(asked, value, self.size) {
            self.mismatch(asked, &wrong);
        }
    }

    /// Checks an item of a multi-key get of `asked`: `key` is the key the
    /// reply names (empty if it names none).
    pub fn item(&mut self, asked: &[Vec<u8>], key: &[u8], value: &[u8]) {
        self.checked += 1;
        let result = if key.is_empty() {
            match named_key(value) {
                Some(k) if asked.iter().any(|a| a == k) => check(k, value, self.size),
                Some(k) => Err(Wrong::OtherKey(k.to_vec())),
                None => Err(Wrong::Corrupt { len: value.len() }),
            }
        } else if asked.iter().any(|a| a == key) {
            check(key, value, self.size)
        } else {
            Err(Wrong::Unasked(key.to_vec()))
        };
        if let Err(wrong) = result {
            let shown = if key.is_empty() {
                asked.first().map_or(&[][..], Vec::as_slice)
            } else {
                key
            };
            self.mismatch(shown, &wrong);
        }
    }

    fn mismatch(&mut self, asked: &[u8], wrong: &Wrong) {
        self.mismatches += 1;
        let what = match wrong {
            Wrong::Corrupt { len } => {
                format!("a corrupt value ({len} bytes, its checksum does not hold)")
            }
            Wrong::OtherKey(k) => format!("the value of key {}", show(k)),
            Wrong::Size { len } => format!("a value of {len} bytes, {} written", self.size),
            Wrong::Unasked(k) => format!("key {}, not asked for", show(k)),
        };
        let line = format!("get {} returned {what}", show(asked));
        let printed = PRINTED_SO_FAR.fetch_add(1, Ordering::Relaxed) + 1;
        if printed <= PRINTED {
            let mut err = io::stderr().lock();
            let _ = writeln!(err, "memcrab: mismatch: {line}");
            if printed == PRINTED {
                let _ = writeln!(err, "memcrab: further mismatches are counted, not printed");
            }
        }
        self.first.get_or_insert(line);
    }

    /// Adds the counts of `other` (another task's).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub fn absorb(&mut self, other: Verifier) {
        self.checked += other.checked;
        self.mismatches += other.mismatches;
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_names_its_key_and_has_its_size() {
        let mut v = Vec::new();
        for size in [min_value_size(3), 100, 1000] {
            encode(b"k:1", size, &mut v);
            assert_eq!(v.len(), size);
            assert!(v.starts_with(b"k:1 "));
            assert_eq!(check(b"k:1", &v, size), Ok(()));
        }
    }

    #[test]
    fn every_kind_of_wrong_value_is_told() {
        let mut v = Vec::new();
        encode(b"k:2", 50, &mut v);
        assert_eq!(check(b"k:1", &v, 50), Err(Wrong::OtherKey(b"k:2".to_vec())));
        let mut flipped = v.clone();
        flipped[10] ^= 1;
        assert_eq!(check(b"k:2", &flipped, 50), Err(Wrong::Corrupt { len: 50 }));
        assert_eq!(check(b"k:2", &v[..20], 50), Err(Wrong::Corrupt { len: 20 }));
        assert_eq!(check(b"k:2", b"", 50), Err(Wrong::Corrupt { len: 0 }));
        encode(b"k:2", 60, &mut v);
        assert_eq!(check(b"k:2", &v, 50), Err(Wrong::Size { len: 60 }));
        assert_eq!(
            check(b"k:2", b"xxxxxxxxxxxxxxxxxxxxxx", 22),
            Err(Wrong::Corrupt { len: 22 })
        );
    }

    #[test]
    fn the_verifier_counts_and_keeps_the_first() {
        let mut good = Vec::new();
        encode(b"a", 20, &mut good);
        let mut other = Vec::new();
        encode(b"b", 20, &mut other);
        let mut v = Verifier::new(20);
        v.single(b"a", &good);
        v.single(b"a", &other);
        let asked = vec![b"a".to_vec(), b"b".to_vec()];
        v.item(&asked, b"a", &good);
        v.item(&asked, b"", &other);
        v.item(&asked, b"c", &good);
        v.item(&asked, b"b", &good);
        assert_eq!((v.checked, v.mismatches), (6, 3));
        assert_eq!(
            v.first.as_deref(),
            Some("get a returned the value of key b")
        );
        let mut total = Verifier::new(20);
        total.absorb(v);
        assert_eq!((total.checked, total.mismatches), (6, 3));
    }
}
