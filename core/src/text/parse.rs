//! The incremental reply parser.
//!
//! [`Parser::parse`] looks at the receive buffer for the reply that the
//! oldest pending request awaits. It never consumes a partial reply: it
//! returns [`Step::Partial`] and remembers how far it has checked, so a
//! large multi-get that arrives in many reads is scanned once. Values are
//! skipped by their declared length, never searched, and a declared length
//! over the item size limit is refused before any of it is buffered.

use alloc::format;
use alloc::vec::Vec;
use core::ops::Range;

use bytes::{Buf, BytesMut};
use smallvec::SmallVec;

use super::expect::Expect;
use super::header::{announced, fast_header, match_key, parse_value_header, Header};
use super::reply::{Item, Reply};
use crate::error::{escape, line_text, Error};
use crate::limits::Limits;

/// At most this many lines in one stats reply.
const MAX_STAT_LINES: usize = 100_000;
/// At most this many bytes in one stats reply.
const MAX_STATS_BYTES: usize = 16 * 1024 * 1024;

/// The outcome of one parse attempt.
#[derive(Debug)]
pub(crate) enum Step {
    /// The reply is not complete yet; nothing was consumed.
    Partial,
    /// The reply (or the server's error line) for the request; consumed.
    Done(Result<Reply, Error>),
    /// The stream is broken; the connection must close.
    Fatal(Error),
}

#[derive(Debug, Clone)]
struct RawItem {
    key: Range<usize>,
    flags: u32,
    value: Range<usize>,
    cas: Option<u64>,
}

/// Parser state carried between attempts for one reply.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    /// Bytes of the buffer already checked (complete VALUE blocks or lines).
    scan: usize,
    /// Offset in the awaited key list after the last matched key.
    key_cursor: usize,
    items: SmallVec<[RawItem; 1]>,
    pairs: Vec<(Range<usize>, Range<usize>)>,
    /// After a [`Step::Partial`] waiting for a value: the bytes the buffer
    /// must hold for the value to be complete; 0 when unknown.
    need: usize,
    /// The last step completed a reply: the state is stale.
    finished: bool,
}

/// What the parser needs to know about the pending request.
pub(crate) struct Context<'a> {
    pub(crate) expect: &'a Expect,
    /// The command's name, for `ERROR` replies.
    pub(crate) command: &'static str,
    /// The key prefix, removed from returned keys.
    pub(crate) prefix: &'a [u8],
    /// A noreply request was sent just before this one.
    pub(crate) after_noreply: bool,
    pub(crate) limits: &'a Limits,
}

impl Parser {
    /// Tries to take the reply described by `cx` off the front of `buf`.
    pub(crate) fn parse(&mut self, buf: &mut BytesMut, cx: &Context<'_>) -> Step {
        // The state of a reply that completed is cleared here, at the next
        // reply, so the step goes straight to the caller.
        if self.finished {
            self.reset();
        }
        self.need = 0;
        let step = match cx.expect {
            Expect::Values { cas, keys } => self.values(buf, cx, *cas, keys),
            Expect::Stats => self.stats(buf, cx),
            Expect::Raw { terminator } => self.raw(buf, cx, terminator),
            _ => single_line(buf, cx),
        };
        self.finished = !matches!(step, Step::Partial);
        step
    }

    /// Returns how many bytes the buffer must hold, from its start, before
    /// the reply awaited can progress: the end of the value being received,
    /// or 0 when the parser waits for a line (and cannot tell).
    pub(crate) fn need(&self) -> usize {
        self.need
    }

    /// Returns the end of the value whose header is the next line to
    /// parse in `buf`, as [`announced`] does, before `parse` has seen it.
    pub(crate) fn announced(&self, buf: &[u8], limits: &Limits) -> usize {
        let from = if self.finished { 0 } else { self.scan };
        announced(buf, from.min(buf.len()), limits)
    }

    fn reset(&mut self) {
        self.finished = false;
        self.scan = 0;
        self.need = 0;
        self.key_cursor = 0;
        self.items.clear();
        self.pairs.clear();
    }

    fn values(&mut self, buf: &mut BytesMut, cx: &Context<'_>, cas: bool, keys: &[u8]) -> Step {
        loop {
            let start = self.scan;
            let rest = &buf[start..];
            if rest.starts_with(b"END\r\n") {
                return self.finish_values(buf, start + 5);
            }
            // A well-formed header for the key awaited next is read in one
            // pass; anything else (incomplete, a miss, malformed, an error
            // line) goes the general way, which decides it the same.
            let header = match fast_header(rest, cas, keys, self.key_cursor, cx.limits) {
                Some(h) => h.at(start),
                None => match self.general_line(buf, start, cx, cas, keys) {
                    Line::Value(h) => h,
                    Line::Step(step) => return step,
                },
            };
            let data = header.data;
            if buf.len() - data < header.len.saturating_add(2) {
                self.need = data.saturating_add(header.len).saturating_add(2);
                return Step::Partial;
            }
            let end = data + header.len;
            if &buf[end..end + 2] != b"\r\n" {
                return Step::Fatal(Error::Protocol(format!(
                    "value of {} bytes for key {} is not followed by \\r\\n",
                    header.len,
                    escape(&buf[header.key.clone()])
                )));
            }
            self.key_cursor = header.next_cursor;
            self.items.push(RawItem {
                key: header.key.start + cx.prefix.len()..header.key.end,
                flags: header.flags,
                value: data..end,
                cas: header.cas,
            });
            self.scan = end + 2;
        }
    }

    /// Reads the line at `start` the general way: `END`, a `VALUE` header
    /// (checked against the keys awaited), an error line, or a broken
    /// stream. `Err` is the step to return.
    fn general_line(
        &mut self,
        buf: &mut BytesMut,
        start: usize,
        cx: &Context<'_>,
        cas: bool,
        keys: &[u8],
    ) -> Line {
        let eol = match find_line(buf, start, cx.limits) {
            Ok(Some(eol)) => eol,
            Ok(None) => return Line::Step(Step::Partial),
            Err(e) => return Line::Step(Step::Fatal(e)),
        };
        let line = &buf[start..eol];
        if line == b"END" {
            return Line::Step(self.finish_values(buf, eol + 2));
        }
        if let Some(rest) = line.strip_prefix(b"VALUE ") {
            let header = match parse_value_header(rest, cas, cx.limits) {
                Ok(h) => h,
                Err(e) => return Line::Step(Step::Fatal(e)),
            };
            // The key is checked at the header, before its value is
            // buffered; the cursor moves only once the item is complete.
            let key = start + 6 + header.key.start..start + 6 + header.key.end;
            let wire_key = &buf[key.clone()];
            let Some(next_cursor) = match_key(keys, self.key_cursor, wire_key) else {
                return Line::Step(Step::Fatal(Error::Protocol(format!(
                    "server returned key {}, which was not asked for{}",
                    escape(wire_key),
                    if self.items.is_empty() {
                        ""
                    } else {
                        " (or more values than keys)"
                    }
                ))));
            };
            return Line::Value(Header {
                key,
                flags: header.flags,
                len: header.len,
                cas: header.cas,
                data: eol + 2,
                next_cursor,
            });
        }
        if let Some(err) = error_line(line, cx.command) {
            let text = line_text(line);
            let _ = buf.split_to(eol + 2);
            // After VALUE blocks the server may or may not send END: the
            // stream cannot be trusted any more.
            return Line::Step(match (cx.after_noreply, self.items.is_empty()) {
                (true, _) => Step::Fatal(Error::NoreplyFailed(text)),
                (false, false) => Step::Fatal(err),
                (false, true) => Step::Done(Err(err)),
            });
        }
        Line::Step(Step::Fatal(Error::UnexpectedReply(line_text(line))))
    }

    /// Takes the reply, `total` bytes, off `buf` as one frame, and makes
    /// each item's key and value slices of it: one reference to the frame
    /// per key and value, the last value taking the frame's own.
    fn finish_values(&mut self, buf: &mut BytesMut, total: usize) -> Step {
        let mut frame = buf.split_to(total).freeze();
        let items = match self.items.split_last() {
            None => SmallVec::new(),
            // The common single hit, built in place.
            Some((last, [])) => {
                let key = frame.slice(last.key.clone());
                frame.truncate(last.value.end);
                frame.advance(last.value.start);
                SmallVec::from_buf([Item {
                    key,
                    flags: last.flags,
                    value: frame,
                    cas: last.cas,
                }])
            }
            Some((last, rest)) => {
                let mut items = SmallVec::with_capacity(rest.len() + 1);
                for it in rest {
                    items.push(Item {
                        key: frame.slice(it.key.clone()),
                        flags: it.flags,
                        value: frame.slice(it.value.clone()),
                        cas: it.cas,
                    });
                }
                let key = frame.slice(last.key.clone());
                frame.truncate(last.value.end);
                frame.advance(last.value.start);
                items.push(Item {
                    key,
                    flags: last.flags,
                    value: frame,
                    cas: last.cas,
                });
                items
            }
        };
        Step::Done(Ok(Reply::Values(items)))
    }

    fn stats(&mut self, buf: &mut BytesMut, cx: &Context<'_>) -> Step {
        loop {
            let start = self.scan;
            let eol = match find_line(buf, start, cx.limits) {
                Ok(Some(eol)) => eol,
                Ok(None) => return Step::Partial,
                Err(e) => return Step::Fatal(e),
            };
            let line = &buf[start..eol];
            if line == b"END" {
                let frame = buf.split_to(eol + 2).freeze();
                let pairs = self
                    .pairs
                    .drain(..)
                    .map(|(n, v)| (frame.slice(n), frame.slice(v)))
                    .collect();
                return Step::Done(Ok(Reply::Stats(pairs)));
            }
            if self.pairs.is_empty() && (line == b"RESET" || line == b"OK") {
                let _ = buf.split_to(eol + 2);
                return Step::Done(Ok(Reply::Ok));
            }
            let rest = line
                .strip_prefix(b"STAT ")
                .or_else(|| line.strip_prefix(b"ITEM "))
                .or_else(|| line.strip_prefix(b"PREFIX "));
            if let Some(rest) = rest {
                let offset = eol - rest.len();
                let (name, value) = match memchr::memchr(b' ', rest) {
                    Some(sp) => (offset..offset + sp, offset + sp + 1..eol),
                    None => (offset..eol, eol..eol),
                };
                if self.pairs.len() >= MAX_STAT_LINES || eol > MAX_STATS_BYTES {
                    return Step::Fatal(Error::Protocol(format!(
                        "stats reply has more than {MAX_STAT_LINES} lines or {MAX_STATS_BYTES} bytes"
                    )));
                }
                self.pairs.push((name, value));
                self.scan = eol + 2;
                continue;
            }
            if let Some(err) = error_line(line, cx.command) {
                let fatal = cx.after_noreply || !self.pairs.is_empty();
                let text = line_text(line);
                let _ = buf.split_to(eol + 2);
                return if fatal {
                    Step::Fatal(if cx.after_noreply {
                        Error::NoreplyFailed(text)
                    } else {
                        err
                    })
                } else {
                    Step::Done(Err(err))
                };
            }
            return Step::Fatal(Error::UnexpectedReply(line_text(line)));
        }
    }

    fn raw(&mut self, buf: &mut BytesMut, cx: &Context<'_>, terminator: &[u8]) -> Step {
        // An error line first is an error, as for every other command.
        match find_line(buf, 0, cx.limits) {
            Ok(Some(eol)) => {
                if let Some(err) = error_line(&buf[..eol], cx.command) {
                    let text = line_text(&buf[..eol]);
                    let _ = buf.split_to(eol + 2);
                    return if cx.after_noreply {
                        Step::Fatal(Error::NoreplyFailed(text))
                    } else {
                        Step::Done(Err(err))
                    };
                }
            }
            // An incomplete first line that is or may become an error line:
            // a terminator without `\n` (say `END`) found inside it now
            // would make the reply depend on how the bytes were split.
            Ok(None) if may_be_error_line(buf) => return Step::Partial,
            _ => {}
        }
        let limit = cx.limits.max_item_size.saturating_add(cx.limits.max_line);
        let from = self.scan.saturating_sub(terminator.len());
        // The reply's length: all of it once the terminator is found; before
        // that, all but a possible start of the terminator at the end. So the
        // limit gives the same answer however the bytes were split.
        let (found, len) = match memchr::memmem::find(&buf[from..], terminator) {
            Some(i) => (true, from + i),
            None => (
                false,
                buf.len().saturating_sub(terminator.len().saturating_sub(1)),
            ),
        };
        if len > limit {
            return Step::Fatal(Error::Protocol(format!(
                "raw reply longer than {limit} bytes before its terminator {}",
                escape(terminator)
            )));
        }
        if found {
            let frame = buf.split_to(len + terminator.len()).freeze();
            return Step::Done(Ok(Reply::Raw(frame.slice(..len))));
        }
        self.scan = buf.len();
        Step::Partial
    }
}

/// Parses a one-line reply.
fn single_line(buf: &mut BytesMut, cx: &Context<'_>) -> Step {
    let eol = match find_line(buf, 0, cx.limits) {
        Ok(Some(eol)) => eol,
        Ok(None) => return Step::Partial,
        Err(e) => return Step::Fatal(e),
    };
    let frame = buf.split_to(eol + 2).freeze();
    let line = &frame[..eol];
    if let Some(err) = error_line(line, cx.command) {
        return if cx.after_noreply {
            Step::Fatal(Error::NoreplyFailed(line_text(line)))
        } else {
            Step::Done(Err(err))
        };
    }
    let reply = match (cx.expect, line) {
        (Expect::Store { .. }, b"STORED") => Some(Reply::Stored),
        (Expect::Store { cas: false }, b"NOT_STORED") => Some(Reply::NotStored),
        (Expect::Store { cas: true }, b"EXISTS") => Some(Reply::Exists),
        (Expect::Store { cas: true }, b"NOT_FOUND") => Some(Reply::NotFound),
        (Expect::Delete, b"DELETED") => Some(Reply::Deleted),
        (Expect::Touch, b"TOUCHED") => Some(Reply::Touched),
        (Expect::Delete | Expect::Touch | Expect::Arith, b"NOT_FOUND") => Some(Reply::NotFound),
        (Expect::Arith, _) => parse_u64(trim_end_spaces(line)).map(Reply::Number),
        (Expect::Version, _) => line
            .strip_prefix(b"VERSION ")
            .map(|_| Reply::Version(frame.slice(8..eol))),
        (Expect::Ok, b"OK") => Some(Reply::Ok),
        _ => None,
    };
    match reply {
        Some(r) => Step::Done(Ok(r)),
        None => Step::Fatal(Error::UnexpectedReply(line_text(line))),
    }
}

/// Finds the end of the line starting at `from`: the index of its `\r`.
pub(crate) fn find_line(buf: &[u8], from: usize, limits: &Limits) -> Result<Option<usize>, Error> {
    let max = limits.max_line.saturating_add(2);
    let window = &buf[from..buf.len().min(from.saturating_add(max))];
    match memchr::memchr(b'\n', window) {
        Some(i) if i > 0 && window[i - 1] == b'\r' => Ok(Some(from + i - 1)),
        Some(i) => Err(Error::Protocol(format!(
            "reply line {} ends in \\n without \\r",
            escape(&window[..=i])
        ))),
        None if window.len() >= max => Err(Error::Protocol(format!(
            "reply line longer than {} bytes: {}",
            limits.max_line,
            escape(&window[..64.min(window.len())])
        ))),
        None => Ok(None),
    }
}

/// Returns true if `start`, the start of an incomplete line, is or may
/// become an error line.
fn may_be_error_line(start: &[u8]) -> bool {
    [&b"ERROR"[..], b"CLIENT_ERROR", b"SERVER_ERROR"]
        .iter()
        .any(|p| start.starts_with(p) || p.starts_with(start))
}

/// Maps an error line to its error, or `None` for any other line.
pub(crate) fn error_line(line: &[u8], command: &'static str) -> Option<Error> {
    let message = |l: &[u8]| match memchr::memchr(b' ', l) {
        Some(sp) => line_text(&l[sp + 1..]),
        None => line_text(l),
    };
    if line.starts_with(b"CLIENT_ERROR") {
        Some(Error::Client(message(line)))
    } else if line.starts_with(b"SERVER_ERROR") {
        Some(Error::Server(message(line)))
    } else if line.starts_with(b"ERROR") {
        Some(Error::UnknownCommand {
            command: command.into(),
            line: line_text(line),
        })
    } else {
        None
    }
}

/// What a line of a retrieval reply read the general way gives.
enum Line {
    /// A `VALUE` header whose value is to be taken.
    Value(Header),
    /// The step to return: the reply, an error, or waiting for more.
    Step(Step),
}

/// Parses ASCII digits into a u64; `None` for anything else or overflow.
pub(crate) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

fn trim_end_spaces(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}
