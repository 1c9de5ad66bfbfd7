//! The driver: memcached connections inside a user's `mio::Poll`.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use memcrab_core::meta::MetaRequest;
use memcrab_core::router::{NodeId, Route, Router};
use memcrab_core::{Millis, Reply, Request, RequestId};
use mio::event::Event;
use mio::{Registry, Token};

use super::link::{Link, Readiness};
use super::options::DriverOptions;
use crate::address::Resolve;
use crate::address::{ServerAddr, ToServerAddr};
use crate::error::Error;

/// Names a submitted request: the connection's token and the request's id
/// on it. Its [`Completion`] carries the same ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket {
    /// The token of the connection the request went to.
    pub token: Token,
    /// The request's id on that connection (ids increase per connection).
    pub id: RequestId,
}

/// A finished request: its reply, or why there is none.
#[derive(Debug)]
pub struct Completion {
    /// The request this answers.
    pub ticket: Ticket,
    /// The reply, or the error (the server's error line, a timeout, the
    /// connection breaking), naming the server.
    pub result: Result<Reply, Error>,
}

/// Why [`Driver::submit`] did not take a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SubmitError {
    /// The connection's unwritten bytes reached
    /// [`DriverOptions::max_buffered`]: let the loop run (the socket takes
    /// bytes on its next writable event) and submit again. The request was
    /// not queued.
    Full,
    /// The request was refused: a bad key or value, no server for it, a
    /// connection that cannot be opened.
    Failed(Error),
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Full => f.write_str("the connection's write buffer is full"),
            SubmitError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SubmitError {
    /// Transparent: a refused request's causes are its error's.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SubmitError::Failed(e) => e.source(),
            _ => None,
        }
    }
}

impl From<Error> for SubmitError {
    fn from(e: Error) -> Self {
        SubmitError::Failed(e)
    }
}

/// memcached connections driven by the caller's own `mio::Poll`.
///
/// # Methods by kind
///
/// - Setup: [`new`](Self::new), [`add_server`](Self::add_server) (connects
///   without blocking, registers under the caller's tokens).
/// - Inputs: [`submit`](Self::submit) and
///   [`submit_to`](Self::submit_to) (requests, any time),
///   [`handle_event`](Self::handle_event) (readiness),
///   [`handle_timeout`](Self::handle_timeout) (the clock).
/// - Outputs: [`flush`](Self::flush) (writes what was submitted),
///   [`poll`](Self::poll) (completed requests),
///   [`poll_timeout`](Self::poll_timeout) (when to wake up).
/// - Getters: [`in_flight`](Self::in_flight),
///   [`buffered`](Self::buffered), [`wants_write`](Self::wants_write),
///   [`route`](Self::route).
///
/// The loop: `flush()`; `poll.poll(&mut events, driver.poll_timeout())`
/// (or a shorter timeout of the caller's); `handle_event(e)` for each event
/// (it returns false for tokens that are not the driver's);
/// `handle_timeout()`; `poll()` until `None`.
///
/// Replies on one connection come back in submission order; a connection
/// that breaks (the server closes or dies, a deadline passes, a malformed
/// reply) hands every request in flight on it an error, never another
/// request's reply. The next request routed to it opens a new socket under
/// the same token (unless the router says the server should be left alone
/// for a while: then the request fails at once).
pub struct Driver {
    registry: Registry,
    opts: DriverOptions,
    links: Vec<Link>,
    by_token: HashMap<Token, usize>,
    /// Link indices of each node, by `NodeId`.
    nodes: Vec<Vec<usize>>,
    router: Router,
    /// Links with submitted bytes to write.
    queued: Vec<usize>,
    done: VecDeque<Completion>,
    buf: Box<[u8]>,
    origin: Instant,
    /// No request's deadline is earlier than this (it may be earlier than
    /// the true next deadline, never later): finding the true one scans
    /// every request in flight, so that is done only when this is due.
    next_deadline: Option<Millis>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("links", &self.links.len())
            .field("completed", &self.done.len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Creates a driver that registers its sockets with `registry`; does no
    /// I/O.
    ///
    /// # Errors
    ///
    /// If the registry cannot be cloned.
    pub fn new(registry: &Registry, options: DriverOptions) -> io::Result<Driver> {
        let origin = Instant::now();
        Ok(Driver {
            registry: registry.try_clone()?,
            router: Router::new(
                std::iter::empty::<&str>(),
                options.distribution,
                options.health,
                Millis(0),
            ),
            buf: vec![0; options.read_buffer.max(512)].into_boxed_slice(),
            opts: options,
            links: Vec::new(),
            by_token: HashMap::new(),
            nodes: Vec::new(),
            queued: Vec::new(),
            done: VecDeque::new(),
            origin,
            next_deadline: None,
        })
    }

    fn now(&self) -> Millis {
        Millis::from_duration(self.origin.elapsed())
    }

    /// Adds a server with one connection per token in `tokens`, and returns
    /// its node id.
    ///
    /// The server's name for the hash router is pymemcache's (`host:port`),
    /// so keys land where a pymemcache `HashClient` puts them. The name is
    /// resolved here (a host name may block on DNS); the connects start
    /// without blocking and finish in the event loop.
    ///
    /// # Errors
    ///
    /// A bad address, a unix socket (TCP only), a token already in use, no
    /// token.
    pub fn add_server(
        &mut self,
        server: impl ToServerAddr,
        tokens: &[Token],
    ) -> Result<NodeId, Error> {
        let addr: ServerAddr = server
            .to_server_addr()
            .map_err(|e| Error::Config(e.to_string()))?;
        if matches!(addr, ServerAddr::Unix(_)) {
            return Err(Error::Config(format!(
                "{addr}: the mio driver connects over TCP only"
            )));
        }
        if tokens.is_empty() {
            return Err(Error::Config(format!("{addr}: no token given")));
        }
        if let Some(t) = tokens.iter().find(|t| self.by_token.contains_key(t)) {
            return Err(Error::Config(format!("token {} is already in use", t.0)));
        }
        let sa = *addr
            .resolve()
            .map_err(|e| Error::io(&addr, e))?
            .first()
            .ok_or_else(|| Error::Config(format!("{addr} resolves to no address")))?;
        let name: Arc<str> = addr.pymemcache_name().into();
        let node = self.router.add_node(&name);
        if self.nodes.len() <= node.0 {
            self.nodes.resize_with(node.0 + 1, Vec::new);
        }
        for &token in tokens {
            let link = Link::open(&self.registry, token, node, sa, name.clone(), &self.opts);
            self.by_token.insert(token, self.links.len());
            self.nodes[node.0].push(self.links.len());
            self.links.push(link);
        }
        Ok(node)
    }

    /// Records a readiness event and does the I/O it allows; returns false
    /// (doing nothing) if `event`'s token is not one of the driver's.
    pub fn handle_event(&mut self, event: &Event) -> bool {
        self.handle_readiness(event.token(), Readiness::of(event))
    }

    /// [`handle_event`](Self::handle_event) for an event's token and
    /// readiness, kept apart from the event.
    pub(crate) fn handle_readiness(&mut self, token: Token, readiness: Readiness) -> bool {
        let Some(i) = self.index(token) else {
            return false;
        };
        self.links[i].handle_readiness(readiness);
        self.drive(i);
        true
    }

    /// Returns the token of the connection a request for `key` goes to: the
    /// router's server for the key, and of its connections the one with the
    /// fewest requests in flight.
    ///
    /// # Errors
    ///
    /// [`Error::NoServers`] when no server is live; a connection error when
    /// the key's server failed less than its retry timeout ago.
    pub fn route(&mut self, key: &[u8]) -> Result<Token, Error> {
        let node = self.node_for(key)?;
        Ok(self.links[self.pick(node)].token)
    }

    /// The link of `node` with the fewest requests in flight, preferring
    /// open ones.
    pub(crate) fn pick(&self, node: NodeId) -> usize {
        let links = &self.nodes[node.0];
        let mut best = links[0];
        let mut best_load = usize::MAX;
        for &i in links {
            let l = &self.links[i];
            let load = l.conn.in_flight() + if l.is_broken() { 1 << 40 } else { 0 };
            if load < best_load {
                best = i;
                best_load = load;
            }
        }
        best
    }

    /// Submits `request` to the server its key belongs to (the first key of
    /// a multi-key get: split keys by [`route`](Self::route) first when they
    /// may live on several servers). It is written at the next
    /// [`flush`](Self::flush).
    ///
    /// # Errors
    ///
    /// [`SubmitError::Full`] if the connection's write buffer is full;
    /// [`SubmitError::Failed`] for a request without a key (use
    /// [`submit_to`](Self::submit_to)), a bad key or value, or a server that
    /// is down.
    pub fn submit(&mut self, request: &Request<'_>) -> Result<Ticket, SubmitError> {
        let key = request_key(request).ok_or_else(|| {
            Error::Config("this request has no key: send it with submit_to".into())
        })?;
        let token = self.route(key)?;
        self.submit_to(token, request)
    }

    /// Submits `request` on the connection of `token`, opening a new socket
    /// first if the connection broke.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit); an unknown token is
    /// [`SubmitError::Failed`].
    pub fn submit_to(
        &mut self,
        token: Token,
        request: &Request<'_>,
    ) -> Result<Ticket, SubmitError> {
        let i = self.ready_link(token)?;
        let deadline = self.deadline();
        let link = &mut self.links[i];
        let id = link
            .conn
            .submit(request, deadline)
            .map_err(|e| link.error(e))?;
        self.queue(i);
        Ok(Ticket { token, id })
    }

    /// Submits a meta `request` to the server of its key; see
    /// [`submit`](Self::submit).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_meta(&mut self, request: &MetaRequest<'_>) -> Result<Ticket, SubmitError> {
        let key = request.key().ok_or_else(|| {
            Error::Config("this request has no key: send it with submit_meta_to".into())
        })?;
        let token = self.route(key)?;
        self.submit_meta_to(token, request)
    }

    /// Submits a meta `request` on the connection of `token`; see
    /// [`submit_to`](Self::submit_to).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_meta_to(
        &mut self,
        token: Token,
        request: &MetaRequest<'_>,
    ) -> Result<Ticket, SubmitError> {
        let i = self.ready_link(token)?;
        let deadline = self.deadline();
        let link = &mut self.links[i];
        let id = link
            .conn
            .submit_meta(request, deadline)
            .map_err(|e| link.error(e))?;
        self.queue(i);
        Ok(Ticket { token, id })
    }

    fn deadline(&mut self) -> Option<Millis> {
        let deadline = self.opts.timeout.map(|t| self.now() + t)?;
        self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
        Some(deadline)
    }

    /// The index of `token`'s link, reopened if it broke, if it has room.
    fn ready_link(&mut self, token: Token) -> Result<usize, SubmitError> {
        let Some(i) = self.index(token) else {
            return Err(Error::Config(format!("token {} is not the driver's", token.0)).into());
        };
        if self.links[i].is_broken() {
            self.reopen(i);
        }
        let link = &self.links[i];
        if link.conn.transmit().len() >= self.opts.max_buffered {
            return Err(SubmitError::Full);
        }
        if link.is_broken() {
            return Err(link.closed_error().into());
        }
        Ok(i)
    }

    fn reopen(&mut self, i: usize) {
        let old = &mut self.links[i];
        old.close(&self.registry);
        let (token, node, addr, server) = (old.token, old.node, old.addr, old.server.clone());
        self.links[i] = Link::open(&self.registry, token, node, addr, server, &self.opts);
        if self.links[i].is_broken() {
            self.router.report_failure(node, self.now());
        }
    }

    fn queue(&mut self, i: usize) {
        let link = &mut self.links[i];
        if !link.queued {
            link.queued = true;
            self.queued.push(i);
        }
    }

    /// Writes what was submitted since the last flush (as much as the
    /// sockets take; the rest goes on writable events).
    pub fn flush(&mut self) {
        let mut queued = std::mem::take(&mut self.queued);
        for &i in &queued {
            self.links[i].queued = false;
            self.drive(i);
        }
        queued.clear();
        if self.queued.is_empty() {
            self.queued = queued;
        }
    }

    /// Moves link `i`'s bytes and collects its replies; closes its socket
    /// if it broke, and tells the router.
    fn drive(&mut self, i: usize) {
        self.drive_at(i, None);
    }

    /// As [`drive`](Self::drive), applying deadlines at `now` if given.
    fn drive_at(&mut self, i: usize, due: Option<Millis>) {
        let link = &mut self.links[i];
        let was_connecting = link.is_connecting();
        // A connection the server closes while idle (memcached's idle
        // timeout) is not a failure of the server; one that breaks while
        // connecting or with requests in flight is.
        let had_work = was_connecting || link.conn.in_flight() > 0 || link.conn.wants_write();
        link.drive(due, &mut self.buf, &mut self.done);
        if link.is_broken() {
            let now = due.unwrap_or_else(|| Millis::from_duration(self.origin.elapsed()));
            if link.has_socket() {
                link.close(&self.registry);
                if had_work {
                    self.router.report_failure(link.node, now);
                }
            }
        } else if was_connecting && !link.is_connecting() {
            self.router.report_success(link.node);
        }
    }

    /// Returns the next completed request, or `None`.
    ///
    /// On each connection, completions come in submission order; noreply
    /// requests complete only if they fail (with the meta protocol) or not
    /// at all.
    #[must_use]
    pub fn poll(&mut self) -> Option<Completion> {
        self.done.pop_front()
    }

    /// Returns how long the caller's `poll.poll` may sleep before
    /// [`handle_timeout`](Self::handle_timeout) is due: until the earliest
    /// deadline of a request in flight; `Some(ZERO)` when completions are
    /// waiting in [`poll`](Self::poll) or bytes wait for a
    /// [`flush`](Self::flush); `None` when nothing waits.
    ///
    /// It changes when a request is submitted or completes.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if !self.done.is_empty() || !self.queued.is_empty() {
            return Some(Duration::ZERO);
        }
        let next = self.next_deadline?;
        // Round up: waking a millisecond early would find nothing due.
        Some(next.saturating_since(self.now()) + Duration::from_millis(1))
    }

    /// Fails the requests whose deadline has passed (each connection with
    /// one closes). Calling it early is a no-op.
    pub fn handle_timeout(&mut self) {
        let now = self.now();
        if self.next_deadline.is_none_or(|d| d > now) {
            return;
        }
        let mut next: Option<Millis> = None;
        for i in 0..self.links.len() {
            let due = self.links[i].conn.poll_timeout();
            if due.is_some_and(|t| t <= now) {
                self.drive_at(i, Some(now));
            }
            if let Some(t) = self.links[i].conn.poll_timeout() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        self.next_deadline = next;
    }

    /// Returns the number of requests awaiting a reply on `token`'s
    /// connection (0 for an unknown token).
    #[must_use]
    pub fn in_flight(&self, token: Token) -> usize {
        self.link(token).map_or(0, |l| l.conn.in_flight())
    }

    /// Returns the number of requests awaiting a reply on every connection.
    #[must_use]
    pub fn total_in_flight(&self) -> usize {
        self.links.iter().map(|l| l.conn.in_flight()).sum()
    }

    /// Returns the bytes submitted on `token`'s connection and not yet
    /// written; at [`DriverOptions::max_buffered`] it refuses requests.
    #[must_use]
    pub fn buffered(&self, token: Token) -> usize {
        self.link(token).map_or(0, |l| l.conn.transmit().len())
    }

    /// Returns true if a connection that is not broken has bytes it has
    /// not yet written.
    #[must_use]
    pub fn has_unwritten(&self) -> bool {
        self.links
            .iter()
            .any(|l| !l.is_broken() && l.conn.wants_write())
    }

    /// Returns true if `token`'s connection has bytes to write.
    #[must_use]
    pub fn wants_write(&self, token: Token) -> bool {
        self.link(token).is_some_and(|l| l.conn.wants_write())
    }

    /// Returns true if `token`'s connection is open (connected or
    /// connecting, not broken).
    #[must_use]
    pub fn is_open(&self, token: Token) -> bool {
        self.link(token).is_some_and(|l| !l.is_broken())
    }

    /// Returns the tokens of `node`'s connections.
    pub fn tokens(&self, node: NodeId) -> impl Iterator<Item = Token> + '_ {
        self.nodes
            .get(node.0)
            .into_iter()
            .flatten()
            .map(|&i| self.links[i].token)
    }

    /// Returns the node of `token`'s connection.
    #[must_use]
    pub fn node_of(&self, token: Token) -> Option<NodeId> {
        self.link(token).map(|l| l.node)
    }

    /// Returns the node `key` belongs to (without health checks).
    pub(crate) fn node_for(&mut self, key: &[u8]) -> Result<NodeId, Error> {
        if self.nodes.len() == 1 && self.nodes[0].iter().any(|&i| !self.links[i].is_broken()) {
            // One server, reachable: nothing to hash, no health to check.
            return Ok(NodeId(0));
        }
        let now = self.now();
        match self.router.node_for(key, now) {
            Route::Node(node) => Ok(node),
            Route::Wait(node) => {
                let i = self.nodes[node.0][0];
                Err(self.links[i].closed_error())
            }
            Route::NoNodes => Err(Error::NoServers),
        }
    }

    pub(crate) fn link_token(&self, i: usize) -> Token {
        self.links[i].token
    }

    pub(crate) fn link_in_flight(&self, i: usize) -> usize {
        self.links[i].conn.in_flight()
    }

    pub(crate) fn links_of(&self, node: NodeId) -> &[usize] {
        &self.nodes[node.0]
    }

    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn link(&self, token: Token) -> Option<&Link> {
        self.index(token).map(|i| &self.links[i])
    }

    /// The index of `token`'s link: tokens given in order from 0 (as the
    /// engine gives them) are their own index, others are looked up.
    fn index(&self, token: Token) -> Option<usize> {
        match self.links.get(token.0) {
            Some(l) if l.token == token => Some(token.0),
            _ => self.by_token.get(&token).copied(),
        }
    }
}

/// The key a request is routed by: its key, or its first key.
pub(crate) fn request_key<'a>(request: &Request<'a>) -> Option<&'a [u8]> {
    match *request {
        Request::Store { key, .. }
        | Request::Touch { key, .. }
        | Request::Delete { key, .. }
        | Request::Incr { key, .. }
        | Request::Decr { key, .. } => Some(key),
        Request::Get { keys, .. } => keys.first().copied(),
        _ => None,
    }
}
