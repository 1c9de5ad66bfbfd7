//! `VALUE` header lines: read in one pass for the key awaited, or the
//! general way; and the length a header announces, for sizing reads.

use alloc::format;
use core::ops::Range;

use smallvec::SmallVec;

use super::parse::parse_u64;
use crate::error::{escape, Error};
use crate::limits::Limits;

/// Returns where the value announced by a complete `VALUE` (text) or `VA`
/// (meta) header line at `from` ends, its `\r\n` included, so a transport
/// can be lent room for all of it; 0 for any other line, an incomplete one,
/// or a length over the item size limit. Only a sizing hint: the parsers
/// decide what the line means.
pub(crate) fn announced(buf: &[u8], from: usize, limits: &Limits) -> usize {
    let rest = &buf[from..];
    let field = if rest.starts_with(b"VALUE ") {
        3
    } else if rest.starts_with(b"VA ") {
        1
    } else {
        return 0;
    };
    let window = &rest[..rest.len().min(limits.max_line.saturating_add(2))];
    let Some(nl) = memchr::memchr(b'\n', window) else {
        return 0;
    };
    let Some(line) = window[..nl].strip_suffix(b"\r") else {
        return 0;
    };
    let len = line
        .split(|&b| b == b' ')
        .nth(field)
        .and_then(parse_u64)
        .filter(|&n| n <= limits.max_item_size as u64);
    match len {
        Some(n) => from + nl + 1 + n as usize + 2,
        None => 0,
    }
}

/// A `VALUE` header, checked against the keys awaited; offsets into the
/// buffer.
pub(super) struct Header {
    /// The wire key (prefix included).
    pub(super) key: Range<usize>,
    pub(super) flags: u32,
    pub(super) len: usize,
    pub(super) cas: Option<u64>,
    /// Where the value starts.
    pub(super) data: usize,
    /// The key cursor after this key.
    pub(super) next_cursor: usize,
}

impl Header {
    /// Moves offsets relative to a line into the buffer, the line at `start`.
    pub(super) fn at(mut self, start: usize) -> Header {
        self.key = self.key.start + start..self.key.end + start;
        self.data += start;
        self
    }
}

/// Reads a complete, well-formed `VALUE <key> <flags> <bytes>[ <cas>]\r\n`
/// at the front of `rest` whose key is the one awaited at `cursor` (the
/// common case: a hit, in request order), comparing the key instead of
/// scanning for it. `None` for anything else, which the general path
/// decides; whatever this accepts, the general path accepts the same way.
#[inline]
pub(super) fn fast_header(
    rest: &[u8],
    cas: bool,
    keys: &[u8],
    cursor: usize,
    limits: &Limits,
) -> Option<Header> {
    let after = rest.strip_prefix(b"VALUE ")?;
    let wanted = keys.get(cursor..)?;
    // Keys are short: a plain loop beats memchr's setup here.
    let klen = wanted
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(wanted.len());
    if klen == 0 || after.get(..klen)? != &wanted[..klen] || *after.get(klen)? != b' ' {
        return None;
    }
    let mut i = klen + 1;
    let flags = digits(after, &mut i)?;
    if *after.get(i)? != b' ' {
        return None;
    }
    i += 1;
    let len = digits(after, &mut i)?;
    let cas = if cas {
        if *after.get(i)? != b' ' {
            return None;
        }
        i += 1;
        Some(digits(after, &mut i)?)
    } else {
        None
    };
    if after.get(i..i + 2)? != b"\r\n" || 6 + i > limits.max_line {
        return None;
    }
    let flags = u32::try_from(flags).ok()?;
    if len > limits.max_item_size as u64 {
        return None;
    }
    Some(Header {
        key: 6..6 + klen,
        flags,
        len: len as usize,
        cas,
        data: 6 + i + 2,
        next_cursor: cursor + klen + 1,
    })
}

/// Reads 1 to 19 ASCII digits at `*i` (so no overflow), moving `*i` past
/// them; `None` for none or more (the general path's `parse_u64` decides).
#[inline(always)]
fn digits(s: &[u8], i: &mut usize) -> Option<u64> {
    let mut n: u64 = 0;
    let start = *i;
    while let Some(&d) = s.get(*i) {
        if !d.is_ascii_digit() {
            break;
        }
        if *i - start == 19 {
            return None;
        }
        n = n * 10 + u64::from(d - b'0');
        *i += 1;
    }
    (*i > start).then_some(n)
}

pub(super) struct ValueHeader {
    /// The key's range within the text after `VALUE `.
    pub(super) key: Range<usize>,
    pub(super) flags: u32,
    pub(super) len: usize,
    pub(super) cas: Option<u64>,
}

/// Parses `<key> <flags> <bytes>[ <cas>]`.
pub(super) fn parse_value_header(
    rest: &[u8],
    cas: bool,
    limits: &Limits,
) -> Result<ValueHeader, Error> {
    let bad = |why: &str| {
        Error::Protocol(format!(
            "malformed VALUE line {}: {why}",
            escape(&[b"VALUE ".as_slice(), rest].concat())
        ))
    };
    let mut tokens: SmallVec<[Range<usize>; 4]> = SmallVec::new();
    let mut start = 0;
    for (i, &b) in rest.iter().enumerate() {
        if b == b' ' {
            tokens.push(start..i);
            start = i + 1;
            if tokens.len() > 4 {
                return Err(bad("too many fields"));
            }
        }
    }
    tokens.push(start..rest.len());
    let want = if cas { 4 } else { 3 };
    if tokens.len() != want {
        return Err(bad(if cas {
            "expected <key> <flags> <bytes> <cas>"
        } else {
            "expected <key> <flags> <bytes>"
        }));
    }
    if tokens.iter().any(|t| t.is_empty()) {
        return Err(bad("empty field"));
    }
    let flags = parse_u64(&rest[tokens[1].clone()])
        .and_then(|f| u32::try_from(f).ok())
        .ok_or_else(|| bad("flags are not a 32-bit number"))?;
    let len = parse_u64(&rest[tokens[2].clone()]).ok_or_else(|| bad("length is not a number"))?;
    if len > limits.max_item_size as u64 {
        return Err(bad(&format!(
            "length {len} exceeds the {}-byte item size limit",
            limits.max_item_size
        )));
    }
    let cas = match tokens.get(3) {
        Some(t) => Some(parse_u64(&rest[t.clone()]).ok_or_else(|| bad("cas is not a number"))?),
        None => None,
    };
    Ok(ValueHeader {
        key: tokens[0].clone(),
        flags,
        len: len as usize,
        cas,
    })
}

/// Finds `key` among the space-separated `keys` at or after `cursor`;
/// returns the offset after it. memcached answers in request order.
pub(super) fn match_key(keys: &[u8], mut cursor: usize, key: &[u8]) -> Option<usize> {
    while cursor < keys.len() {
        let rest = &keys[cursor..];
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        if &rest[..end] == key {
            return Some(cursor + end + 1);
        }
        cursor += end + 1;
    }
    None
}
