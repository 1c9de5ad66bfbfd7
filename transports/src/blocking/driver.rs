//! The blocking driver: sockets for a [`Cluster`], which decides the rest.
//!
//! A call submits its batch to the cluster (under one lock), then drives
//! the connections its ticket holds until the ticket is done: it opens
//! their sockets, writes what they have to send, and reads them, feeding
//! every byte back to the cluster. With a depth of one ticket per
//! connection (a pool's lease), only the calling thread touches its
//! connections' sockets, so it reads without holding the lock.

use std::io::{self, Read, Write};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memcrab_core::cluster::{Checked, Cluster, ConnId, Event, Fault, Refusal, Ticket};
use memcrab_core::meta::MetaRequest;
use memcrab_core::router::NodeId;
use memcrab_core::{Millis, Request};
use smallvec::SmallVec;

use super::affinity::Affinity;
use super::options::ClientOptions;
use super::socket::Stream;
use crate::address::ServerAddr;
use crate::error::{Error, Result};
use crate::trace::{self, CallSpan, HealthWatch};

/// The outcome of one request of a batch: `None` for a request that
/// awaited no reply and was sent, else its reply or error.
pub type Outcome = Option<Result<memcrab_core::Reply, Error>>;

/// Outcomes of a batch, one per request, in order.
pub type Outcomes = SmallVec<[Outcome; 1]>;

/// Submit a batch in pieces of about this many bytes, reading the replies
/// of each before the next, so a huge batch never deadlocks against a
/// server whose replies are not being read.
const PIECE_BYTES: usize = 256 * 1024;

/// An open socket (it reads into its connection's buffer).
#[derive(Debug)]
struct Sock {
    stream: Stream,
    /// The read timeout the socket has now.
    timeout: Option<Duration>,
}

/// What the lock protects.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) cluster: Cluster<Error>,
    /// Per server id: its address (`None` once removed).
    pub(crate) addrs: Vec<Option<ServerAddr>>,
    /// Per connection index: its socket, unless a call holds it.
    socks: Vec<Option<Sock>>,
    /// Node health as last traced.
    health: HealthWatch,
}

/// How long a call waits for a free connection.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Until one is free (a single-connection client).
    Forever,
    /// Up to this long, then [`Error::PoolExhausted`].
    Up(Duration),
}

/// A cluster and the sockets of its connections.
#[derive(Debug)]
pub(crate) struct Driver {
    state: Mutex<State>,
    freed: Condvar,
    pub(crate) opts: ClientOptions,
    wait: Wait,
    /// Read-your-writes: each thread's unanswered noreply connection.
    affinity: Affinity,
}

impl Driver {
    pub(crate) fn new(
        cluster: Cluster<Error>,
        addrs: Vec<Option<ServerAddr>>,
        opts: ClientOptions,
        wait: Wait,
    ) -> Driver {
        Driver {
            state: Mutex::new(State {
                cluster,
                addrs,
                socks: Vec::new(),
                health: HealthWatch::default(),
            }),
            freed: Condvar::new(),
            opts,
            wait,
            affinity: Affinity::new(),
        }
    }

    pub(crate) fn now(&self) -> Millis {
        self.opts.clock.now()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a batch of classic requests (one tracing span).
    pub(crate) fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        let span = CallSpan::new();
        let out = span.in_scope(|| self.execute_classic(requests, &span));
        span.finish(&out);
        out
    }

    fn execute_classic(&self, requests: &[Request<'_>], span: &CallSpan) -> Result<Outcomes> {
        let checked = self.lock().cluster.validate(requests)?;
        let mut out = Outcomes::with_capacity(requests.len());
        for piece in pieces(checked, |r| request_bytes(r)) {
            let pin = self.affinity.pending();
            let submitted = self.submit(span, |c, now| match pinned(c, pin) {
                Some(conn) => c.submit_on(now, conn, piece.requests()),
                None => c.submit_checked(now, piece),
            });
            match submitted {
                // The first (most often the only) piece's results are the
                // list itself, not copied into it.
                Ok((ticket, now)) => self.finish_pinning(ticket, now, &mut out),
                Err(e) if out.is_empty() => return Err(e),
                // Earlier pieces went: this one's requests fail alone.
                Err(e) => out.extend(piece.requests().iter().map(|_| Some(Err(e.clone())))),
            }
        }
        Ok(out)
    }

    /// Runs a batch of meta requests (one tracing span).
    pub(crate) fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        let span = CallSpan::new();
        let out = span.in_scope(|| self.execute_meta_in(requests, &span));
        span.finish(&out);
        out
    }

    fn execute_meta_in(&self, requests: &[MetaRequest<'_>], span: &CallSpan) -> Result<Outcomes> {
        let checked = self.lock().cluster.validate_meta(requests)?;
        let mut out = Outcomes::with_capacity(requests.len());
        for piece in pieces(checked, meta_bytes) {
            let pin = self.affinity.pending();
            let submitted = self.submit(span, |c, now| match pinned(c, pin) {
                Some(conn) => c.submit_meta_on(now, conn, piece.requests()),
                None => c.submit_meta_checked(now, piece),
            });
            match submitted {
                Ok((ticket, now)) => self.finish_pinning(ticket, now, &mut out),
                Err(e) if out.is_empty() => return Err(e),
                Err(e) => out.extend(piece.requests().iter().map(|_| Some(Err(e.clone())))),
            }
        }
        Ok(out)
    }

    /// Runs a batch on one server, whatever its keys.
    pub(crate) fn execute_on(&self, server: NodeId, requests: &[Request<'_>]) -> Result<Outcomes> {
        let span = CallSpan::new();
        let out = span.in_scope(|| {
            let (ticket, now) = self.submit(&span, |c, now| c.submit_to(now, server, requests))?;
            Ok(self.finish(ticket, now))
        });
        span.finish(&out);
        out
    }

    /// Runs a batch of meta requests on one server, whatever its keys.
    pub(crate) fn execute_meta_on(
        &self,
        server: NodeId,
        requests: &[MetaRequest<'_>],
    ) -> Result<Outcomes> {
        let span = CallSpan::new();
        let out = span.in_scope(|| {
            let (ticket, now) =
                self.submit(&span, |c, now| c.submit_meta_to(now, server, requests))?;
            Ok(self.finish(ticket, now))
        });
        span.finish(&out);
        out
    }

    /// Submits, waiting for a free connection as long as `wait` allows;
    /// returns the ticket and the time it was submitted at.
    fn submit(
        &self,
        span: &CallSpan,
        mut submit: impl FnMut(&mut Cluster<Error>, Millis) -> std::result::Result<Ticket, Refusal>,
    ) -> Result<(Ticket, Millis)> {
        // The clock is read only if the call has to wait.
        let mut started: Option<Instant> = None;
        let mut st = self.lock();
        loop {
            let now = self.now();
            let submitted = submit(&mut st.cluster, now);
            st.check_health();
            match submitted {
                Ok(t) => {
                    span.submitted(&st.cluster, t);
                    return Ok((t, now));
                }
                Err(Refusal::Invalid(e)) => return Err(e.into()),
                Err(Refusal::Busy) => {}
            }
            st = match self.wait {
                Wait::Forever => self.freed.wait(st).unwrap_or_else(|p| p.into_inner()),
                Wait::Up(limit) => {
                    let waited = started.get_or_insert_with(Instant::now).elapsed();
                    if waited >= limit {
                        return Err(Error::PoolExhausted {
                            max_size: st.cluster.config().max_connections,
                            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                        });
                    }
                    self.freed
                        .wait_timeout(st, limit - waited)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    /// [`finish`](Self::finish), then remembers for this thread the
    /// connection of a noreply write the batch sent (see [`Affinity`]), or
    /// forgets it once a batch got every reply.
    fn finish_pinning(&self, ticket: Ticket, submitted: Millis, out: &mut Outcomes) {
        let from = out.len();
        let conn = self.finish_on(ticket, submitted, out);
        let unanswered = out[from..].iter().any(Option::is_none);
        self.affinity.set(conn.filter(|_| unanswered));
    }

    /// Drives `ticket`'s connections until it is done; returns its results.
    fn finish(&self, ticket: Ticket, submitted: Millis) -> Outcomes {
        let mut out = Outcomes::new();
        self.finish_on(ticket, submitted, &mut out);
        out
    }

    /// [`finish`](Self::finish), appending the results to `out` (moved
    /// once, from the ticket into the list); returns the connection the
    /// ticket ran on when it ran on exactly one.
    fn finish_on(&self, ticket: Ticket, submitted: Millis, out: &mut Outcomes) -> Option<ConnId> {
        let mut st = self.lock();
        let mut one = None;
        // The first step runs at the time the ticket was submitted (a
        // moment ago, with no wait between): one clock read fewer.
        let mut now = Some(submitted);
        loop {
            st.handle_events();
            if st.take_into(ticket, out) {
                drop(st);
                self.freed.notify_all();
                return one;
            }
            // One connection (the common case) without a list.
            if let [c] = *st.cluster.conns_of(ticket) {
                one = Some(c);
                let single = [c];
                let live = st.cluster.server_of(c).is_some();
                st = self.step(st, if live { &single } else { &[] }, now.take());
                continue;
            }
            one = None;
            let mut conns: SmallVec<[ConnId; 2]> = st.cluster.conns_of(ticket).into();
            conns.retain(|c| st.cluster.server_of(*c).is_some());
            st = self.step(st, &conns, now.take());
        }
    }

    /// Does one thing for one of `conns`: connect, write, or read; at
    /// `now` if given, else the clock's time.
    fn step<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        conns: &[ConnId],
        now: Option<Millis>,
    ) -> MutexGuard<'a, State> {
        let now = now.unwrap_or_else(|| self.now());
        if let Some(&c) = conns.iter().find(|c| !st.cluster.is_connected(**c)) {
            return self.connect(st, c);
        }
        for &c in conns {
            st.write(now, c);
        }
        st.handle_events();
        let Some(&c) = conns.iter().find(|c| st.cluster.wants_read(**c)) else {
            // Nothing to read and not done: what is left is settled by
            // the time (a deadline) or was already handled.
            st.cluster.handle_timeout(now);
            return st;
        };
        let Some(mut sock) = st.socks.get_mut(c.index()).and_then(Option::take) else {
            let err = lost(&st, c);
            st.cluster.handle_failure(now, c, err);
            return st;
        };
        let deadline = st.cluster.poll_timeout();
        // Read into the connection's own buffer (no copy), sized toward a
        // value being received.
        let Some(mut room) = st.cluster.take_receive_buffer(c) else {
            let err = lost(&st, c);
            st.cluster.handle_failure(now, c, err);
            return st;
        };
        drop(st);
        let read = sock.read_until(deadline, now, &mut room);
        let mut st = self.lock();
        let now = self.now();
        let live = st.cluster.server_of(c).is_some();
        match read {
            Ok(0) => st.cluster.handle_eof(now, c),
            Ok(n) => st.cluster.handle_read(now, c, room, n),
            Err(e) if is_timeout(&e) => {
                // The room goes back (with what it may hold of a value).
                st.cluster.handle_read(now, c, room, 0);
                st.cluster.handle_timeout(now);
            }
            Err(e) => {
                let err = st.io_error(c, e);
                st.cluster.handle_failure(now, c, err);
            }
        }
        {
            let State {
                cluster, health, ..
            } = &mut *st;
            health.check(cluster);
        }
        if live && st.cluster.server_of(c).is_some() {
            if let Some(slot) = st.socks.get_mut(c.index()) {
                *slot = Some(sock);
            }
        }
        st
    }

    /// Opens the socket of `conn` (without the lock held).
    fn connect<'a>(&'a self, st: MutexGuard<'a, State>, conn: ConnId) -> MutexGuard<'a, State> {
        let addr = st
            .cluster
            .server_of(conn)
            .and_then(|s| st.addrs.get(s.0).cloned().flatten());
        drop(st);
        let result = match &addr {
            Some(a) => Stream::connect(a, &self.opts).map_err(|e| Error::io(a, e)),
            None => Err(Error::NoServers),
        };
        let mut st = self.lock();
        let name = addr
            .as_ref()
            .map_or_else(|| "unknown server".into(), ToString::to_string);
        match result {
            Ok(stream) => {
                trace::connected(&name);
                if st.socks.len() <= conn.index() {
                    st.socks.resize_with(conn.index() + 1, || None);
                }
                st.socks[conn.index()] = Some(Sock {
                    stream,
                    timeout: self.opts.timeout,
                });
                st.cluster.handle_connected(conn);
            }
            Err(e) => {
                trace::connect_failed(&name, &e);
                let now = self.now();
                st.cluster.handle_failure(now, conn, e);
                let State {
                    cluster, health, ..
                } = &mut *st;
                health.check(cluster);
            }
        }
        st
    }

    /// Closes every connection no call holds.
    pub(crate) fn close_idle(&self) {
        let mut st = self.lock();
        st.cluster.close_idle_connections();
        st.handle_events();
    }

    /// Closes every connection: the free ones now, the busy ones when
    /// their call gives them back.
    pub(crate) fn close_all(&self) {
        let mut st = self.lock();
        st.cluster.close_all_connections();
        st.handle_events();
    }
}

impl State {
    /// Traces node health changes (a no-op without feature `tracing`).
    fn check_health(&mut self) {
        self.health.check(&self.cluster);
    }

    /// Closes the sockets the cluster forgot.
    fn handle_events(&mut self) {
        while let Some(ev) = self.cluster.poll_event() {
            if let Event::Close { conn } = ev {
                if let Some(sock) = self.socks.get_mut(conn.index()).and_then(Option::take) {
                    sock.stream.close();
                }
            }
            // Opens happen lazily, by the call that holds the connection.
        }
    }

    /// Writes everything `conn` has to send.
    fn write(&mut self, now: Millis, conn: ConnId) {
        loop {
            let tx = self.cluster.transmit(conn);
            if tx.is_empty() {
                return;
            }
            let Some(sock) = self.socks.get_mut(conn.index()).and_then(Option::as_mut) else {
                return;
            };
            match sock.stream.write(tx) {
                Ok(0) => {
                    let e = self.io_error(conn, io::ErrorKind::WriteZero.into());
                    return self.cluster.handle_failure(now, conn, e);
                }
                Ok(n) => self.cluster.advance_transmit(now, conn, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let e = self.io_error(conn, e);
                    return self.cluster.handle_failure(now, conn, e);
                }
            }
        }
    }

    fn addr(&self, server: Option<NodeId>) -> String {
        addr_of(&self.addrs, server)
    }

    fn io_error(&self, conn: ConnId, e: io::Error) -> Error {
        Error::io(&self.addr(self.cluster.server_of(conn)), e)
    }

    /// Appends a done ticket's results to `out`, naming each fault's
    /// server; false (nothing appended) if it is not done.
    fn take_into(&mut self, ticket: Ticket, out: &mut Outcomes) -> bool {
        let State { cluster, addrs, .. } = self;
        cluster.take_each(ticket, |o| {
            out.push(o.map(|r| r.map_err(|f| fault_of(addrs, f))));
        })
    }
}

/// The address of `server` as text, from `addrs`.
fn addr_of(addrs: &[Option<ServerAddr>], server: Option<NodeId>) -> String {
    server
        .and_then(|s| addrs.get(s.0).cloned().flatten())
        .map_or_else(|| "unknown server".into(), |a| a.to_string())
}

/// The error of `f`, naming its server by its address in `addrs`.
fn fault_of(addrs: &[Option<ServerAddr>], f: Fault<Error>) -> Error {
    crate::fault::error_of(f, |server| addr_of(addrs, Some(server)))
}

impl Sock {
    /// Reads once, waiting no later than `deadline` (the socket's timeout
    /// is lowered only when the deadline is nearer, so a fast call never
    /// touches it).
    fn read_until(
        &mut self,
        deadline: Option<Millis>,
        now: Millis,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        if let Some(d) = deadline {
            let remaining = d.saturating_since(now);
            if remaining.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            if self.timeout.is_none_or(|t| remaining < t) {
                self.stream.set_read_timeout(Some(remaining))?;
                self.timeout = Some(remaining);
            }
        }
        loop {
            match self.stream.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }
}

/// The connection a batch must go on for read-your-writes: the thread's
/// pending one, while it is open and the cluster has one server (with
/// several, the batch's keys may belong elsewhere).
fn pinned(cluster: &Cluster<Error>, pin: Option<ConnId>) -> Option<ConnId> {
    let conn = pin?;
    let one_server = cluster.servers().nth(1).is_none();
    (one_server && cluster.server_of(conn).is_some() && cluster.is_connected(conn)).then_some(conn)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn lost(st: &State, conn: ConnId) -> Error {
    st.io_error(
        conn,
        io::Error::new(io::ErrorKind::NotConnected, "the connection has no socket"),
    )
}

/// Splits a checked batch into pieces of about [`PIECE_BYTES`].
fn pieces<'r, R>(
    batch: Checked<'r, R>,
    size: impl Fn(&R) -> usize,
) -> impl Iterator<Item = Checked<'r, R>> {
    let mut rest = Some(batch);
    std::iter::from_fn(move || {
        let batch = rest.take()?;
        let requests = batch.requests();
        let mut bytes = 0;
        let mut n = 0;
        while n < requests.len() && (n == 0 || bytes < PIECE_BYTES) {
            bytes += size(&requests[n]);
            n += 1;
        }
        let (piece, tail) = batch.split_at(n);
        if !tail.requests().is_empty() {
            rest = Some(tail);
        }
        Some(piece)
    })
}

/// About how many bytes a request and its reply take on the wire.
fn request_bytes(r: &Request<'_>) -> usize {
    match r {
        Request::Store { key, value, .. } => key.len() + value.len() + 48,
        Request::Get { keys, .. } => keys.iter().map(|k| k.len() + 1).sum::<usize>() + 16,
        _ => 48,
    }
}

fn meta_bytes(r: &MetaRequest<'_>) -> usize {
    match r {
        MetaRequest::Set(s) => s.key.len() + s.value.len() + 48,
        _ => 64,
    }
}
