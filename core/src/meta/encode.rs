//! Encoding meta requests into the outgoing buffer.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{BufMut, BytesMut};
use smallvec::SmallVec;

use super::request::{ArithMode, MetaRequest};
use crate::error::{escape, Error, IllegalInput};
use crate::key::{broken_rule, KeyPolicy, Rule, MAX_KEY_LENGTH};
use crate::limits::Limits;

/// A key as it goes on the wire: prefix + key, base64-encoded when the text
/// protocol could not carry it.
pub(crate) struct WireKey {
    pub(crate) bytes: SmallVec<[u8; 64]>,
    pub(crate) base64: bool,
}

/// Prepares `key` for the wire: prefixed, and base64-encoded (flag `b`)
/// when it holds bytes a text key cannot (space, control, non-ASCII).
/// Allocates nothing for keys up to 64 bytes on the wire, and builds no
/// error text unless the key is refused.
pub(crate) fn wire_key(key: &[u8], policy: &KeyPolicy) -> Result<WireKey, Error> {
    let prefix = policy.prefix();
    let mut raw: SmallVec<[u8; 64]> = SmallVec::new();
    raw.extend_from_slice(prefix);
    raw.extend_from_slice(key);
    match broken_rule(key, prefix, policy.unicode_keys_allowed()) {
        None => Ok(WireKey {
            bytes: raw,
            base64: false,
        }),
        Some(Rule::Empty) => Err(IllegalInput::EmptyKey.into()),
        Some(Rule::TooLong(len)) => Err(IllegalInput::KeyTooLong {
            key: escape(&raw),
            len,
        }
        .into()),
        Some(_) => {
            let len = base64::encoded_len(raw.len(), true).unwrap_or(usize::MAX);
            if len > MAX_KEY_LENGTH {
                return Err(IllegalInput::KeyTooLong {
                    key: escape(&raw),
                    len,
                }
                .into());
            }
            let mut bytes: SmallVec<[u8; 64]> = SmallVec::from_elem(0, len);
            let written =
                STANDARD
                    .encode_slice(&raw, &mut bytes)
                    .map_err(|_| IllegalInput::KeyTooLong {
                        key: escape(&raw),
                        len,
                    })?;
            bytes.truncate(written);
            Ok(WireKey {
                bytes,
                base64: true,
            })
        }
    }
}

/// Checks `req` without writing.
pub(crate) fn check(
    req: &MetaRequest<'_>,
    policy: &KeyPolicy,
    limits: &Limits,
) -> Result<(), Error> {
    if let Some(key) = req.key() {
        #[cfg(test)]
        crate::key::checks::bump();
        wire_key(key, policy)?;
    }
    if let MetaRequest::Set(s) = req {
        if s.value.len() > limits.max_item_size {
            return Err(IllegalInput::ValueTooLarge {
                key: escape(s.key),
                len: s.value.len(),
                max: limits.max_item_size,
            }
            .into());
        }
    }
    Ok(())
}

/// Appends `req`, which [`check`] has passed, with opaque token `opaque`
/// to `out`. Returns whether the key went base64-encoded.
///
/// The wire key is computed here once; a key [`check`] passed always has
/// one, so the error is only defensive.
pub(crate) fn encode(
    req: &MetaRequest<'_>,
    opaque: u64,
    policy: &KeyPolicy,
    out: &mut BytesMut,
) -> Result<bool, Error> {
    let key = match req.key() {
        Some(k) => Some(wire_key(k, policy)?),
        None => None,
    };
    let base64 = key.as_ref().is_some_and(|k| k.base64);
    out.put_slice(req.command().as_bytes());
    if let Some(k) = &key {
        out.put_u8(b' ');
        out.put_slice(&k.bytes);
    }
    let flag = |out: &mut BytesMut, f: u8| {
        out.put_u8(b' ');
        out.put_u8(f);
    };
    let num = |out: &mut BytesMut, f: u8, n: &dyn Fn(&mut itoa::Buffer) -> &str| {
        let mut buf = itoa::Buffer::new();
        out.put_u8(b' ');
        out.put_u8(f);
        out.put_slice(n(&mut buf).as_bytes());
    };
    match req {
        MetaRequest::Get(g) => {
            // memcached applies the flags in order: the touch goes before
            // `t`, so that `t` returns the TTL the item has now.
            for (v, f) in [(g.vivify, b'N'), (g.recache, b'R'), (g.touch, b'T')] {
                if let Some(v) = v {
                    num(out, f, &|b| b.format(v));
                }
            }
            for (on, f) in [
                (g.return_value, b'v'),
                (g.return_cas, b'c'),
                (g.return_flags, b'f'),
                (g.return_hit, b'h'),
                (g.return_key, b'k'),
                (g.return_last_access, b'l'),
                (g.return_size, b's'),
                (g.return_ttl, b't'),
                (g.no_bump, b'u'),
                (g.quiet, b'q'),
            ] {
                if on {
                    flag(out, f);
                }
            }
        }
        MetaRequest::Set(s) => {
            let mut buf = itoa::Buffer::new();
            out.put_u8(b' ');
            out.put_slice(buf.format(s.value.len()).as_bytes());
            num(out, b'M', &|_| "");
            out.put_u8(s.mode.token());
            if s.client_flags != 0 {
                num(out, b'F', &|b| b.format(s.client_flags));
            }
            if let Some(t) = s.ttl {
                num(out, b'T', &|b| b.format(t));
            }
            if let Some(c) = s.compare_cas {
                num(out, b'C', &|b| b.format(c));
            }
            for (on, f) in [
                (s.invalidate, b'I'),
                (s.return_cas, b'c'),
                (s.return_key, b'k'),
                (s.quiet, b'q'),
            ] {
                if on {
                    flag(out, f);
                }
            }
        }
        MetaRequest::Delete(d) => {
            if let Some(c) = d.compare_cas {
                num(out, b'C', &|b| b.format(c));
            }
            if let Some(t) = d.ttl {
                num(out, b'T', &|b| b.format(t));
            }
            for (on, f) in [(d.invalidate, b'I'), (d.return_key, b'k'), (d.quiet, b'q')] {
                if on {
                    flag(out, f);
                }
            }
        }
        MetaRequest::Arithmetic(a) => {
            num(out, b'M', &|_| "");
            out.put_u8(match a.mode {
                ArithMode::Incr => b'I',
                ArithMode::Decr => b'D',
            });
            num(out, b'D', &|b| b.format(a.delta));
            if let Some(n) = a.autovivify {
                num(out, b'N', &|b| b.format(n));
            }
            if let Some(j) = a.initial {
                num(out, b'J', &|b| b.format(j));
            }
            if let Some(c) = a.compare_cas {
                num(out, b'C', &|b| b.format(c));
            }
            if let Some(t) = a.ttl {
                num(out, b'T', &|b| b.format(t));
            }
            for (on, f) in [
                (a.return_value, b'v'),
                (a.return_ttl, b't'),
                (a.return_cas, b'c'),
                (a.quiet, b'q'),
            ] {
                if on {
                    flag(out, f);
                }
            }
        }
        MetaRequest::Noop | MetaRequest::Debug { .. } => {}
    }
    if base64 {
        flag(out, b'b');
    }
    if !matches!(req, MetaRequest::Noop | MetaRequest::Debug { .. }) {
        num(out, b'O', &|b| b.format(opaque));
    }
    out.put_slice(b"\r\n");
    if let MetaRequest::Set(s) = req {
        out.put_slice(s.value);
        out.put_slice(b"\r\n");
    }
    Ok(base64)
}
