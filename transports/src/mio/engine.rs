//! The pipelined engine: many requests from one thread, a chosen depth in
//! flight per connection.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use memcrab_core::cluster::slots::TicketSlots;
use memcrab_core::cluster::{Cluster, Event, Refusal, Ticket};
use memcrab_core::{Millis, Protocol, Reply, Request};
use mio::{Events, Poll, Token};

use super::io::Net;
use super::options::DriverOptions;
use crate::address::{ServerAddr, ToServerAddr};
use crate::blocking::Outcomes;
use crate::error::Error;

/// The job of a ticket that carries a whole batch of the command API.
const BATCH: JobId = JobId(u64::MAX);

/// Names a request submitted to an [`Engine`]; its reply comes back from
/// [`Engine::poll`] with the same id. Ids increase by one per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// A finished job: its id and its reply or error.
pub type Done = (JobId, Result<Reply, Error>);

/// Why [`Engine::try_submit`] did not take a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TrySubmitError {
    /// Every connection of the request's server has `depth` requests in
    /// flight: collect replies ([`Engine::wait`]) and submit again.
    Busy,
    /// The request was refused (bad key or value, server down).
    Failed(Error),
}

impl fmt::Display for TrySubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Busy => f.write_str("every connection is at its pipeline depth"),
            TrySubmitError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TrySubmitError {
    /// Transparent: a refused request's causes are its error's.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TrySubmitError::Failed(e) => e.source(),
            _ => None,
        }
    }
}

impl From<Error> for TrySubmitError {
    fn from(e: Error) -> Self {
        TrySubmitError::Failed(e)
    }
}

/// Configures an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    servers: Vec<ServerAddr>,
    bad_server: Option<String>,
    connections: usize,
    depth: usize,
    merge_gets: bool,
    max_merge: usize,
    options: DriverOptions,
}

impl EngineBuilder {
    /// Adds a server (keys are spread over the servers by the router).
    #[must_use]
    pub fn server(mut self, server: impl ToServerAddr) -> Self {
        match server.to_server_addr() {
            Ok(a) => self.servers.push(a),
            Err(e) => self.bad_server = Some(e.to_string()),
        }
        self
    }

    /// Connections per server (default 1).
    #[must_use]
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }

    /// Requests in flight per connection at most (default 64).
    #[must_use]
    pub fn depth(mut self, n: usize) -> Self {
        self.depth = n.max(1);
        self
    }

    /// Merges single-key `get`s bound for one server, submitted while
    /// earlier requests are in flight, into multi-key gets of up to
    /// `max_keys` keys (off by default; 0 turns it off). Each caller still
    /// gets its own reply: its item, or no item for a miss. memcached does
    /// far less work per key in one multi-key get than in many single ones.
    #[must_use]
    pub fn merge_gets(mut self, max_keys: usize) -> Self {
        self.merge_gets = max_keys > 1;
        self.max_merge = max_keys;
        self
    }

    /// The connections' options (timeout, protocol, key policy, …).
    #[must_use]
    pub fn options(mut self, options: DriverOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the protocol of the connections.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.options.protocol = protocol;
        self
    }

    /// Sets the reply timeout of every request (`None`: wait forever).
    #[must_use]
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Creates the engine (no I/O: connections open as requests need them).
    ///
    /// # Errors
    ///
    /// A bad address or key prefix, no server, or a failure to create the
    /// poll.
    pub fn build(self) -> Result<Engine, Error> {
        if let Some(e) = self.bad_server {
            return Err(Error::Config(e));
        }
        self.options.check().map_err(Error::Config)?;
        if self.servers.is_empty() {
            return Err(Error::Config("the engine needs at least one server".into()));
        }
        let poll = Poll::new().map_err(poll_error)?;
        let o = &self.options;
        let mut config = o
            .cluster_config()
            .max_connections(self.connections)
            .depth(self.depth);
        config.merge_gets = if self.merge_gets { self.max_merge } else { 0 };
        if self.servers.len() == 1 {
            config.health = None;
        }
        let names: Vec<String> = self
            .servers
            .iter()
            .map(|a| a.node_name(o.distribution))
            .collect();
        let cluster = Cluster::new(config, names.iter().map(String::as_str));
        Ok(Engine {
            poll,
            events: Events::with_capacity(1024),
            net: Net::new(cluster, self.servers, o.no_delay),
            jobs: TicketSlots::new(),
            ready: VecDeque::new(),
            next_job: 0,
            awaited: 0,
            origin: Instant::now(),
            batches: Vec::new(),
        })
    }
}

/// A pipelined client over mio for throughput: one thread submits many
/// requests, the engine keeps up to `depth` of them in flight on each
/// connection and hands the replies back as they come.
///
/// It is a thin driver of the core [`Cluster`]: the cluster routes each key
/// (a multi-key get is split by server and its items merged back), chooses
/// the connection, merges concurrent single-key gets, tracks node health
/// and deadlines; the engine opens sockets, moves bytes and tells the time.
///
/// # Example
///
/// ```no_run
/// use memcrab_core::{GetCommand, Request};
/// use memcrab_transport::mio::Engine;
///
/// let mut engine = Engine::builder().server("127.0.0.1:11211").connections(4).depth(128).build()?;
/// for key in [&b"a"[..], b"b", b"c"] {
///     engine.submit(&Request::Get { command: GetCommand::Get, keys: &[key] })?;
/// }
/// for (job, reply) in engine.finish()? {
///     println!("{job:?}: {reply:?}");
/// }
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
pub struct Engine {
    pub(super) poll: Poll,
    pub(super) events: Events,
    /// The cluster and its sockets.
    pub(super) net: Net,
    /// Per ticket index: the ticket and its job.
    pub(super) jobs: TicketSlots<JobId>,
    pub(super) ready: VecDeque<Done>,
    pub(super) next_job: u64,
    /// Jobs submitted whose result has not reached `ready`.
    pub(super) awaited: usize,
    pub(super) origin: Instant,
    /// Batches of the command API that completed.
    pub(super) batches: Vec<(Ticket, Outcomes)>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("awaited", &self.awaited)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts configuring an engine.
    #[must_use]
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            servers: Vec::new(),
            bad_server: None,
            connections: 1,
            depth: 64,
            merge_gets: false,
            max_merge: 0,
            options: DriverOptions::default(),
        }
    }

    /// Returns the number of jobs submitted whose result has not yet come
    /// out of [`poll`](Self::poll)'s queue (noreply jobs count until they
    /// are written).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.awaited
    }

    /// Returns true if submitted bytes are not yet written.
    #[must_use]
    pub fn has_unwritten(&self) -> bool {
        self.net.has_unwritten() || self.net.cluster.has_merged_pending()
    }

    /// Returns the core client underneath, for its getters.
    #[must_use]
    pub fn cluster(&self) -> &Cluster<Error> {
        &self.net.cluster
    }

    pub(super) fn now(&self) -> Millis {
        millis_since(self.origin)
    }

    /// Submits `request`, waiting for replies (collected for
    /// [`poll`](Self::poll)) while its server's connections are all at the
    /// pipeline depth.
    ///
    /// # Errors
    ///
    /// A bad key or value, a server that is down, an I/O error of the poll.
    pub fn submit(&mut self, request: &Request<'_>) -> Result<JobId, Error> {
        loop {
            match self.try_submit(request) {
                Ok(job) => return Ok(job),
                Err(TrySubmitError::Failed(e)) => return Err(e),
                Err(TrySubmitError::Busy) => self.turn(None).map_err(poll_error)?,
            }
        }
    }

    /// Submits `request` if a connection of its server has room, without
    /// any I/O (it is written at the next [`wait`](Self::wait)). A
    /// multi-key get is split by server; every server's connection must
    /// have room.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Busy`] when every connection of a server is at
    /// the depth; [`TrySubmitError::Failed`] for a bad request.
    pub fn try_submit(&mut self, request: &Request<'_>) -> Result<JobId, TrySubmitError> {
        let now = self.now();
        let ticket = match self.net.cluster.submit(now, std::slice::from_ref(request)) {
            Ok(t) => t,
            Err(Refusal::Busy) => return Err(TrySubmitError::Busy),
            Err(Refusal::Invalid(e)) => return Err(TrySubmitError::Failed(e.into())),
        };
        let job = JobId(self.next_job);
        self.next_job += 1;
        self.awaited += 1;
        self.jobs.insert(ticket, job);
        self.collect();
        Ok(job)
    }

    /// Returns the next completed job, or `None` (no I/O).
    #[must_use]
    pub fn poll(&mut self) -> Option<Done> {
        let done = self.ready.pop_front()?;
        self.awaited = self.awaited.saturating_sub(1);
        Some(done)
    }

    /// Writes what was submitted and waits up to `timeout` (`None`: until
    /// something happens) for replies, which then wait in
    /// [`poll`](Self::poll). Returns at once if replies are waiting.
    ///
    /// # Errors
    ///
    /// An I/O error of the poll itself.
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.turn(timeout)
    }

    /// Submits nothing more: waits for every job in flight (and for every
    /// noreply request to be written) and returns them all, in completion
    /// order.
    ///
    /// # Errors
    ///
    /// An I/O error of the poll itself.
    pub fn finish(&mut self) -> Result<Vec<Done>, Error> {
        let mut out = Vec::new();
        loop {
            while let Some(done) = self.poll() {
                out.push(done);
            }
            if self.awaited == 0 && !self.has_unwritten() {
                return Ok(out);
            }
            self.turn(None).map_err(poll_error)?;
        }
    }

    /// One turn of the loop: events, writes, one poll, reads, time.
    fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let now = self.now();
        let awaited = self.awaited;
        self.net.cluster.flush(now);
        self.handle_events(now);
        self.net.write_all(self.poll.registry(), now);
        self.collect();
        let due = self.net.cluster.poll_timeout();
        let deadline = due.map(|d| d.saturating_since(now));
        let mut wait = match (timeout, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if !self.ready.is_empty() || self.awaited != awaited {
            // Something completed (a noreply job once written): let the
            // caller go on before waiting for the network.
            wait = Some(Duration::ZERO);
        }
        loop {
            match self.poll.poll(&mut self.events, wait) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    // The clock is read again only when a wait is cut
                    // short (`now` is this turn's start).
                    if wait.is_some_and(|w| self.now().saturating_since(now) >= w) {
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let now = self.now();
        for e in self.events.iter() {
            let i = e.token().0;
            if let Some(Some(s)) = self.net.socks.get_mut(i) {
                s.handle(e);
                self.net.drive(self.poll.registry(), now, i);
            }
        }
        // Nothing read brings a deadline nearer: the one before the wait
        // says whether one may be due (a spurious call is a no-op).
        if due.is_some_and(|d| d <= now) {
            self.net.cluster.handle_timeout(now);
        }
        self.handle_events(now);
        self.collect();
        Ok(())
    }

    /// Opens and closes the sockets the cluster asks for (a connection's
    /// token is its index).
    fn handle_events(&mut self, now: Millis) {
        while let Some(ev) = self.net.cluster.poll_event() {
            match ev {
                Event::Open { conn, server } => {
                    let token = Token(conn.index());
                    self.net
                        .open(self.poll.registry(), now, (conn, server), token);
                }
                Event::Close { conn } => self.net.close(self.poll.registry(), conn),
                // Nobody awaited it; the connection's Close follows.
                Event::Unsolicited { .. } => {}
            }
        }
    }

    /// Moves the cluster's completed tickets to the jobs awaiting them.
    fn collect(&mut self) {
        while let Some(ticket) = self.net.cluster.poll_done() {
            let Some(job) = self.jobs.remove(ticket) else {
                continue;
            };
            if job == BATCH {
                let out = self.net.cluster.take(ticket).unwrap_or_default();
                let out = out
                    .into_iter()
                    .map(|o| o.map(|r| r.map_err(|f| self.net.error_of(f))))
                    .collect();
                self.batches.push((ticket, out));
                continue;
            }
            // A job is one request: its one result goes straight on the
            // ready queue.
            let (ready, awaited) = (&mut self.ready, &mut self.awaited);
            let addrs = &self.net.addrs;
            self.net.cluster.take_each(ticket, |o| match o {
                Some(r) => ready.push_back((job, r.map_err(|f| super::io::error_with(addrs, f)))),
                // Awaited no reply and was written: nothing to hand back.
                None => *awaited = awaited.saturating_sub(1),
            });
        }
    }
}

impl Engine {
    /// Runs a batch to completion, as the command API does; other jobs'
    /// results keep waiting for [`poll`](Self::poll).
    pub(super) fn run_batch(
        &mut self,
        submit: impl Fn(&mut Cluster<Error>, Millis) -> Result<Ticket, Refusal>,
    ) -> Result<Outcomes, Error> {
        let ticket = loop {
            let now = self.now();
            match submit(&mut self.net.cluster, now) {
                Ok(t) => break t,
                Err(Refusal::Busy) => self.turn(None).map_err(poll_error)?,
                Err(Refusal::Invalid(e)) => return Err(e.into()),
            }
        };
        self.jobs.insert(ticket, BATCH);
        loop {
            self.collect();
            if let Some(at) = self.batches.iter().position(|(t, _)| *t == ticket) {
                return Ok(self.batches.swap_remove(at).1);
            }
            self.turn(None).map_err(poll_error)?;
        }
    }

    /// Makes the engine a client of the command API ([`Memcache`](crate::Memcache)):
    /// shareable, every command with pymemcache's names and results.
    #[must_use]
    pub fn into_client(self) -> super::EngineClient {
        super::EngineClient::new(self)
    }
}

fn poll_error(e: io::Error) -> Error {
    Error::Io {
        server: "mio poll".into(),
        source: std::sync::Arc::new(e),
    }
}

/// The milliseconds since `origin`, without `Duration::as_millis`'s
/// 128-bit division (the clock is read on every turn).
pub(super) fn millis_since(origin: Instant) -> Millis {
    let d = origin.elapsed();
    Millis(d.as_secs().saturating_mul(1000) + u64::from(d.subsec_millis()))
}
