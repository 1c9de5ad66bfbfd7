//! The connection state machine: requests in, bytes out, bytes in, replies out.

use alloc::collections::VecDeque;

use bytes::{Buf, BytesMut};
use smallvec::SmallVec;

use crate::error::{line_text, Error};
use crate::key::KeyPolicy;
use crate::limits::Limits;
use crate::meta::{self, MetaRequest, Shape};
use crate::text::{self, Context, Expect, Item, Parser, Reply, Request, Step};
use crate::time::Millis;

mod meta_replies;
mod pending;
mod receive;

use pending::{Awaits, Pending};

/// Which protocol carries the classic commands.
///
/// With [`Protocol::Meta`], the keyed classic requests (storage, retrieval,
/// touch, delete, incr/decr) are sent as meta commands and their replies
/// mapped back, so callers see the same [`Reply`]s; noreply becomes quiet
/// mode, whose failures are reported instead of lost. Commands without a
/// meta form (stats, version, flush_all, …) stay classic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// memcached's classic text commands (what pymemcache speaks).
    #[default]
    Text,
    /// memcached's meta commands (memcached 1.6 and later).
    Meta,
}

/// Identifies a submitted request; its reply comes back with the same id.
///
/// Ids increase by one per submitted request, starting at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// One connection to one memcached server, without the socket.
///
/// A `Connection` encodes requests into its outgoing buffer, parses the
/// bytes its transport received, and hands back each reply with the
/// [`RequestId`] of the request it answers, in order. Many requests may be in
/// flight (pipelining). It never reads a clock: deadlines and the current
/// time are passed in as [`Millis`].
///
/// # Methods by kind
///
/// - Inputs: [`submit`](Self::submit) (a request), [`receive`](Self::receive)
///   and [`receive_eof`](Self::receive_eof) (what the socket read),
///   [`handle_timeout`](Self::handle_timeout) (the current time),
///   [`advance_transmit`](Self::advance_transmit) (what the socket wrote).
/// - Outputs: [`transmit`](Self::transmit) (bytes to write),
///   [`poll`](Self::poll) (completed replies),
///   [`poll_timeout`](Self::poll_timeout) (when to call `handle_timeout`).
/// - Getters: [`is_closed`](Self::is_closed), [`error`](Self::error),
///   [`in_flight`](Self::in_flight), [`wants_write`](Self::wants_write).
///
/// A driver, after any input: writes `transmit()` and calls
/// `advance_transmit(n)` with what the socket took; reads `poll_timeout()`;
/// calls `poll()` until it returns `None`.
///
/// # Errors are sticky
///
/// A broken stream (a malformed reply, a timeout, the server closing, an
/// error line that cannot be attributed) closes the connection: every
/// pending request gets the error from `poll`, later `submit`s return it, and
/// [`is_closed`](Self::is_closed) is true. A memcached stream cannot be
/// resynchronised, so a closed `Connection` is dropped and a new one made
/// for a new socket. Illegal input and the server's own error lines
/// (`SERVER_ERROR …` for one request) leave it open.
///
/// # noreply
///
/// A noreply request awaits nothing. memcached still sends an error line when
/// it refuses one; the text protocol cannot say which request such a line
/// belongs to, so when an error line arrives where a noreply request may have
/// caused it, the connection closes with [`Error::NoreplyFailed`] rather
/// than hand the error to the wrong request.
///
/// # Example
///
/// ```
/// use memcrab_core::{Connection, Reply, Request, StoreCommand};
///
/// let mut conn = Connection::new();
/// let id = conn
///     .submit(
///         &Request::Store {
///             command: StoreCommand::Set,
///             key: b"k",
///             value: b"v",
///             flags: 0,
///             exptime: 0,
///             noreply: false,
///         },
///         None,
///     )
///     .unwrap();
/// assert_eq!(conn.transmit(), b"set k 0 0 1\r\nv\r\n");
/// let n = conn.transmit().len();
/// conn.advance_transmit(n);
///
/// conn.receive(b"STORED\r\n");
/// assert_eq!(conn.poll(), Some((id, Ok(Reply::Stored))));
/// assert_eq!(conn.poll(), None);
/// ```
#[derive(Debug)]
pub struct Connection {
    policy: KeyPolicy,
    limits: Limits,
    tx: BytesMut,
    /// Bytes received and not yet parsed.
    rx: BytesMut,
    /// Zeroed room right after `rx` in the same allocation, lent to the
    /// transport by [`receive_buffer`](Self::receive_buffer).
    spare: BytesMut,
    /// The bytes `rx` must hold for the reply being read to progress (a
    /// value's announced end), 0 when unknown.
    need: usize,
    pending: VecDeque<Pending>,
    parser: Parser,
    next_id: u64,
    noreply_since_reply: bool,
    eof: bool,
    quit: bool,
    /// The sticky error, once the connection is broken.
    error: Option<Error>,
    protocol: Protocol,
    /// Items and first error of a translated multi-key get, so far.
    group_items: SmallVec<[Item; 1]>,
    group_error: Option<Error>,
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new()
    }
}

impl Connection {
    /// Creates a connection with no key prefix, ASCII keys and default limits.
    #[must_use]
    pub fn new() -> Self {
        Connection::with_config(KeyPolicy::default(), Limits::default())
    }

    /// Creates a connection with the given key policy and limits.
    #[must_use]
    pub fn with_config(policy: KeyPolicy, limits: Limits) -> Self {
        Connection {
            policy,
            limits,
            tx: BytesMut::with_capacity(4096),
            rx: BytesMut::new(),
            spare: BytesMut::new(),
            need: 0,
            pending: VecDeque::new(),
            parser: Parser::default(),
            next_id: 0,
            noreply_since_reply: false,
            eof: false,
            quit: false,
            error: None,
            protocol: Protocol::Text,
            group_items: SmallVec::new(),
            group_error: None,
        }
    }

    /// Sets the protocol that carries the classic commands from now on.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// Returns the protocol that carries the classic commands.
    #[must_use]
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Returns the key policy.
    #[must_use]
    pub fn key_policy(&self) -> &KeyPolicy {
        &self.policy
    }

    /// Returns the limits.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Encodes `request` into the outgoing buffer and returns its id.
    ///
    /// `deadline` is the time by which its reply must be complete (checked in
    /// [`handle_timeout`](Self::handle_timeout)). A noreply request (and
    /// `quit`) gets an id but never comes back from [`poll`](Self::poll).
    ///
    /// # Errors
    ///
    /// [`Error::IllegalInput`] if a key, argument or the value is bad; then
    /// nothing was written and the connection is unchanged. If the connection
    /// is closed, the error that closed it (or [`Error::UnexpectedClose`]
    /// after `quit`).
    pub fn submit(
        &mut self,
        request: &Request<'_>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        self.check_open()?;
        text::check(request, &self.policy, &self.limits)?;
        self.encode_text(request, deadline)
    }

    /// [`submit`](Self::submit) for a request the caller has validated
    /// with [`Request::validate`] under this connection's key policy and
    /// limits: it is not checked again.
    pub(crate) fn submit_valid(
        &mut self,
        request: &Request<'_>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        self.check_open()?;
        self.encode_text(request, deadline)
    }

    /// Encodes a checked classic request (as meta commands under
    /// [`Protocol::Meta`]). The classic key rules apply whatever the
    /// protocol: the protocol never changes which keys are accepted.
    fn encode_text(
        &mut self,
        request: &Request<'_>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        if self.protocol == Protocol::Meta {
            if let Some(parts) = meta::translate(request) {
                return self.submit_translated(&parts, deadline);
            }
        }
        self.close_quiet_run();
        let expect = text::encode_valid(request, &self.policy, &mut self.tx);
        let id = self.next_id();
        match expect {
            Some(expect) => {
                self.pending.push_back(Pending {
                    id,
                    awaits: Awaits::Text(expect),
                    command: command_name(request),
                    deadline,
                    after_noreply: core::mem::take(&mut self.noreply_since_reply),
                    quiet: false,
                    key: None,
                });
            }
            None if matches!(request, Request::Quit) => self.quit = true,
            None => self.noreply_since_reply = true,
        }
        Ok(id)
    }

    /// Encodes a meta `request` into the outgoing buffer and returns its id,
    /// which also goes on the wire as the request's opaque token.
    ///
    /// Its reply comes back from [`poll`](Self::poll) as
    /// [`Reply::Meta`]. A quiet request yields a reply only when the server
    /// sends one (a hit, a failure, an error); memcrab follows each quiet
    /// request with an `mn` barrier, so the server's error lines, which carry
    /// no opaque token, are still reported for the request that caused them.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::meta::{MetaGet, MetaStatus};
    /// use memcrab_core::{Connection, Reply};
    ///
    /// let mut conn = Connection::new();
    /// let id = conn.submit_meta(&MetaGet::new(b"k").value().into(), None).unwrap();
    /// assert_eq!(conn.transmit(), b"mg k v O0\r\n");
    /// conn.receive(b"VA 2 O0\r\nhi\r\n");
    /// let (got, reply) = conn.poll().unwrap();
    /// let Ok(Reply::Meta(m)) = reply else { panic!() };
    /// assert_eq!((got, m.status(), &m.value.unwrap()[..]), (id, MetaStatus::Value, &b"hi"[..]));
    /// ```
    pub fn submit_meta(
        &mut self,
        request: &MetaRequest<'_>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        self.check_open()?;
        meta::check(request, &self.policy, &self.limits)?;
        self.encode_meta(request, deadline)
    }

    /// [`submit_meta`](Self::submit_meta) for a request the caller has
    /// validated with [`MetaRequest::validate`]: it is not checked again.
    pub(crate) fn submit_meta_valid(
        &mut self,
        request: &MetaRequest<'_>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        self.check_open()?;
        self.encode_meta(request, deadline)
    }

    fn encode_meta(
        &mut self,
        request: &MetaRequest<'_>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        let id = self.next_id();
        self.push_meta(request, id, Awaits::Meta, deadline)?;
        Ok(id)
    }

    fn submit_translated(
        &mut self,
        parts: &[(MetaRequest<'_>, Shape)],
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        if parts.is_empty() {
            return Err(crate::IllegalInput::NoKeys.into());
        }
        let id = self.next_id();
        for (r, shape) in parts {
            self.push_meta(r, id, Awaits::Translated(*shape), deadline)?;
            if let (Shape::Get { .. }, Some(key), Some(p)) =
                (shape, r.key(), self.pending.back_mut())
            {
                p.key = Some(SmallVec::from_slice(key));
            }
        }
        Ok(id)
    }

    /// Encodes one checked meta request as `id`, and a barrier after it if
    /// it is quiet.
    fn push_meta(
        &mut self,
        request: &MetaRequest<'_>,
        id: RequestId,
        awaits: Awaits,
        deadline: Option<Millis>,
    ) -> Result<(), Error> {
        meta::encode(request, id.0, &self.policy, &mut self.tx)?;
        let quiet = request.is_quiet();
        self.pending.push_back(Pending {
            id,
            awaits,
            command: request.command(),
            deadline,
            after_noreply: core::mem::take(&mut self.noreply_since_reply),
            quiet,
            key: None,
        });
        if quiet {
            self.tx.extend_from_slice(b"mn\r\n");
            self.pending.push_back(Pending {
                id,
                awaits: Awaits::Barrier,
                command: "mn",
                deadline,
                after_noreply: false,
                quiet: false,
                key: None,
            });
        }
        Ok(())
    }

    /// Ends a run of quiet meta requests with a barrier before a classic
    /// command, whose reply carries no opaque token.
    fn close_quiet_run(&mut self) {
        if self.pending.back().is_some_and(|p| p.quiet) {
            let id = self.pending.back().map_or(RequestId(0), |p| p.id);
            self.tx.extend_from_slice(b"mn\r\n");
            self.pending.push_back(Pending {
                id,
                awaits: Awaits::Barrier,
                command: "mn",
                deadline: None,
                after_noreply: false,
                quiet: false,
                key: None,
            });
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.quit || self.eof {
            return Err(Error::UnexpectedClose);
        }
        Ok(())
    }

    fn next_id(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Returns the bytes waiting to be written to the socket.
    ///
    /// They stay until [`advance_transmit`](Self::advance_transmit) says the
    /// socket took them.
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        &self.tx
    }

    /// Discards the first `n` bytes of [`transmit`](Self::transmit), which the
    /// socket has written.
    ///
    /// # Panics
    ///
    /// Panics if `n` is larger than `transmit().len()`.
    pub fn advance_transmit(&mut self, n: usize) {
        self.tx.advance(n);
    }

    /// Returns true if bytes are waiting to be written.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.tx.is_empty()
    }

    /// Records that the server closed the connection (a read returned 0).
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Tells the connection the current time; a request whose deadline has
    /// passed closes it with [`Error::Timeout`]. Calling it early is a no-op.
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.error.is_some() {
            return;
        }
        if self
            .pending
            .iter()
            .any(|p| p.deadline.is_some_and(|d| d <= now))
        {
            self.fail(Error::Timeout);
        }
    }

    /// Returns the earliest deadline of the requests in flight, when
    /// [`handle_timeout`](Self::handle_timeout) should be called next.
    ///
    /// It changes when a request is submitted or its reply completes.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        if self.error.is_some() {
            return None;
        }
        self.pending.iter().filter_map(|p| p.deadline).min()
    }

    /// Returns the next completed reply with its request's id, or `None`
    /// when none is complete.
    ///
    /// Replies come in submission order. Once the connection is closed, each
    /// pending request comes back once with the error that closed it.
    #[must_use]
    pub fn poll(&mut self) -> Option<(RequestId, Result<Reply, Error>)> {
        if let Some(e) = &self.error {
            // Each request once: not a barrier, not every part of a get.
            while let Some(p) = self.pending.pop_front() {
                if p.is_reportable() {
                    return Some((p.id, Err(e.clone())));
                }
            }
            return None;
        }
        let Some(front) = self.pending.front() else {
            self.check_idle();
            return None;
        };
        if front.is_meta() {
            return self.poll_meta();
        }
        let Awaits::Text(expect) = &front.awaits else {
            return None;
        };
        let cx = Context {
            expect,
            command: front.command,
            prefix: self.policy.prefix(),
            after_noreply: front.after_noreply,
            limits: &self.limits,
        };
        let step = self.parser.parse(&mut self.rx, &cx);
        self.need = self.parser.need();
        match step {
            Step::Partial => {
                if !self.eof {
                    return None;
                }
                if matches!(expect, Expect::Shutdown) && self.rx.is_empty() {
                    let p = self.pending.pop_front()?;
                    return Some((p.id, Ok(Reply::Closed)));
                }
                self.fail(Error::UnexpectedClose);
                self.poll()
            }
            Step::Done(result) => {
                let id = front.id;
                self.pending.pop_front();
                Some((id, result))
            }
            Step::Fatal(e) => {
                let p = self.pending.pop_front()?;
                self.fail(e.clone());
                Some((p.id, Err(e)))
            }
        }
    }

    /// Returns the number of requests awaiting a reply.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Returns true once the connection is broken (or quit, or closed by
    /// the server): it will do no new work.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.error.is_some() || self.quit || (self.eof && self.pending.is_empty())
    }

    /// Returns the error that closed the connection, if one did.
    ///
    /// This is where an error that no request awaited shows up: a server
    /// error line for a noreply request when nothing else was in flight.
    #[must_use]
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Closes the connection with `e`, unless it is closed already.
    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
            self.rx.clear();
            self.tx.clear();
            self.group_items.clear();
            self.group_error = None;
        }
    }

    /// With nothing in flight, any byte received is unsolicited.
    fn check_idle(&mut self) {
        if self.rx.is_empty() {
            return;
        }
        let line_end = memchr::memchr(b'\n', &self.rx).unwrap_or(self.rx.len());
        let line = &self.rx[..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let e = if self.noreply_since_reply {
            Error::NoreplyFailed(line_text(line))
        } else {
            Error::UnexpectedReply(line_text(line))
        };
        self.fail(e);
    }
}

pub(crate) fn command_name(request: &Request<'_>) -> &'static str {
    match request {
        Request::Store { command, .. } => command.name(),
        Request::Get { command, .. } => command.name(),
        Request::Touch { .. } => "touch",
        Request::Delete { .. } => "delete",
        Request::Incr { .. } => "incr",
        Request::Decr { .. } => "decr",
        Request::Stats { .. } => "stats",
        Request::Version => "version",
        Request::FlushAll { .. } => "flush_all",
        Request::Verbosity { .. } => "verbosity",
        Request::CacheMemlimit { .. } => "cache_memlimit",
        Request::Quit => "quit",
        Request::Shutdown { .. } => "shutdown",
        Request::Raw { .. } => "raw",
    }
}
