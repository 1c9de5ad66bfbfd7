//! The pipelined engine: many requests from one thread, a chosen depth in
//! flight per connection.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use memcrab_core::{GetCommand, Protocol, Reply, Request, RequestId};
use mio::{Events, Poll, Token};

use super::driver::{request_key, Completion, Driver, SubmitError};
use super::link::Readiness;
use super::merge::Batch;
use super::options::DriverOptions;
use crate::address::{ServerAddr, ToServerAddr};
use crate::error::Error;

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
    /// flight (or a full write buffer): collect replies
    /// ([`Engine::wait`]) and submit again.
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

    /// Creates the engine and starts connecting (without waiting).
    ///
    /// # Errors
    ///
    /// A bad address, no server, or a failure to create the poll.
    pub fn build(self) -> Result<Engine, Error> {
        if let Some(e) = self.bad_server {
            return Err(Error::Config(e));
        }
        if self.servers.is_empty() {
            return Err(Error::Config("the engine needs at least one server".into()));
        }
        let io = |e| Error::Io {
            server: "mio poll".into(),
            source: std::sync::Arc::new(e),
        };
        let poll = Poll::new().map_err(io)?;
        let mut driver = Driver::new(poll.registry(), self.options.clone()).map_err(io)?;
        let mut next = 0;
        for server in &self.servers {
            let tokens: Vec<Token> = (next..next + self.connections).map(Token).collect();
            next += self.connections;
            driver.add_server(server, &tokens)?;
        }
        let lanes = (0..next).map(|_| VecDeque::new()).collect();
        Ok(Engine {
            poll,
            events: Events::with_capacity(1024),
            batches: (0..driver.node_count()).map(|_| Batch::default()).collect(),
            driver,
            depth: self.depth,
            merge: self.merge_gets,
            max_merge: self.max_merge,
            meta: self.options.protocol == Protocol::Meta,
            policy: self.options.key_policy.clone(),
            limits: self.options.limits,
            lanes,
            ready: VecDeque::new(),
            backlog: VecDeque::new(),
            next_job: 0,
            awaited: 0,
        })
    }
}

/// Who awaits a wire request's reply.
#[derive(Debug)]
enum Waiter {
    /// One job.
    One(JobId),
    /// A noreply (quiet) job: a reply comes only if it fails.
    Silent(JobId),
    /// The jobs of a merged get.
    Merged(Batch),
}

/// A pipelined client over mio for throughput: one thread submits many
/// requests, the engine keeps up to `depth` of them in flight on each
/// connection and hands the replies back as they come.
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
    poll: Poll,
    events: Events,
    driver: Driver,
    depth: usize,
    merge: bool,
    max_merge: usize,
    meta: bool,
    policy: memcrab_core::KeyPolicy,
    limits: memcrab_core::Limits,
    /// Per connection (index = token), the jobs awaiting each wire
    /// request, in submission order.
    lanes: Vec<VecDeque<(RequestId, Waiter)>>,
    /// Per server, the single-key gets not yet sent.
    batches: Vec<Batch>,
    ready: VecDeque<Done>,
    /// Readiness polled but not yet handled, one connection per turn.
    backlog: VecDeque<(Token, Readiness)>,
    next_job: u64,
    /// Jobs submitted whose reply has not reached `ready`.
    awaited: usize,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("depth", &self.depth)
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

    /// Returns the number of jobs submitted whose reply has not yet come
    /// out of [`poll`](Self::poll)'s queue (noreply jobs not counted).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.awaited
    }

    /// Returns the driver underneath, for its getters.
    #[must_use]
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    fn new_job(&mut self) -> JobId {
        let job = JobId(self.next_job);
        self.next_job += 1;
        job
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
    /// any I/O (it is written at the next [`wait`](Self::wait)).
    ///
    /// A request goes to the server of its key; a multi-key get goes whole
    /// to the server of its first key (with several servers, group keys by
    /// server first: [`Driver::route`] says where each goes).
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Busy`] when every connection of the server is at
    /// the depth; [`TrySubmitError::Failed`] for a bad request or a server
    /// that is down.
    pub fn try_submit(&mut self, request: &Request<'_>) -> Result<JobId, TrySubmitError> {
        let node = match request_key(request) {
            Some(key) => self.driver.node_for(key)?,
            None => memcrab_core::router::NodeId(0),
        };
        if self.merge {
            if let Request::Get {
                command: GetCommand::Get,
                keys: [key],
            } = *request
            {
                return self.merge_get(node, key);
            }
        }
        let lane = self.free_lane(node).ok_or(TrySubmitError::Busy)?;
        let job = self.send(lane, request, Waiter::One)?;
        Ok(job)
    }

    /// The connection of `node` with the fewest requests in flight, if one
    /// is under the depth.
    fn free_lane(&self, node: memcrab_core::router::NodeId) -> Option<usize> {
        let links = self.driver.links_of(node);
        let lane = *links.iter().min_by_key(|&&i| self.lanes[i].len())?;
        (self.lanes[lane].len() < self.depth).then_some(lane)
    }

    /// Submits on connection `lane`; `waiter` makes the lane's entry.
    fn send(
        &mut self,
        lane: usize,
        request: &Request<'_>,
        waiter: impl FnOnce(JobId) -> Waiter,
    ) -> Result<JobId, TrySubmitError> {
        let token = self.driver.link_token(lane);
        let ticket = match self.driver.submit_to(token, request) {
            Ok(t) => t,
            Err(SubmitError::Full) => return Err(TrySubmitError::Busy),
            Err(SubmitError::Failed(e)) => return Err(TrySubmitError::Failed(e)),
        };
        let job = self.new_job();
        if request.is_noreply() {
            // Text noreply never answers; a quiet meta one only if it fails.
            if self.meta {
                self.lanes[lane].push_back((ticket.id, Waiter::Silent(job)));
            }
        } else {
            self.awaited += 1;
            self.lanes[lane].push_back((ticket.id, waiter(job)));
        }
        Ok(job)
    }

    fn merge_get(
        &mut self,
        node: memcrab_core::router::NodeId,
        key: &[u8],
    ) -> Result<JobId, TrySubmitError> {
        let request = Request::Get {
            command: GetCommand::Get,
            keys: &[key],
        };
        request
            .validate(&self.policy, &self.limits)
            .map_err(Error::Protocol)?;
        if self.batches[node.0].len() >= self.max_merge && !self.send_batch(node.0) {
            return Err(TrySubmitError::Busy);
        }
        let job = self.new_job();
        self.awaited += 1;
        self.batches[node.0].push(job, key);
        Ok(job)
    }

    /// Sends `node`'s batch of gets as one request if a connection has
    /// room; returns false if none has.
    fn send_batch(&mut self, node: usize) -> bool {
        let Some(lane) = self.free_lane(memcrab_core::router::NodeId(node)) else {
            return false;
        };
        let batch = std::mem::take(&mut self.batches[node]);
        let keys: Vec<&[u8]> = batch.keys().collect();
        let request = Request::Get {
            command: GetCommand::Get,
            keys: &keys,
        };
        let token = self.driver.link_token(lane);
        match self.driver.submit_to(token, &request) {
            Ok(ticket) => {
                drop(keys);
                self.lanes[lane].push_back((ticket.id, Waiter::Merged(batch)));
                true
            }
            Err(SubmitError::Full) => {
                drop(keys);
                self.batches[node] = batch;
                false
            }
            Err(SubmitError::Failed(e)) => {
                drop(keys);
                let ready = &mut self.ready;
                batch.fail(&e, &mut |job, r| ready.push_back((job, r)));
                true
            }
        }
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
            let unsent = self.batches.iter().any(|b| !b.is_empty());
            if self.awaited == 0 && !unsent && !self.driver.has_unwritten() {
                return Ok(out);
            }
            self.turn(None).map_err(poll_error)?;
        }
    }

    /// One turn of the loop: send batches, flush, poll, collect.
    fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        for node in 0..self.batches.len() {
            if !self.batches[node].is_empty() {
                self.send_batch(node);
            }
        }
        self.driver.flush();
        self.collect();
        let mut wait = match (timeout, self.driver.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if !self.ready.is_empty() {
            wait = Some(Duration::ZERO);
        }
        if self.backlog.is_empty() {
            let started = Instant::now();
            loop {
                match self.poll.poll(&mut self.events, wait) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        if wait.is_some_and(|w| started.elapsed() >= w) {
                            break;
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            self.backlog
                .extend(self.events.iter().map(|e| (e.token(), Readiness::of(e))));
        }
        // One connection per turn: its replies go back to the caller, whose
        // next requests are written at the start of the next turn, before
        // the other connections' replies are read. Each connection turns
        // around as soon as it can, and the server never waits for the
        // replies of all of them to be handled.
        if let Some((token, readiness)) = self.backlog.pop_front() {
            self.driver.handle_readiness(token, readiness);
        }
        self.driver.handle_timeout();
        self.collect();
        Ok(())
    }

    /// Moves the driver's completions to the jobs awaiting them.
    fn collect(&mut self) {
        while let Some(Completion { ticket, result }) = self.driver.poll() {
            let lane = &mut self.lanes[ticket.token.0];
            // Quiet requests before this one succeeded silently.
            while lane.front().is_some_and(|(id, _)| *id < ticket.id) {
                if let Some((_, waiter)) = lane.pop_front() {
                    abandon(waiter, &mut self.ready);
                }
            }
            if lane.front().is_none_or(|(id, _)| *id != ticket.id) {
                continue;
            }
            let Some((_, waiter)) = lane.pop_front() else {
                continue;
            };
            let ready = &mut self.ready;
            match waiter {
                Waiter::One(job) => ready.push_back((job, result)),
                Waiter::Silent(job) => {
                    self.awaited += 1;
                    ready.push_back((job, result));
                }
                Waiter::Merged(batch) => batch.split(result, &mut |job, r| {
                    ready.push_back((job, r));
                }),
            }
        }
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            if !lane.is_empty() && self.driver.link_in_flight(i) == 0 {
                // Nothing more comes on this connection: what is left were
                // quiet successes.
                for (_, waiter) in lane.drain(..) {
                    abandon(waiter, &mut self.ready);
                }
            }
        }
    }
}

/// Settles a waiter whose reply will never come: a quiet request succeeded;
/// anything else (which the connection's ordering rules out) gets an error
/// rather than hang.
fn abandon(waiter: Waiter, ready: &mut VecDeque<Done>) {
    let lost = || Error::Protocol(memcrab_core::Error::UnexpectedClose);
    match waiter {
        Waiter::Silent(_) => {}
        Waiter::One(job) => ready.push_back((job, Err(lost()))),
        Waiter::Merged(batch) => batch.fail(&lost(), &mut |job, r| ready.push_back((job, r))),
    }
}

fn poll_error(e: io::Error) -> Error {
    Error::Io {
        server: "mio poll".into(),
        source: std::sync::Arc::new(e),
    }
}
