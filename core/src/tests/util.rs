//! Shared test helpers: feeding replies in pieces, a tiny scripted memcached
//! model, and a `Pair` that links a `Connection` to it in memory.
//!
//! The model is small on purpose: it understands every command the encoder
//! writes, keeps items in a map, and answers as memcached 1.6 does for the
//! cases the tests need (including `SERVER_ERROR object too large for cache`
//! for a noreply store, which memcached sends anyway).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use crate::{Connection, Error, KeyPolicy, Limits, Millis, Reply, Request, RequestId};

/// One result of `Connection::poll`.
pub(crate) type Polled = (RequestId, Result<Reply, Error>);

/// A deterministic xorshift64* generator, so tests need no `rand`.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Polls until `None` and returns everything; fails if `poll` keeps
/// returning replies past the number of requests in flight (a livelock).
pub(crate) fn poll_all(conn: &mut Connection) -> Vec<Polled> {
    let bound = conn.in_flight() + 1;
    let mut out = Vec::new();
    for _ in 0..bound {
        match conn.poll() {
            Some(r) => out.push(r),
            None => return out,
        }
    }
    panic!(
        "poll() returned {} results with only {} requests in flight",
        out.len(),
        bound - 1
    );
}

/// Feeds `chunks` one by one, polling after each, and returns every result.
pub(crate) fn feed<'a>(
    conn: &mut Connection,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Polled> {
    let mut out = Vec::new();
    for chunk in chunks {
        conn.receive(chunk);
        out.extend(poll_all(conn));
    }
    out
}

/// A fresh connection with `requests` submitted (their bytes discarded).
pub(crate) fn conn_with(
    policy: &KeyPolicy,
    limits: Limits,
    requests: &[Request<'_>],
) -> (Connection, Vec<RequestId>) {
    let mut conn = Connection::with_config(policy.clone(), limits);
    let ids = requests
        .iter()
        .map(|r| conn.submit(r, None).expect("request is valid"))
        .collect();
    let n = conn.transmit().len();
    conn.advance_transmit(n);
    (conn, ids)
}

/// What one request should come back with.
pub(crate) struct Case<'a> {
    pub(crate) policy: KeyPolicy,
    pub(crate) limits: Limits,
    pub(crate) request: Request<'a>,
    pub(crate) bytes: &'a [u8],
    pub(crate) expect: Result<Reply, Error>,
}

impl<'a> Case<'a> {
    pub(crate) fn new(request: Request<'a>, bytes: &'a [u8], expect: Result<Reply, Error>) -> Self {
        Case {
            policy: KeyPolicy::default(),
            limits: Limits::default(),
            request,
            bytes,
            expect,
        }
    }

    /// Feeds the reply in `chunks` and returns the results.
    pub(crate) fn run<'c>(&self, chunks: impl IntoIterator<Item = &'c [u8]>) -> Vec<Polled> {
        let (mut conn, _) = conn_with(&self.policy, self.limits, &[self.request]);
        feed(&mut conn, chunks)
    }

    /// Asserts the expected result for the whole buffer, for every split in
    /// two, and for one byte at a time.
    pub(crate) fn assert_every_split(&self) {
        let want = [(RequestId(0), self.expect.clone())];
        assert_eq!(
            self.run([self.bytes]),
            want,
            "whole buffer {:?}",
            self.name()
        );
        for at in 0..=self.bytes.len() {
            let (a, b) = self.bytes.split_at(at);
            assert_eq!(self.run([a, b]), want, "{:?} split at {at}", self.name());
        }
        let bytes = self.bytes.chunks(1);
        assert_eq!(self.run(bytes), want, "{:?} byte by byte", self.name());
    }

    /// Asserts that every strict prefix is incomplete: no reply, no error.
    pub(crate) fn assert_every_prefix_waits(&self) {
        for at in 0..self.bytes.len() {
            let (mut conn, _) = conn_with(&self.policy, self.limits, &[self.request]);
            conn.receive(&self.bytes[..at]);
            assert_eq!(conn.poll(), None, "{:?} prefix of {at}", self.name());
            assert_eq!(conn.error(), None, "{:?} prefix of {at}", self.name());
            assert!(!conn.is_closed());
            assert_eq!(conn.in_flight(), 1);
        }
    }

    /// Asserts that the parser takes exactly its reply off the stream: the
    /// bytes after it are left, untouched, for the next request (a raw probe
    /// that returns everything up to a marker).
    pub(crate) fn assert_padded(&self) {
        let probe = Request::Raw {
            line: b"probe",
            terminator: b"<<END>>",
        };
        let padding: &[u8] = b"PADDING \x00\xff\r\nEND\r\nVALUE x 0 1\r\n";
        let mut bytes = self.bytes.to_vec();
        bytes.extend_from_slice(padding);
        bytes.extend_from_slice(b"<<END>>");
        let want = [
            (RequestId(0), self.expect.clone()),
            (
                RequestId(1),
                Ok(Reply::Raw(bytes::Bytes::from_static(padding))),
            ),
        ];
        for at in 0..=bytes.len() {
            let (mut conn, _) = conn_with(&self.policy, self.limits, &[self.request, probe]);
            let (a, b) = bytes.split_at(at);
            assert_eq!(
                feed(&mut conn, [a, b]),
                want,
                "{:?} padded, split at {at}",
                self.name()
            );
            assert!(!conn.is_closed());
        }
    }

    /// Asserts that two pipelined copies of the request get two copies of
    /// the reply, for every split of the doubled bytes.
    pub(crate) fn assert_pipelined_twice(&self) {
        let bytes = [self.bytes, self.bytes].concat();
        let want = [
            (RequestId(0), self.expect.clone()),
            (RequestId(1), self.expect.clone()),
        ];
        for at in 0..=bytes.len() {
            let (mut conn, _) = conn_with(&self.policy, self.limits, &[self.request, self.request]);
            let (a, b) = bytes.split_at(at);
            assert_eq!(
                feed(&mut conn, [a, b]),
                want,
                "{:?} twice, split at {at}",
                self.name()
            );
        }
    }

    fn name(&self) -> alloc::string::String {
        format!("{:?} <- {}", self.request, crate::error::escape(self.bytes))
    }
}

#[derive(Clone, Debug)]
struct Entry {
    flags: u32,
    value: Vec<u8>,
    cas: u64,
}

/// A tiny memcached: parses the client's bytes as memcached would and
/// answers from an in-memory map.
#[derive(Debug, Default)]
pub(crate) struct Server {
    items: BTreeMap<Vec<u8>, Entry>,
    next_cas: u64,
    /// Client bytes not yet executed (swap per connection to share the
    /// items between connections).
    pub(crate) input: Vec<u8>,
    /// Bytes written to the client, not yet taken.
    pub(crate) output: Vec<u8>,
    /// Values above this are refused with `SERVER_ERROR object too large for
    /// cache` (0: no limit).
    pub(crate) max_item: usize,
    /// The server closed the connection (quit or shutdown).
    pub(crate) closed: bool,
    /// Commands executed so far.
    pub(crate) commands: usize,
}

impl Server {
    pub(crate) fn new() -> Self {
        Server::default()
    }

    /// Takes client bytes and runs every complete command in them.
    pub(crate) fn receive(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        while !self.closed {
            match self.step() {
                Some(n) => {
                    self.input.drain(..n);
                    self.commands += 1;
                }
                None => break,
            }
        }
    }

    fn reply(&mut self, line: &[u8]) {
        self.output.extend_from_slice(line);
        self.output.extend_from_slice(b"\r\n");
    }

    /// Runs the first complete command; returns the bytes it took.
    fn step(&mut self) -> Option<usize> {
        let eol = memchr::memmem::find(&self.input, b"\r\n")?;
        let line = self.input[..eol].to_vec();
        let t: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let noreply = t.len() > 1 && t[t.len() - 1] == b"noreply";
        let num = |i: usize| -> Option<u64> { core::str::from_utf8(t.get(i)?).ok()?.parse().ok() };
        let inum = |i: usize| -> Option<i64> { core::str::from_utf8(t.get(i)?).ok()?.parse().ok() };
        let mut used = eol + 2;
        let mut out: Option<&[u8]> = None;
        let mut owned = Vec::new();
        match t[0] {
            b"set" | b"add" | b"replace" | b"append" | b"prepend" | b"cas" => {
                let (Some(flags), Some(len)) = (num(2), num(4)) else {
                    self.reply(b"CLIENT_ERROR bad command line format");
                    return Some(used);
                };
                let len = len as usize;
                if self.input.len() < used + len + 2 {
                    return None;
                }
                let data = self.input[used..used + len].to_vec();
                let trailer_ok = &self.input[used + len..used + len + 2] == b"\r\n";
                used += len + 2;
                if !trailer_ok {
                    self.reply(b"CLIENT_ERROR bad data chunk");
                    return Some(used);
                }
                if self.max_item > 0 && len > self.max_item {
                    // Sent even for noreply, as memcached does.
                    self.reply(b"SERVER_ERROR object too large for cache");
                    return Some(used);
                }
                let key = t[1].to_vec();
                let existing = self.items.get(&key).cloned();
                let stored = match (t[0], existing) {
                    (b"add", Some(_)) | (b"replace" | b"append" | b"prepend", None) => {
                        Err(b"NOT_STORED".as_slice())
                    }
                    (b"cas", None) => Err(b"NOT_FOUND".as_slice()),
                    (b"cas", Some(e)) if Some(e.cas) != num(5) => Err(b"EXISTS".as_slice()),
                    (b"append", Some(e)) => Ok((e.flags, [e.value, data].concat())),
                    (b"prepend", Some(e)) => Ok((e.flags, [data, e.value].concat())),
                    _ => Ok((flags as u32, data)),
                };
                out = Some(match stored {
                    Ok((flags, value)) => {
                        self.next_cas += 1;
                        let cas = self.next_cas;
                        self.items.insert(key, Entry { flags, value, cas });
                        b"STORED"
                    }
                    Err(line) => line,
                });
            }
            b"get" | b"gets" | b"gat" | b"gats" => {
                let with_cas = t[0].ends_with(b"s");
                let first = if t[0].starts_with(b"gat") { 2 } else { 1 };
                for key in &t[first..] {
                    if let Some(e) = self.items.get(*key) {
                        owned.extend_from_slice(b"VALUE ");
                        owned.extend_from_slice(key);
                        owned.extend_from_slice(
                            format!(" {} {}", e.flags, e.value.len()).as_bytes(),
                        );
                        if with_cas {
                            owned.extend_from_slice(format!(" {}", e.cas).as_bytes());
                        }
                        owned.extend_from_slice(b"\r\n");
                        owned.extend_from_slice(&e.value);
                        owned.extend_from_slice(b"\r\n");
                    }
                }
                owned.extend_from_slice(b"END");
            }
            b"touch" => {
                out = Some(if self.items.contains_key(t[1]) {
                    b"TOUCHED"
                } else {
                    b"NOT_FOUND"
                });
            }
            b"delete" => {
                out = Some(if self.items.remove(t[1]).is_some() {
                    b"DELETED"
                } else {
                    b"NOT_FOUND"
                });
            }
            b"incr" | b"decr" => match (self.items.get_mut(t[1]), num(2)) {
                (None, _) => out = Some(b"NOT_FOUND"),
                (Some(_), None) => out = Some(b"CLIENT_ERROR invalid numeric delta argument"),
                (Some(e), Some(delta)) => {
                    let Some(n) = core::str::from_utf8(&e.value)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                    else {
                        self.reply(b"CLIENT_ERROR cannot increment or decrement non-numeric value");
                        return Some(used);
                    };
                    let n = if t[0] == b"incr" {
                        n.wrapping_add(delta)
                    } else {
                        n.saturating_sub(delta)
                    };
                    e.value = format!("{n}").into_bytes();
                    owned = e.value.clone();
                }
            },
            b"stats" => match t.get(1).copied() {
                None => {
                    let n = self.items.len();
                    owned =
                        format!("STAT pid 1\r\nSTAT curr_items {n}\r\nSTAT version 1.6.99\r\nEND")
                            .into_bytes();
                }
                Some(b"reset") => out = Some(b"RESET"),
                Some(_) => out = Some(b"ERROR"),
            },
            b"version" => out = Some(b"VERSION 1.6.99"),
            b"flush_all" if inum(1).is_some() => {
                self.items.clear();
                out = Some(b"OK");
            }
            b"verbosity" | b"cache_memlimit" if num(1).is_some() => out = Some(b"OK"),
            b"quit" | b"shutdown" => {
                self.closed = true;
                return Some(used);
            }
            _ => {
                // Errors are sent even for noreply.
                self.reply(b"ERROR");
                return Some(used);
            }
        }
        if !noreply {
            match out {
                Some(line) => self.reply(line),
                None => self.reply(&owned),
            }
        }
        Some(used)
    }
}

/// Edits bytes in flight (rustls's `transfer_altered`).
pub(crate) type Filter = Box<dyn FnMut(&mut Vec<u8>)>;

/// A `Connection` and a `Server` linked in memory, with a virtual clock and
/// a link that moves a random number of bytes per step in each direction.
pub(crate) struct Pair {
    pub(crate) conn: Connection,
    pub(crate) server: Server,
    /// Virtual time; advanced by `tick` per step.
    pub(crate) now: Millis,
    pub(crate) tick: u64,
    /// At most this many bytes move per direction per step.
    pub(crate) max_chunk: usize,
    /// While true the server reads nothing (a stalled server).
    pub(crate) stalled: bool,
    /// Edits the server's bytes before the client sees them.
    pub(crate) filter: Option<Filter>,
    to_client: Vec<u8>,
    eof_sent: bool,
    rng: Rng,
    /// Every result polled so far.
    pub(crate) polled: Vec<Polled>,
}

impl Pair {
    pub(crate) fn new(seed: u64) -> Self {
        Pair::with_conn(Connection::new(), seed)
    }

    pub(crate) fn with_conn(conn: Connection, seed: u64) -> Self {
        Pair {
            conn,
            server: Server::new(),
            now: Millis(0),
            tick: 1,
            max_chunk: 64,
            stalled: false,
            filter: None,
            to_client: Vec::new(),
            eof_sent: false,
            rng: Rng::new(seed),
            polled: Vec::new(),
        }
    }

    /// Submits `request` with no deadline; panics on illegal input.
    pub(crate) fn submit(&mut self, request: &Request<'_>) -> RequestId {
        self.conn.submit(request, None).expect("request is valid")
    }

    /// Moves one chunk each way, advances time, polls. Returns true if any
    /// byte moved or any result came out.
    pub(crate) fn step(&mut self) -> bool {
        let mut progress = false;
        if !self.stalled && !self.server.closed && self.conn.wants_write() {
            let n = self
                .rng
                .range(1, self.max_chunk)
                .min(self.conn.transmit().len());
            self.server.receive(&self.conn.transmit()[..n]);
            self.conn.advance_transmit(n);
            progress = true;
        }
        if !self.server.output.is_empty() {
            let mut out = core::mem::take(&mut self.server.output);
            if let Some(filter) = &mut self.filter {
                filter(&mut out);
            }
            self.to_client.extend_from_slice(&out);
        }
        if !self.to_client.is_empty() {
            let n = self.rng.range(1, self.max_chunk).min(self.to_client.len());
            self.conn.receive(&self.to_client[..n]);
            self.to_client.drain(..n);
            progress = true;
        } else if self.server.closed && !self.eof_sent {
            self.conn.receive_eof();
            self.eof_sent = true;
            progress = true;
        }
        self.now = Millis(self.now.0 + self.tick);
        self.conn.handle_timeout(self.now);
        let polled = poll_all(&mut self.conn);
        progress |= !polled.is_empty();
        self.polled.extend(polled);
        progress
    }

    /// Steps until nothing moves; panics after `max_steps` (livelock).
    pub(crate) fn drive_bounded(&mut self, max_steps: usize) {
        for _ in 0..max_steps {
            if !self.step() {
                return;
            }
        }
        panic!("pair still busy after {max_steps} steps");
    }

    /// Steps until nothing moves.
    pub(crate) fn drive(&mut self) {
        self.drive_bounded(1_000_000);
    }
}
