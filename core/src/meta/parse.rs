//! Parsing one meta reply off the front of the receive buffer.

use alloc::format;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};

use super::reply::{MetaReply, MetaStatus};
use crate::error::{escape, line_text, Error};
use crate::limits::Limits;
use crate::text::{error_line, find_line, parse_u64};

/// The outcome of one attempt to parse a meta reply.
#[derive(Debug)]
pub(crate) enum MetaStep {
    /// Not complete; nothing consumed. The bytes the buffer must hold for
    /// the value being received to be complete; 0 when waiting for a line.
    Partial(usize),
    /// A reply, consumed, with its opaque token if it carried one.
    Reply(Option<u64>, MetaReply),
    /// An error line (no opaque), consumed.
    ErrorLine(Error),
    /// The stream is broken.
    Fatal(Error),
}

/// Takes one meta reply (or error line) off the front of `buf`.
pub(crate) fn parse(
    buf: &mut BytesMut,
    command: &'static str,
    prefix: &[u8],
    limits: &Limits,
) -> MetaStep {
    let eol = match find_line(buf, 0, limits) {
        Ok(Some(eol)) => eol,
        Ok(None) => return MetaStep::Partial(0),
        Err(e) => return MetaStep::Fatal(e),
    };
    let line = &buf[..eol];
    if let Some(err) = error_line(line, command) {
        let _ = buf.split_to(eol + 2);
        return MetaStep::ErrorLine(err);
    }
    if line.len() < 2 {
        return MetaStep::Fatal(Error::UnexpectedReply(line_text(line)));
    }
    let status = match &line[..2] {
        b"VA" => MetaStatus::Value,
        b"HD" => MetaStatus::Ok,
        b"EN" => MetaStatus::Miss,
        b"NF" => MetaStatus::NotFound,
        b"NS" => MetaStatus::NotStored,
        b"EX" => MetaStatus::Exists,
        b"MN" => MetaStatus::Noop,
        b"ME" => MetaStatus::Debug,
        _ => return MetaStep::Fatal(Error::UnexpectedReply(line_text(line))),
    };
    if line.len() > 2 && line[2] != b' ' {
        return MetaStep::Fatal(Error::UnexpectedReply(line_text(line)));
    }
    let mut flag_text: &[u8] = line.get(3..).unwrap_or_default();
    let mut reply = MetaReply::new(status);
    let mut total = eol + 2;
    let mut value_range = None;
    match status {
        MetaStatus::Value => {
            let (len_token, rest) = match memchr::memchr(b' ', flag_text) {
                Some(i) => (&flag_text[..i], &flag_text[i + 1..]),
                None => (flag_text, &b""[..]),
            };
            flag_text = rest;
            let Some(len) = parse_u64(len_token) else {
                return MetaStep::Fatal(Error::Protocol(format!(
                    "malformed VA line {}: no length",
                    escape(line)
                )));
            };
            if len > limits.max_item_size as u64 {
                return MetaStep::Fatal(Error::Protocol(format!(
                    "VA length {len} exceeds the {}-byte item size limit",
                    limits.max_item_size
                )));
            }
            let len = len as usize;
            if buf.len() - total < len.saturating_add(2) {
                return MetaStep::Partial(total.saturating_add(len).saturating_add(2));
            }
            if &buf[total + len..total + len + 2] != b"\r\n" {
                return MetaStep::Fatal(Error::Protocol(format!(
                    "value of {len} bytes is not followed by \\r\\n"
                )));
            }
            value_range = Some(total..total + len);
            total += len + 2;
        }
        MetaStatus::Debug => {
            // ME <key> <k>=<v>*: keep everything after the key.
            let rest = line.get(3..).unwrap_or_default();
            let after_key = memchr::memchr(b' ', rest).map_or(rest.len(), |i| i + 1);
            // A bare `ME` has neither key nor text.
            value_range = Some((3 + after_key).min(eol)..eol);
            flag_text = &[];
        }
        _ => {}
    }
    let mut opaque = None;
    let mut key_token: Option<(usize, usize)> = None;
    let mut base64 = false;
    let base = buf.as_ptr() as usize;
    for t in flag_text.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
        let (f, arg) = (t[0], &t[1..]);
        let bad = || {
            MetaStep::Fatal(Error::Protocol(format!(
                "malformed flag {} in meta reply {}",
                escape(t),
                escape(line)
            )))
        };
        match f {
            b'O' => match parse_u64(arg) {
                Some(o) => opaque = Some(o),
                None => return bad(),
            },
            b'c' => match parse_u64(arg) {
                Some(c) => reply.cas = Some(c),
                None => return bad(),
            },
            b'f' => match parse_u64(arg).and_then(|f| u32::try_from(f).ok()) {
                Some(f) => reply.client_flags = Some(f),
                None => return bad(),
            },
            b's' => match parse_u64(arg) {
                Some(s) => reply.size = Some(s),
                None => return bad(),
            },
            b'l' => match parse_u64(arg) {
                Some(l) => reply.last_access = Some(l),
                None => return bad(),
            },
            b't' => match parse_i64(arg) {
                Some(ttl) => reply.ttl = Some(ttl),
                None => return bad(),
            },
            b'h' => match arg {
                b"0" => reply.hit_before = Some(false),
                b"1" => reply.hit_before = Some(true),
                _ => return bad(),
            },
            b'k' => {
                let start = arg.as_ptr() as usize - base;
                key_token = Some((start, start + arg.len()));
            }
            b'b' => base64 = true,
            b'W' => reply.win = true,
            b'X' => reply.stale = true,
            b'Z' => reply.already_won = true,
            _ => {} // Flags this version does not know are ignored.
        }
    }
    let frame = buf.split_to(total).freeze();
    if let Some(r) = value_range {
        reply.value = Some(frame.slice(r));
    }
    if let Some((s, e)) = key_token {
        let raw = frame.slice(s..e);
        let key = if base64 {
            match STANDARD.decode(&raw) {
                Ok(k) => Bytes::from(k),
                Err(_) => {
                    return MetaStep::Fatal(Error::Protocol(format!(
                        "meta reply key {} is not valid base64",
                        escape(&raw)
                    )))
                }
            }
        } else {
            raw
        };
        reply.key = Some(match key.strip_prefix(prefix) {
            Some(_) => key.slice(prefix.len()..),
            None => key,
        });
    }
    MetaStep::Reply(opaque, reply)
}

fn parse_i64(s: &[u8]) -> Option<i64> {
    match s.strip_prefix(b"-") {
        Some(d) => parse_u64(d).and_then(|n| i64::try_from(n).ok()).map(|n| -n),
        None => parse_u64(s).and_then(|n| i64::try_from(n).ok()),
    }
}
