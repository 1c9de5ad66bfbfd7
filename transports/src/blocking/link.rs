//! One open socket and its protocol state: the blocking driver.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use memcrab_core::meta::MetaRequest;
use memcrab_core::{Connection, KeyPolicy, Limits, Millis, Reply, Request, RequestId};
use smallvec::SmallVec;

use super::options::ClientOptions;
use super::socket::Stream;
use crate::address::ServerAddr;
use crate::error::Error;

/// The outcome of one request of a batch: `None` for a noreply request that
/// was sent, else its reply or error.
pub type Outcome = Option<Result<Reply, Error>>;

/// Outcomes of a batch, one per request, in order.
pub type Outcomes = SmallVec<[Outcome; 1]>;

/// Write what is queued once this many bytes are waiting, and read the
/// replies so far, so a huge batch never deadlocks against a server whose
/// replies we are not reading.
const FLUSH_AT: usize = 256 * 1024;
const READ_BUF: usize = 64 * 1024;

/// A batch written to a client's connection, whose replies are still to
/// be read; holds the connection until then.
// A short-lived value on the stack of one call: boxing the link would cost
// an allocation per call for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Started<'a> {
    /// On a [`Client`](super::Client)'s one connection (its lock held).
    Client {
        guard: std::sync::MutexGuard<'a, Option<Box<Link>>>,
        addr: &'a ServerAddr,
        batch: Batch,
    },
    /// On a connection taken from a [`PooledClient`](super::PooledClient).
    Pooled { lease: Lease<'a>, batch: Batch },
}

/// A connection taken from a pool, given back when dropped — also when a
/// call unwinds, so a panic never leaks a pool slot.
pub(crate) struct Lease<'a> {
    pub(crate) pool: &'a super::PooledClient,
    pub(crate) link: Option<Link>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.pool.release(self.link.take());
    }
}

impl Started<'_> {
    /// Reads the replies and gives the connection back (closing it if it
    /// broke).
    pub(crate) fn finish(self) -> Outcomes {
        match self {
            Started::Client {
                mut guard,
                addr,
                batch,
            } => {
                let Some(link) = guard.as_mut() else {
                    return Outcomes::new();
                };
                let out = link.finish(addr, batch);
                if !link.is_usable() {
                    if let Some(link) = guard.take() {
                        link.close();
                    }
                }
                out
            }
            Started::Pooled { mut lease, batch } => {
                let server = lease.pool.server();
                match lease.link.as_mut() {
                    Some(l) => l.finish(server, batch),
                    None => Outcomes::new(),
                }
                // The lease gives the connection back as it drops here.
            }
        }
    }
}

/// A batch started on a link, awaiting its replies.
#[derive(Debug)]
pub(crate) struct Batch {
    out: Outcomes,
    /// Every submitted request's id and index, in id order.
    ids: Vec<(RequestId, usize)>,
    /// Requests whose reply has not come yet (noreply ones excluded).
    awaiting: usize,
    deadline: Option<Millis>,
}

/// A request a [`Connection`] can submit: classic or meta.
pub(crate) trait Submit {
    /// Submits the request; see [`Connection::submit`].
    fn submit_to(
        &self,
        conn: &mut Connection,
        deadline: Option<Millis>,
    ) -> Result<RequestId, memcrab_core::Error>;
    /// Returns true if the request awaits no reply.
    fn awaits_nothing(&self, conn: &Connection) -> bool;
    /// Checks the request without sending it.
    fn check(&self, policy: &KeyPolicy, limits: &Limits) -> Result<(), memcrab_core::Error>;
}

impl Submit for Request<'_> {
    fn submit_to(
        &self,
        conn: &mut Connection,
        deadline: Option<Millis>,
    ) -> Result<RequestId, memcrab_core::Error> {
        conn.submit(self, deadline)
    }
    fn awaits_nothing(&self, _: &Connection) -> bool {
        self.is_noreply()
    }
    fn check(&self, policy: &KeyPolicy, limits: &Limits) -> Result<(), memcrab_core::Error> {
        self.validate(policy, limits)
    }
}

impl Submit for MetaRequest<'_> {
    fn submit_to(
        &self,
        conn: &mut Connection,
        deadline: Option<Millis>,
    ) -> Result<RequestId, memcrab_core::Error> {
        conn.submit_meta(self, deadline)
    }
    fn awaits_nothing(&self, _: &Connection) -> bool {
        // A quiet request may or may not answer; the barrier after it tells.
        self.is_quiet()
    }
    fn check(&self, policy: &KeyPolicy, limits: &Limits) -> Result<(), memcrab_core::Error> {
        self.validate(policy, limits)
    }
}

/// A connected socket with its [`Connection`].
#[derive(Debug)]
pub(crate) struct Link {
    stream: Stream,
    conn: Connection,
    buf: Vec<u8>,
    origin: Instant,
    sock_timeout: Option<Duration>,
    /// Set once an I/O error broke the socket.
    broken: bool,
    /// Nothing has come on this connection yet.
    fresh: bool,
}

impl Link {
    /// Connects to `addr`.
    pub(crate) fn open(addr: &ServerAddr, opts: &ClientOptions) -> Result<Link, Error> {
        let stream = Stream::connect(addr, opts).map_err(|e| Error::io(addr, e))?;
        let mut conn = Connection::with_config(opts.key_policy(), opts.limits());
        conn.set_protocol(opts.protocol);
        Ok(Link {
            stream,
            conn,
            buf: vec![0; READ_BUF],
            origin: Instant::now(),
            sock_timeout: opts.timeout,
            broken: false,
            fresh: true,
        })
    }

    /// Returns false once the link must be dropped (and a new one opened).
    pub(crate) fn is_usable(&self) -> bool {
        !self.broken && !self.conn.is_closed()
    }

    /// Closes the socket.
    pub(crate) fn close(&self) {
        self.stream.close();
    }

    fn now(&self) -> Millis {
        Millis::from_duration(self.origin.elapsed())
    }

    /// Submits and writes every request of the batch without waiting for
    /// the replies (except in a batch over `FLUSH_AT` bytes), so a caller
    /// can start batches on several links before finishing any.
    pub(crate) fn start<R: Submit>(
        &mut self,
        server: &ServerAddr,
        requests: &[R],
        timeout: Option<Duration>,
    ) -> Batch {
        let mut b = Batch {
            out: requests.iter().map(|_| None).collect(),
            ids: Vec::with_capacity(requests.len()),
            awaiting: 0,
            deadline: None,
        };
        if self.sock_timeout != timeout {
            if let Err(e) = self.stream.set_read_timeout(timeout) {
                self.fail_rest(Error::io(server, e), 0, &mut b);
                return b;
            }
            self.sock_timeout = timeout;
        }
        b.deadline = timeout.map(|t| self.now() + t);
        for (i, req) in requests.iter().enumerate() {
            let noreply = req.awaits_nothing(&self.conn);
            match req.submit_to(&mut self.conn, b.deadline) {
                Ok(id) => {
                    b.ids.push((id, i));
                    if !noreply {
                        b.awaiting += 1;
                    }
                }
                Err(e) => b.out[i] = Some(Err(Error::at(server, e))),
            }
            if self.conn.transmit().len() >= FLUSH_AT {
                if let Err(e) = self
                    .write_all(server)
                    .and_then(|()| self.read_replies(server, &mut b))
                {
                    self.fail_rest(e, i + 1, &mut b);
                    return b;
                }
            }
        }
        if let Err(e) = self.write_all(server) {
            self.fail_rest(e, requests.len(), &mut b);
        }
        b
    }

    /// Reads every reply `batch` awaits and returns its outcomes.
    pub(crate) fn finish(&mut self, server: &ServerAddr, mut batch: Batch) -> Outcomes {
        if let Err(e) = self.read_replies(server, &mut batch) {
            let n = batch.out.len();
            self.fail_rest(e, n, &mut batch);
        }
        batch.out
    }

    /// Marks the link broken and gives `e` to every awaited request and to
    /// every request from `next` on that was not sent.
    fn fail_rest(&mut self, e: Error, next: usize, batch: &mut Batch) {
        self.broken = true;
        for &(_, i) in &batch.ids {
            if batch.out[i].is_none() {
                batch.out[i] = Some(Err(e.clone()));
            }
        }
        batch.awaiting = 0;
        for o in batch.out.iter_mut().skip(next) {
            *o = Some(Err(e.clone()));
        }
    }

    /// Names the server in a core error. A new connection the server closes
    /// before its first reply is refused, not "unexpectedly closed": it
    /// counts as the server being unreachable (an I/O error).
    fn remote_error(&self, server: &ServerAddr, e: memcrab_core::Error) -> Error {
        if self.fresh && e == memcrab_core::Error::UnexpectedClose {
            return Error::io(
                server,
                io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the server closed a new connection before its first reply",
                ),
            );
        }
        Error::at(server, e)
    }

    /// Writes everything queued.
    fn write_all(&mut self, server: &ServerAddr) -> Result<(), Error> {
        while self.conn.wants_write() {
            match self.stream.write(self.conn.transmit()) {
                Ok(0) => return Err(Error::io(server, io::ErrorKind::WriteZero.into())),
                Ok(n) => self.conn.advance_transmit(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(server, e)),
            }
        }
        Ok(())
    }

    /// Reads until every reply the batch awaits is in.
    fn read_replies(&mut self, server: &ServerAddr, b: &mut Batch) -> Result<(), Error> {
        let deadline = b.deadline;
        loop {
            while let Some((id, result)) = self.conn.poll() {
                let Ok(at) = b.ids.binary_search_by_key(&id, |&(id, _)| id) else {
                    continue; // A request of an earlier, abandoned batch.
                };
                let i = b.ids[at].1;
                if b.out[i].is_none() {
                    b.awaiting = b.awaiting.saturating_sub(1);
                }
                b.out[i] = Some(result.map_err(|e| self.remote_error(server, e)));
                self.fresh = false;
            }
            if b.awaiting == 0 && self.conn.in_flight() == 0 {
                return Ok(());
            }
            if self.conn.is_closed() && self.conn.in_flight() == 0 {
                return Err(self
                    .conn
                    .error()
                    .cloned()
                    .unwrap_or(memcrab_core::Error::UnexpectedClose))
                .map_err(|e| Error::at(server, e));
            }
            if let Some(d) = deadline {
                let now = self.now();
                let remaining = d.saturating_since(now);
                if remaining.is_zero() {
                    self.conn.handle_timeout(now);
                    continue;
                }
                if self.sock_timeout.is_none_or(|t| remaining < t) {
                    self.stream
                        .set_read_timeout(Some(remaining))
                        .map_err(|e| Error::io(server, e))?;
                    self.sock_timeout = Some(remaining);
                }
            }
            match self.stream.read(&mut self.buf) {
                Ok(0) => self.conn.receive_eof(),
                Ok(n) => {
                    // The server answered something: a close from now on
                    // cuts a reply short, it is no refusal.
                    self.fresh = false;
                    self.conn.receive(&self.buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    let now = self.now();
                    match deadline {
                        Some(d) if now < d => {}
                        _ => self.conn.handle_timeout(now.max(deadline.unwrap_or(now))),
                    }
                }
                Err(e) => return Err(Error::io(server, e)),
            }
        }
    }
}
