//! An in-memory memcached: a sans-IO model of the server (cargo feature
//! `model`).
//!
//! [`Model`] takes the bytes a client wrote, in any split, and appends the
//! bytes memcached 1.6 would answer: the classic text commands (storage
//! with noreply, `get`/`gets`/`gat`/`gats` over many keys, `touch`,
//! `delete`, `incr`/`decr`, `flush_all` with a delay, `version`,
//! `verbosity`, `cache_memlimit`, `stats`, `quit`) and the meta commands
//! (`mg`, `ms`, `md`, `ma`, `mn`, `me` with quiet mode, opaque tokens,
//! base64 keys, the return flags, set and arithmetic modes, vivify and
//! recache, invalidation). Errors are memcached's own lines.
//!
//! Semantics follow memcached 1.6.18, checked against a real server: one
//! global cas counter; TTLs in seconds, relative up to 30 days and a Unix
//! time above (the model's Unix clock is [`Model::set_unix_time`]), negative
//! ones expired at once; incr wraps at 2^64 and decr floors at 0, a shorter
//! result overwriting the old digits in place padded with spaces (what
//! memcached does when no other connection holds the item); append and
//! prepend keep flags and TTL; an item over the size limit is refused with
//! `SERVER_ERROR object too large for cache` (and a failed `set` removes the
//! old value); `flush_all` with a delay invalidates what was last touched
//! before it fires.
//!
//! Time is passed in ([`Millis`], as to a [`Connection`](crate::Connection));
//! memcached's clock has whole seconds, so does the model's.
//!
//! # Example
//!
//! ```
//! use memcrab_core::model::{Model, ModelConfig};
//! use memcrab_core::Millis;
//!
//! let mut server = Model::new(ModelConfig::default());
//! server.receive(b"set k 5 0 2\r\nhi\r\nget k", Millis(0));
//! server.receive(b"\r\n", Millis(0));
//! assert_eq!(server.transmit(), b"STORED\r\nVALUE k 5 2\r\nhi\r\nEND\r\n");
//! server.receive(b"ms k 1 T1 q\r\nx\r\nmg k v\r\n", Millis(10));
//! server.receive(b"mg k v\r\n", Millis(1_000));
//! assert_eq!(&server.take_transmit()[30..], b"VA 1\r\nx\r\nEN\r\n");
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use crate::time::Millis;

mod meta;
mod stats;
mod store;
#[cfg(test)]
mod tests;
mod text;

use store::Store;

/// The longest command line buffered without a `\n` (memcached closes the
/// connection past 2048 bytes, except for a long `get`).
const MAX_LINE: usize = 2048;
/// The longest `get` line buffered.
const MAX_GET_LINE: usize = 1024 * 1024;

/// Settings of a [`Model`].
///
/// # Example
///
/// ```
/// use memcrab_core::model::ModelConfig;
///
/// let config = ModelConfig { max_item_size: 4096, ..ModelConfig::default() };
/// assert_eq!(config.version, "1.6.18");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// memcached's `-I`: the largest item (key, value and memcached's
    /// 59-byte header) stored; default 1 MiB.
    pub max_item_size: usize,
    /// The Unix time, in seconds, at [`Millis(0)`](Millis); TTLs over 30
    /// days are Unix times on this clock.
    pub unix_time_at_origin: u64,
    /// The version `version` and `stats` report.
    pub version: String,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            max_item_size: 1024 * 1024,
            unix_time_at_origin: 1_700_000_000,
            version: String::from("1.6.18"),
        }
    }
}

/// What one command line did with the input.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Its line only.
    Line,
    /// Its line and this many bytes of data after it.
    Data(usize),
    /// Its line; the next this many bytes are to be discarded.
    Swallow(usize),
    /// Its data is not all here yet; nothing consumed.
    NeedMore,
    /// `quit`: the connection closes.
    Close,
}

/// What a command handler works on.
struct Ctx<'a> {
    store: &'a mut Store,
    out: &'a mut Vec<u8>,
    /// Model seconds since the origin.
    now: u64,
    /// The connection the command came on.
    conn: usize,
    /// The command said `noreply`: its lines are not sent.
    noreply: bool,
    version: &'a str,
    /// Open connections and connections ever opened, for `stats`.
    open: u64,
    connections: u64,
}

impl Ctx<'_> {
    /// Sends one reply line (unless noreply).
    fn line(&mut self, line: &[u8]) {
        if !self.noreply {
            self.out.extend_from_slice(line);
            self.out.extend_from_slice(b"\r\n");
        }
    }
}

/// memcached's `current_time` at [`Millis(0)`](Millis): its clock starts
/// 62 seconds after the `process_started` it measures from.
const CLOCK_START: u64 = 62;

/// memcached's `current_time` (whole seconds) at `now`.
fn seconds(now: Millis) -> u64 {
    now.0 / 1000 + CLOCK_START
}

/// Appends a space and `n`.
fn put_num(out: &mut Vec<u8>, n: u64) {
    let mut buf = itoa::Buffer::new();
    out.push(b' ');
    out.extend_from_slice(buf.format(n).as_bytes());
}

/// Identifies one client connection to a [`Model`]; the connection
/// [`Model::new`] opens is `ConnectionId(0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub usize);

/// One client connection's byte streams.
#[derive(Clone, Debug, Default)]
struct Session {
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// Bytes still to discard (the data of a refused storage command).
    swallow: usize,
    closed: bool,
}

/// One memcached server in memory, with its client connections.
///
/// # Methods by kind
///
/// - Inputs: [`receive`](Self::receive) (what the client wrote, any split,
///   with the current time), [`reconnect`](Self::reconnect) (a new client
///   connection: same items, fresh byte stream),
///   [`set_unix_time`](Self::set_unix_time).
/// - Outputs: [`transmit`](Self::transmit) and
///   [`advance_transmit`](Self::advance_transmit), or
///   [`take_transmit`](Self::take_transmit): what the server answered.
/// - Getters: [`is_closed`](Self::is_closed) (after `quit`, or a line too
///   long), [`item_count`](Self::item_count), [`peek`](Self::peek).
///
/// Those work on the first connection. More connections to the same items
/// (a pool) come from [`connect`](Self::connect), with the same methods
/// suffixed `_on` taking a [`ConnectionId`]; an unknown id is a closed
/// connection.
///
/// Commands run as soon as they are complete, in order; every answer is
/// appended to the output. An `mg` reply holds its item until the client
/// takes it (as memcached's reply objects do), so an incr/decr of that item
/// meanwhile makes a new item instead of rewriting it in place.
///
/// # Example
///
/// ```
/// use memcrab_core::model::{Model, ModelConfig};
/// use memcrab_core::Millis;
///
/// let mut server = Model::new(ModelConfig::default());
/// server.receive(b"incr n 1\r\nquit\r\n", Millis(0));
/// assert_eq!(server.take_transmit(), b"NOT_FOUND\r\n");
/// assert!(server.is_closed());
///
/// let other = server.connect();
/// server.receive_on(other, b"set n 0 0 1\r\n7\r\n", Millis(0));
/// assert_eq!(server.take_transmit_on(other), b"STORED\r\n");
/// ```
#[derive(Clone, Debug)]
pub struct Model {
    store: Store,
    version: String,
    sessions: Vec<Session>,
    connections: u64,
}

/// The first connection's id.
const FIRST: ConnectionId = ConnectionId(0);

impl Model {
    /// Creates an empty server with one open connection.
    #[must_use]
    pub fn new(config: ModelConfig) -> Model {
        Model {
            store: Store::new(config.max_item_size, config.unix_time_at_origin),
            version: config.version,
            sessions: alloc::vec![Session::default()],
            connections: 1,
        }
    }

    /// Takes bytes the client wrote at time `now` and runs every command
    /// they complete. Ignored once the connection is closed.
    pub fn receive(&mut self, data: &[u8], now: Millis) {
        self.receive_on(FIRST, data, now);
    }

    /// [`receive`](Self::receive) on connection `conn`.
    pub fn receive_on(&mut self, conn: ConnectionId, data: &[u8], now: Millis) {
        let open = self.sessions.iter().filter(|s| !s.closed).count() as u64;
        let Some(session) = self.sessions.get_mut(conn.0) else {
            return;
        };
        if session.closed {
            return;
        }
        session.rx.extend_from_slice(data);
        let now = seconds(now);
        let mut at = 0;
        while !session.closed {
            let input = &session.rx[at..];
            if session.swallow > 0 {
                let n = session.swallow.min(input.len());
                session.swallow -= n;
                at += n;
                if session.swallow > 0 {
                    break;
                }
                continue;
            }
            let Some(nl) = memchr::memchr(b'\n', input) else {
                let start = input.iter().take_while(|&&b| b == b' ').count();
                let long_get =
                    input[start..].starts_with(b"get ") || input[start..].starts_with(b"gets ");
                if input.len() > MAX_GET_LINE || (input.len() > MAX_LINE && !long_get) {
                    session.closed = true;
                }
                break;
            };
            let line = input[..nl].strip_suffix(b"\r").unwrap_or(&input[..nl]);
            let tokens: Vec<&[u8]> = line
                .split(|&b| b == b' ')
                .filter(|t| !t.is_empty())
                .collect();
            let mut cx = Ctx {
                store: &mut self.store,
                out: &mut session.tx,
                conn: conn.0,
                now,
                noreply: false,
                version: &self.version,
                open,
                connections: self.connections,
            };
            let rest = &input[nl + 1..];
            let step = match tokens.first() {
                Some(c) if c.len() == 2 && c[0] == b'm' => meta::command(&mut cx, &tokens, rest),
                Some(c) if c.len() >= 2 => text::command(&mut cx, &tokens, rest),
                _ => {
                    cx.line(b"ERROR");
                    Step::Line
                }
            };
            match step {
                Step::Line => at += nl + 1,
                Step::Data(n) => at += nl + 1 + n,
                Step::Swallow(n) => {
                    at += nl + 1;
                    session.swallow = n;
                }
                Step::NeedMore => break,
                Step::Close => {
                    session.closed = true;
                    at = session.rx.len();
                }
            }
        }
        session.rx.drain(..at.min(session.rx.len()));
        if session.closed {
            session.rx.clear();
        }
    }

    /// Returns the bytes the server answered that were not taken yet.
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.transmit_on(FIRST)
    }

    /// [`transmit`](Self::transmit) on connection `conn`.
    #[must_use]
    pub fn transmit_on(&self, conn: ConnectionId) -> &[u8] {
        self.sessions.get(conn.0).map_or(&[], |s| &s.tx[..])
    }

    /// Discards the first `n` bytes of [`transmit`](Self::transmit).
    ///
    /// # Panics
    ///
    /// Panics if `n` is larger than `transmit().len()`.
    pub fn advance_transmit(&mut self, n: usize) {
        self.advance_transmit_on(FIRST, n);
    }

    /// [`advance_transmit`](Self::advance_transmit) on connection `conn`.
    ///
    /// # Panics
    ///
    /// Panics if `n` is larger than `transmit_on(conn).len()`.
    pub fn advance_transmit_on(&mut self, conn: ConnectionId, n: usize) {
        if let Some(s) = self.sessions.get_mut(conn.0) {
            s.tx.drain(..n);
            if s.tx.is_empty() {
                self.store.release(conn.0);
            }
        }
    }

    /// Takes every byte the server answered so far.
    #[must_use]
    pub fn take_transmit(&mut self) -> Vec<u8> {
        self.take_transmit_on(FIRST)
    }

    /// [`take_transmit`](Self::take_transmit) on connection `conn`.
    #[must_use]
    pub fn take_transmit_on(&mut self, conn: ConnectionId) -> Vec<u8> {
        // Written replies hold no item any more.
        self.store.release(conn.0);
        self.sessions
            .get_mut(conn.0)
            .map(|s| core::mem::take(&mut s.tx))
            .unwrap_or_default()
    }

    /// Returns true once the server closed the connection (`quit`, or a
    /// command line longer than memcached buffers).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.is_closed_on(FIRST)
    }

    /// [`is_closed`](Self::is_closed) for connection `conn`.
    #[must_use]
    pub fn is_closed_on(&self, conn: ConnectionId) -> bool {
        self.sessions.get(conn.0).is_none_or(|s| s.closed)
    }

    /// Opens another client connection to the same items.
    pub fn connect(&mut self) -> ConnectionId {
        self.connections += 1;
        self.sessions.push(Session::default());
        ConnectionId(self.sessions.len() - 1)
    }

    /// Closes connection `conn` from the client's side (its unread input
    /// and unsent output are dropped).
    pub fn disconnect(&mut self, conn: ConnectionId) {
        if let Some(s) = self.sessions.get_mut(conn.0) {
            *s = Session {
                closed: true,
                ..Session::default()
            };
            self.store.release(conn.0);
        }
    }

    /// Replaces the first connection with a new one: the items stay, the
    /// byte streams and the closed state start afresh.
    pub fn reconnect(&mut self) {
        self.store.release(FIRST.0);
        self.sessions[FIRST.0] = Session::default();
        self.connections += 1;
    }

    /// Sets the server's Unix clock: `unix_seconds` at time `now`.
    pub fn set_unix_time(&mut self, unix_seconds: u64, now: Millis) {
        self.store.unix_origin = unix_seconds.saturating_sub(now.0 / 1000);
    }

    /// Returns the Unix time, in seconds, at time `now`.
    #[must_use]
    pub fn unix_time(&self, now: Millis) -> u64 {
        self.store.unix_origin + now.0 / 1000
    }

    /// Returns the number of live items at time `now`.
    #[must_use]
    pub fn item_count(&self, now: Millis) -> u64 {
        self.store.usage(seconds(now)).0
    }

    /// Returns the value and flags of `key` at time `now`, if it is live,
    /// without touching it.
    #[must_use]
    pub fn peek(&mut self, key: &[u8], now: Millis) -> Option<(&[u8], u32)> {
        self.store
            .peek(key, seconds(now))
            .map(|it| (&it.value[..], it.flags))
    }
}
