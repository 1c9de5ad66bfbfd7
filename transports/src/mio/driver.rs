//! The driver: memcached connections inside a user's `mio::Poll`, a thin
//! driver of the core [`Cluster`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use memcrab_core::cluster::slots::{ConnSlots, TicketSlots};
use memcrab_core::cluster::{self, Cluster, Event as ClusterEvent, Refusal};
use memcrab_core::meta::MetaRequest;
use memcrab_core::router::{NodeId, Route};
use memcrab_core::{Millis, Request, RequestId};
use mio::event::Event;
use mio::{Registry, Token};

use super::io::Net;
use super::options::DriverOptions;
use super::ticket::{Completion, SubmitError, Ticket};
use crate::address::{Resolve, ServerAddr, ToServerAddr};
use crate::error::Error;

/// One of the caller's tokens: its server, and the connection (by index)
/// its socket carries now.
#[derive(Debug)]
struct TokenSlot {
    token: Token,
    server: NodeId,
    conn: Option<usize>,
}

/// memcached connections driven by the caller's own `mio::Poll`.
///
/// A thin driver of the core [`Cluster`]: the cluster routes each key (a
/// multi-key get is split by server and its items merged back), chooses
/// the connection, keeps node health and deadlines; the driver opens
/// sockets under the caller's tokens, moves bytes and tells the time.
///
/// # Methods by kind
///
/// - Setup: [`new`](Self::new), [`add_server`](Self::add_server) (up to
///   one connection per token, registered under the caller's tokens).
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
/// request's reply. A server's connections open as requests need them
/// (another one rather than pipelining on a busy one, up to one per
/// token), a broken one reopens under its token. A server that failed is
/// left alone for its retry timeout: requests routed to it fail at once
/// with the error that put it to rest, while [`submit_to`](Self::submit_to)
/// still opens a connection.
pub struct Driver {
    registry: Registry,
    net: Net,
    tokens: Vec<TokenSlot>,
    by_token: HashMap<Token, usize>,
    /// Per connection index: its token's slot.
    token_of: ConnSlots<usize>,
    /// Per cluster ticket index: the cluster's ticket and the caller's.
    jobs: TicketSlots<Ticket>,
    done: VecDeque<Completion>,
    next_id: u64,
    /// Requests were submitted since the last flush.
    unflushed: bool,
    /// The token the next socket opened goes under, if free.
    preferred: Option<usize>,
    origin: Instant,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("tokens", &self.tokens.len())
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
    /// If the registry cannot be cloned; `InvalidInput` for a key prefix
    /// that is not a valid key.
    pub fn new(registry: &Registry, options: DriverOptions) -> io::Result<Driver> {
        let o = &options;
        o.check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut config = o.cluster_config().depth(usize::MAX);
        config.spread = true;
        config.max_buffered = Some(o.max_buffered);
        config.fail_resting = true;
        let cluster = Cluster::new(config, std::iter::empty());
        Ok(Driver {
            registry: registry.try_clone()?,
            net: Net::new(cluster, Vec::new(), o.no_delay),
            tokens: Vec::new(),
            by_token: HashMap::new(),
            token_of: ConnSlots::new(),
            jobs: TicketSlots::new(),
            done: VecDeque::new(),
            next_id: 0,
            unflushed: false,
            preferred: None,
            origin: Instant::now(),
        })
    }

    fn now(&self) -> Millis {
        super::engine::millis_since(self.origin)
    }

    /// Adds a server with up to one connection per token in `tokens`, and
    /// returns its node id.
    ///
    /// The server's name for the hash router is pymemcache's (`host:port`),
    /// so keys land where a pymemcache `HashClient` puts them. The name is
    /// resolved here (a host name may block on DNS); connections open
    /// without blocking, as requests need them, and finish in the event
    /// loop.
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
        let node = self.net.cluster.add_server(&addr.pymemcache_name());
        let net = &mut self.net;
        if net.addrs.len() <= node.0 {
            net.addrs.resize(node.0 + 1, addr.clone());
            net.resolved.resize(node.0 + 1, None);
        }
        net.addrs[node.0] = addr;
        net.resolved[node.0] = Some(sa);
        for &token in tokens {
            self.by_token.insert(token, self.tokens.len());
            self.tokens.push(TokenSlot {
                token,
                server: node,
                conn: None,
            });
        }
        let count = self.tokens(node).count();
        self.net.cluster.set_max_connections(node, count);
        Ok(node)
    }

    /// Records a readiness event and does the I/O it allows; returns false
    /// (doing nothing) if `event`'s token is not one of the driver's.
    pub fn handle_event(&mut self, event: &Event) -> bool {
        let Some(slot) = self.slot(event.token()) else {
            return false;
        };
        let now = self.now();
        if let Some(i) = self.tokens[slot].conn {
            if let Some(Some(sock)) = self.net.socks.get_mut(i) {
                sock.handle(event);
                self.net.drive(&self.registry, now, i);
            }
        }
        self.settle(now);
        true
    }

    /// Writes what was submitted since the last flush (as much as the
    /// sockets take; the rest goes on writable events).
    pub fn flush(&mut self) {
        let now = self.now();
        self.unflushed = false;
        self.net.write_all(&self.registry, now);
        self.settle(now);
    }

    /// Fails the requests whose deadline has passed (each connection with
    /// one closes). Calling it early is a no-op.
    pub fn handle_timeout(&mut self) {
        let now = self.now();
        if self.net.cluster.poll_timeout().is_some_and(|d| d <= now) {
            self.net.cluster.handle_timeout(now);
            self.settle(now);
        }
    }

    /// Opens and closes the sockets the cluster asks for, then collects
    /// the requests it completed.
    fn settle(&mut self, now: Millis) {
        self.handle_events(now);
        self.collect();
    }

    /// Opens and closes the sockets the cluster asks for.
    fn handle_events(&mut self, now: Millis) {
        while let Some(event) = self.net.cluster.poll_event() {
            match event {
                ClusterEvent::Open { conn, server } => {
                    let preferred = self.preferred.take().filter(|&s| {
                        self.tokens[s].server == server && self.tokens[s].conn.is_none()
                    });
                    let free = preferred.or_else(|| {
                        self.tokens
                            .iter()
                            .position(|t| t.server == server && t.conn.is_none())
                    });
                    let Some(slot) = free else {
                        let e = Error::Config("every token of the server is in use".into());
                        self.net.cluster.handle_failure(now, conn, e);
                        continue;
                    };
                    self.tokens[slot].conn = Some(conn.index());
                    self.token_of.insert(conn, slot);
                    let token = self.tokens[slot].token;
                    self.net.open(&self.registry, now, (conn, server), token);
                }
                ClusterEvent::Close { conn } => {
                    if let Some(slot) = self.token_of.remove(conn) {
                        self.tokens[slot].conn = None;
                    }
                    self.net.close(&self.registry, conn);
                }
                // Nobody awaited it; the connection's Close follows.
                ClusterEvent::Unsolicited { .. } => {}
            }
        }
    }

    /// Hands the requests the cluster completed to [`poll`](Self::poll).
    fn collect(&mut self) {
        while let Some(t) = self.net.cluster.poll_done() {
            let Some(ticket) = self.jobs.remove(t) else {
                continue;
            };
            // A request that awaited no reply and was written: nothing.
            if let Some(result) = self.net.cluster.take_one(t).flatten() {
                let result = result.map_err(|f| self.net.error_of(f));
                self.done.push_back(Completion { ticket, result });
            }
        }
    }

    /// Takes a ticket of the cluster as one of the caller's.
    fn accept(
        &mut self,
        submitted: Result<cluster::Ticket, Refusal>,
    ) -> Result<Ticket, SubmitError> {
        let t = match submitted {
            Ok(t) => t,
            Err(Refusal::Busy) => return Err(SubmitError::Full),
            Err(Refusal::Invalid(e)) => return Err(SubmitError::Failed(e.into())),
        };
        self.unflushed = true;
        let id = RequestId(self.next_id);
        self.next_id += 1;
        let token = self
            .net
            .cluster
            .conns_of(t)
            .first()
            .and_then(|c| self.token_of.get(*c).copied());
        let token = token.or((!self.tokens.is_empty()).then_some(0));
        let ticket = Ticket {
            token: token.map_or(Token(usize::MAX), |s| self.tokens[s].token),
            id,
        };
        if self.net.cluster.is_done(t) {
            // Answered at once, without I/O: a resting or missing server.
            return match self.net.cluster.take_one(t).flatten() {
                Some(Err(f)) => Err(SubmitError::Failed(self.net.error_of(f))),
                Some(Ok(reply)) => {
                    self.done.push_back(Completion {
                        ticket,
                        result: Ok(reply),
                    });
                    Ok(ticket)
                }
                None => Ok(ticket),
            };
        }
        self.jobs.insert(t, ticket);
        Ok(ticket)
    }

    /// Submits `request` to the server its key belongs to (a multi-key get
    /// is split by server and its items merged back; a keyless request
    /// goes to every server, the first one's reply kept). It is written at
    /// the next [`flush`](Self::flush).
    ///
    /// # Errors
    ///
    /// [`SubmitError::Full`] if the server's connections' write buffers
    /// are full; [`SubmitError::Failed`] for a bad key or value, or a
    /// server that is down or resting after a failure.
    pub fn submit(&mut self, request: &Request<'_>) -> Result<Ticket, SubmitError> {
        let now = self.now();
        self.submit_with(now, |c| c.submit(now, std::slice::from_ref(request)))
    }

    /// Submits `request` on the connection of `token` whatever its key
    /// (and whatever its server's health), opening a new socket under the
    /// token first if it has none: requests submitted to one token are
    /// written and answered in order.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit); an unknown token, or a socket that
    /// cannot be opened, is [`SubmitError::Failed`].
    pub fn submit_to(
        &mut self,
        token: Token,
        request: &Request<'_>,
    ) -> Result<Ticket, SubmitError> {
        let now = self.now();
        let conn = self.conn_for(now, token)?;
        self.submit_with(now, |c| {
            c.submit_on(now, conn, std::slice::from_ref(request))
        })
    }

    /// Submits a meta `request` to the server of its key; see
    /// [`submit`](Self::submit).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_meta(&mut self, request: &MetaRequest<'_>) -> Result<Ticket, SubmitError> {
        let now = self.now();
        self.submit_with(now, |c| c.submit_meta(now, std::slice::from_ref(request)))
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
        let now = self.now();
        let conn = self.conn_for(now, token)?;
        self.submit_with(now, |c| {
            c.submit_meta_on(now, conn, std::slice::from_ref(request))
        })
    }

    /// Submits with `submit`, opens what the cluster asks for and takes
    /// the ticket as one of the caller's.
    fn submit_with(
        &mut self,
        now: Millis,
        submit: impl FnOnce(&mut Cluster<Error>) -> Result<cluster::Ticket, Refusal>,
    ) -> Result<Ticket, SubmitError> {
        let submitted = submit(&mut self.net.cluster);
        self.handle_events(now);
        self.accept(submitted)
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
    /// deadline of a request in flight or a connect; `Some(ZERO)` when
    /// completions are waiting in [`poll`](Self::poll) or requests wait
    /// for a [`flush`](Self::flush); `None` when nothing waits.
    ///
    /// It changes when a request is submitted or completes.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if !self.done.is_empty() || self.unflushed {
            return Some(Duration::ZERO);
        }
        let next = self.net.cluster.poll_timeout()?;
        // Round up: waking a millisecond early would find nothing due.
        Some(next.saturating_since(self.now()) + Duration::from_millis(1))
    }

    /// Returns the token of a connection a request for `key` goes to: of
    /// the tokens of the key's server, the one whose connection has the
    /// fewest requests in flight (a token without a connection counts as
    /// idle).
    ///
    /// # Errors
    ///
    /// [`Error::NoServers`] when no server is live; the error that put the
    /// key's server to rest, while it rests after a failure.
    pub fn route(&mut self, key: &[u8]) -> Result<Token, Error> {
        let now = self.now();
        let server = match self.net.cluster.route_of(key, now) {
            Route::Node(s) => s,
            Route::Wait(s) => {
                let fault = self.net.cluster.last_fault(s).cloned();
                return Err(fault.map_or(Error::NoServers, |f| self.net.error_of(f)));
            }
            Route::NoNodes => return Err(Error::NoServers),
        };
        self.tokens
            .iter()
            .filter(|t| t.server == server)
            .min_by_key(|t| self.conn(t).map_or(0, |c| self.net.cluster.in_flight_on(c)))
            .map(|t| t.token)
            .ok_or(Error::NoServers)
    }

    /// Returns the number of requests awaiting a reply on `token`'s
    /// connection (0 for an unknown token).
    #[must_use]
    pub fn in_flight(&self, token: Token) -> usize {
        self.conn_of(token)
            .map_or(0, |c| self.net.cluster.in_flight_on(c))
    }

    /// Returns the number of requests awaiting a reply on every connection.
    #[must_use]
    pub fn total_in_flight(&self) -> usize {
        self.net.cluster.in_flight()
    }

    /// Returns the bytes submitted on `token`'s connection and not yet
    /// written; at [`DriverOptions::max_buffered`] it takes no more
    /// requests.
    #[must_use]
    pub fn buffered(&self, token: Token) -> usize {
        self.conn_of(token)
            .map_or(0, |c| self.net.cluster.transmit(c).len())
    }

    /// Returns true if a connection that is not broken has bytes it has
    /// not yet written.
    #[must_use]
    pub fn has_unwritten(&self) -> bool {
        self.net.has_unwritten()
    }

    /// Returns true if `token`'s connection has bytes to write.
    #[must_use]
    pub fn wants_write(&self, token: Token) -> bool {
        self.buffered(token) > 0
    }

    /// Returns true if `token`'s connection is open (connected or
    /// connecting, not broken).
    #[must_use]
    pub fn is_open(&self, token: Token) -> bool {
        self.conn_of(token)
            .is_some_and(|c| self.net.socks.get(c.index()).is_some_and(Option::is_some))
    }

    /// Returns the tokens of `node`'s connections.
    pub fn tokens(&self, node: NodeId) -> impl Iterator<Item = Token> + '_ {
        self.tokens
            .iter()
            .filter(move |t| t.server == node)
            .map(|t| t.token)
    }

    /// Returns the node of `token`'s connection.
    #[must_use]
    pub fn node_of(&self, token: Token) -> Option<NodeId> {
        self.slot(token).map(|s| self.tokens[s].server)
    }

    /// The connection `token`'s socket carries, opened under it now if it
    /// has none.
    fn conn_for(&mut self, now: Millis, token: Token) -> Result<cluster::ConnId, SubmitError> {
        let server = self.server_of_token(token)?;
        let slot = self.slot(token).ok_or(SubmitError::Full)?;
        if let Some(conn) = self.conn(&self.tokens[slot]) {
            return Ok(conn);
        }
        // The socket of a connection that broke may still wait for its
        // Close: let it go first.
        self.handle_events(now);
        let conn = self
            .net
            .cluster
            .open_connection(now, server)
            .ok_or(SubmitError::Full)?;
        self.preferred = Some(slot);
        self.handle_events(now);
        if self.net.cluster.conn_at(conn.index()) == Some(conn) {
            return Ok(conn);
        }
        // The socket could not even be opened.
        let fault = self.net.cluster.last_fault(server).cloned();
        Err(SubmitError::Failed(fault.map_or_else(
            || Error::Config(format!("token {}: could not open a socket", token.0)),
            |f| self.net.error_of(f),
        )))
    }

    fn server_of_token(&self, token: Token) -> Result<NodeId, SubmitError> {
        self.node_of(token).ok_or_else(|| {
            SubmitError::Failed(Error::Config(format!(
                "token {} is not the driver's",
                token.0
            )))
        })
    }

    /// The connection `token`'s socket carries now.
    fn conn_of(&self, token: Token) -> Option<cluster::ConnId> {
        self.conn(&self.tokens[self.slot(token)?])
    }

    fn conn(&self, slot: &TokenSlot) -> Option<cluster::ConnId> {
        self.net.cluster.conn_at(slot.conn?)
    }

    /// The slot of `token`: tokens given in order from 0 are their own
    /// index, others are looked up.
    fn slot(&self, token: Token) -> Option<usize> {
        match self.tokens.get(token.0) {
            Some(t) if t.token == token => Some(token.0),
            _ => self.by_token.get(&token).copied(),
        }
    }
}
