//! The sans-IO client over one or many servers: every decision a memcached
//! client makes, with no socket and no clock.
//!
//! See [`Cluster`].

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::error::Error;
use crate::router::{NodeId, Route, Router};
use crate::time::Millis;

mod config;
mod conns;
mod fault;
mod idle;
mod input;
mod merge;
pub mod slots;
mod submit;
#[cfg(test)]
mod tests;
mod ticket;
mod wire;

pub use config::ClusterConfig;
pub use fault::Fault;
pub use submit::Checked;
pub use ticket::{Outcome, Outcomes, Ticket};

use conns::ConnSlot;
use ticket::TicketState;

/// Names one connection of a [`Cluster`]. [`index`](Self::index) is small
/// and reused after the connection closes: a driver can keep its sockets in
/// a `Vec` under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl ConnId {
    /// Returns the connection's slot index.
    #[must_use]
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// What a [`Cluster`] asks its driver to do, or tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Event {
    /// Open a socket to `server` for `conn`, then report
    /// [`handle_connected`](Cluster::handle_connected) or
    /// [`handle_failure`](Cluster::handle_failure). Requests may already
    /// wait in its [`transmit`](Cluster::transmit).
    Open {
        /// The new connection.
        conn: ConnId,
        /// The server to connect to.
        server: NodeId,
    },
    /// Close the socket of `conn` and forget it: it broke, or idled out.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// `server` broke a connection with an error no request awaited (an
    /// error line after a noreply request that already counted as done, or
    /// bytes nobody asked for). Nothing is retried or lost silently: the
    /// driver can log it; a `Close` for the connection follows.
    Unsolicited {
        /// The server.
        server: NodeId,
        /// What it sent.
        error: Error,
    },
}

/// Why [`Cluster::submit`] refused a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A request is bad (a key, an argument, a value too large); nothing
    /// was sent.
    Invalid(Error),
    /// A server of the batch has no connection with room (every one at
    /// the depth or holding `max_buffered` unwritten bytes, and
    /// `max_connections` open): wait for a ticket to complete (or the
    /// socket to take bytes) and submit again. Nothing was sent.
    Busy,
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Invalid(e)
    }
}

/// One server: its ring name and its connections.
#[derive(Debug)]
struct Server {
    name: String,
    removed: bool,
    conns: SmallVec<[ConnId; 4]>,
    /// Its idle connections, the most recently idle last (`idle.rs`).
    idle: VecDeque<ConnId>,
    /// Its own limit of connections, if not the config's.
    max_conns: Option<usize>,
}

/// The sans-IO memcached client: routing, node health, connection
/// bookkeeping, splitting and merging, `ignore_exc`, over one or many
/// servers, driven by a transport that only opens sockets, moves bytes and
/// tells the time (quinn-proto's `Endpoint` is the model).
///
/// # Driving it
///
/// The cluster owns one [`Connection`](crate::Connection) per socket and decides everything;
/// its driver owns the sockets. Methods by kind:
///
/// - Commands: [`submit`](Self::submit) and
///   [`submit_meta`](Self::submit_meta) validate a batch once (a bad key
///   anywhere sends nothing), route each key, split multi-key gets by
///   server, encode the requests into connections, and return a
///   [`Ticket`]. [`submit_to`](Self::submit_to) sends a batch to one
///   server (every server's `stats`).
/// - Inputs from the driver: [`handle_connected`](Self::handle_connected),
///   [`handle_failure`](Self::handle_failure) (could not connect, read or
///   write), [`handle_received`](Self::handle_received) (bytes read),
///   [`handle_eof`](Self::handle_eof), [`advance_transmit`](Self::advance_transmit)
///   (bytes written), [`handle_timeout`](Self::handle_timeout) (the time).
/// - Outputs: [`poll_event`](Self::poll_event) (open a socket, close one),
///   [`transmit`](Self::transmit) (bytes to write on a connection),
///   [`poll_timeout`](Self::poll_timeout) (when to call `handle_timeout`),
///   [`poll_done`](Self::poll_done) (tickets completed) and
///   [`take`](Self::take) (a completed ticket's results, one per request).
/// - Getters: [`is_done`](Self::is_done), [`conns_of`](Self::conns_of),
///   [`wants_read`](Self::wants_read), [`server_of`](Self::server_of).
///
/// After any input, a driver: handles every [`Event`]; writes
/// `transmit(conn)` of each connection that has bytes and reports what the
/// socket took; reads connections that [`wants_read`](Self::wants_read);
/// arms a timer for `poll_timeout()`; collects `poll_done()`. Time is
/// monotonic milliseconds from any origin, passed in; nothing here reads a
/// clock.
///
/// Results are pymemcache's, per request: a reply, `None` for a request
/// that awaited no reply and was sent, or a [`Fault`] naming the server.
/// A server skipped by node health answers with the command's default (a
/// miss, `false`) without I/O; with every server down, requests fail with
/// [`Fault::NoServers`]. A write is never sent twice: retries are the
/// caller's, per request, decided by [`command::retry`](crate::command::retry).
///
/// # Example
///
/// A complete driver over an in-memory "server" that answers `STORED`:
///
/// ```
/// use memcrab_core::cluster::{Cluster, ClusterConfig, Event};
/// use memcrab_core::{Millis, Reply, Request, StoreCommand};
///
/// let mut cluster: Cluster<String> = Cluster::new(ClusterConfig::default(), ["a:11211"]);
/// let set = Request::Store {
///     command: StoreCommand::Set, key: b"k", value: b"v", flags: 0, exptime: 0, noreply: false,
/// };
/// let ticket = cluster.submit(Millis(0), &[set]).unwrap();
/// let Some(Event::Open { conn, .. }) = cluster.poll_event() else { panic!() };
/// cluster.handle_connected(conn);
/// assert_eq!(cluster.transmit(conn), b"set k 0 0 1\r\nv\r\n");
/// cluster.advance_transmit(Millis(0), conn, 16);
/// cluster.handle_received(Millis(1), conn, b"STORED\r\n");
/// assert_eq!(cluster.poll_done(), Some(ticket));
/// let results = cluster.take(ticket).unwrap();
/// assert_eq!(results[0], Some(Ok(Reply::Stored)));
/// ```
#[derive(Debug)]
pub struct Cluster<E> {
    config: ClusterConfig,
    router: Router,
    servers: Vec<Server>,
    conns: Vec<ConnSlot>,
    free_conns: Vec<u32>,
    tickets: Vec<TicketState<E>>,
    free_tickets: Vec<u32>,
    events: VecDeque<Event>,
    done: VecDeque<Ticket>,
    /// The latest time an input brought.
    now: Millis,
    /// Per server: single-key gets waiting to be merged.
    merging: Vec<merge::Merged>,
    /// Merged gets in flight.
    groups: Vec<Option<merge::Merged>>,
    free_groups: Vec<u32>,
    /// Per server: the fault that last counted against it (for
    /// [`ClusterConfig::fail_resting`]).
    last_fault: Vec<Option<Fault<E>>>,
}

impl<E: Clone> Cluster<E> {
    /// Creates a cluster over servers named `names` (their names on the
    /// hash ring: pymemcache's `host:port`, twemproxy's names for ketama).
    /// Nothing is opened until a request needs a connection.
    pub fn new<'n>(config: ClusterConfig, names: impl IntoIterator<Item = &'n str>) -> Self {
        let health = config.health.unwrap_or_default();
        let mut cluster = Cluster {
            router: Router::new(
                core::iter::empty::<&str>(),
                config.distribution,
                health,
                Millis(0),
            ),
            config,
            servers: Vec::new(),
            conns: Vec::new(),
            free_conns: Vec::new(),
            tickets: Vec::new(),
            free_tickets: Vec::new(),
            events: VecDeque::new(),
            done: VecDeque::new(),
            now: Millis(0),
            merging: Vec::new(),
            groups: Vec::new(),
            free_groups: Vec::new(),
            last_fault: Vec::new(),
        };
        for name in names {
            cluster.add_server(name);
        }
        cluster
    }

    /// Returns the configuration.
    #[must_use]
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Sets the reply timeout of the requests submitted from now on
    /// (`None`: forever), as [`ClusterConfig::timeout`]; requests already
    /// submitted keep their deadlines. A driver with per-call timeouts sets
    /// it before each submit.
    pub fn set_timeout(&mut self, timeout: Option<core::time::Duration>) {
        self.config.timeout = timeout;
    }

    /// Makes sure `server` has a connection, opening one (an
    /// [`Event::Open`]) if it has none with room, without a request: a
    /// driver that connects eagerly, to report an unreachable server at
    /// once. Returns the connection, or `None` for an unknown server or one
    /// at `max_connections` with every connection full. (To open another
    /// connection even when one has room:
    /// [`open_connection`](Self::open_connection).)
    ///
    /// ```
    /// use core::time::Duration;
    /// use memcrab_core::cluster::{Cluster, ClusterConfig, Event};
    /// use memcrab_core::router::NodeId;
    /// use memcrab_core::{Error, Millis, Request};
    ///
    /// let mut cluster: Cluster<String> = Cluster::new(ClusterConfig::default(), ["a:11211"]);
    /// let conn = cluster.ensure_connection(Millis(0), NodeId(0)).unwrap();
    /// assert_eq!(cluster.poll_event(), Some(Event::Open { conn, server: NodeId(0) }));
    /// cluster.handle_connected(conn);
    /// // This request (only) waits at most 5 ms for its reply.
    /// cluster.set_timeout(Some(Duration::from_millis(5)));
    /// let ticket = cluster.submit(Millis(10), &[Request::Version]).unwrap();
    /// assert_eq!(cluster.poll_timeout(), Some(Millis(15)));
    /// cluster.handle_timeout(Millis(15));
    /// assert_eq!(cluster.poll_done(), Some(ticket));
    /// let fault = cluster.take(ticket).unwrap().remove(0).unwrap().unwrap_err();
    /// assert_eq!(fault.kind(), memcrab_core::ErrorKind::Timeout);
    /// ```
    pub fn ensure_connection(&mut self, now: Millis, server: NodeId) -> Option<ConnId> {
        self.now = now;
        if self.servers.get(server.0).is_none_or(|s| s.removed) {
            return None;
        }
        self.acquire(server, now)
    }

    /// Adds a server (no I/O); its share of keys moves to it. A server
    /// removed and added again gets its old id back.
    pub fn add_server(&mut self, name: &str) -> NodeId {
        let id = self.router.add_node(name);
        if self.servers.len() <= id.0 {
            self.servers.resize_with(id.0 + 1, || Server {
                name: String::new(),
                removed: true,
                conns: SmallVec::new(),
                idle: VecDeque::new(),
                max_conns: None,
            });
            self.last_fault.resize_with(id.0 + 1, || None);
        }
        let server = &mut self.servers[id.0];
        server.name = name.into();
        server.removed = false;
        id
    }

    /// Removes a server: its keys move to the others and its connections
    /// close (their requests fail). Returns false if it was not there.
    pub fn remove_server(&mut self, id: NodeId) -> bool {
        if !self.router.remove_node(id) {
            return false;
        }
        if let Some(server) = self.servers.get_mut(id.0) {
            server.removed = true;
            let conns = core::mem::take(&mut server.conns);
            for conn in conns {
                self.close(conn, Error::UnexpectedClose);
            }
        }
        true
    }

    /// Sets how many connections `server` may have open at most, in place
    /// of [`ClusterConfig::max_connections`] (at least 1). Returns false for
    /// an unknown server.
    pub fn set_max_connections(&mut self, server: NodeId, n: usize) -> bool {
        match self.servers.get_mut(server.0) {
            Some(s) => {
                s.max_conns = Some(n.max(1));
                true
            }
            None => false,
        }
    }

    /// Returns the id of the server named `name`.
    #[must_use]
    pub fn server_id(&self, name: &str) -> Option<NodeId> {
        self.router.node_id(name)
    }

    /// Returns the ring name of a server.
    #[must_use]
    pub fn server_name(&self, id: NodeId) -> Option<&str> {
        self.servers
            .get(id.0)
            .filter(|s| !s.removed)
            .map(|s| s.name.as_str())
    }

    /// Returns every server's id, in the order they were added.
    pub fn servers(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.servers
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.removed)
            .map(|(i, _)| NodeId(i))
    }

    /// Returns the server `key` goes to at `now`, or `None` if every
    /// server is down (the key is the caller's, without prefix).
    pub fn server_for(&mut self, key: &[u8], now: Millis) -> Option<NodeId> {
        match self.route(key, now) {
            Route::Node(id) | Route::Wait(id) => Some(id),
            Route::NoNodes => None,
        }
    }

    /// Returns where `key` goes at `now`: its server, its server while it
    /// rests after a failure, or no server (the key is the caller's,
    /// without prefix).
    pub fn route_of(&mut self, key: &[u8], now: Millis) -> Route {
        self.route(key, now)
    }

    /// Returns the fault that last counted against `server`'s health (kept
    /// only with node health on).
    #[must_use]
    pub fn last_fault(&self, server: NodeId) -> Option<&Fault<E>> {
        self.last_fault.get(server.0).and_then(Option::as_ref)
    }

    /// Returns the router, for its getters (node states).
    #[must_use]
    pub fn router(&self) -> &Router {
        &self.router
    }

    fn route(&mut self, key: &[u8], now: Millis) -> Route {
        if self.servers.len() == 1 && self.config.health.is_none() {
            return match self.servers[0].removed {
                false => Route::Node(NodeId(0)),
                true => Route::NoNodes,
            };
        }
        self.router.node_for(key, now)
    }

    // ---- outputs ----

    /// Returns the next thing the driver must do, or `None`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Returns the bytes waiting to be written on `conn` (empty for a
    /// connection that is closed or unknown).
    #[must_use]
    pub fn transmit(&self, conn: ConnId) -> &[u8] {
        self.slot(conn).map_or(&[], |c| c.conn.transmit())
    }

    /// Returns the earliest time [`handle_timeout`](Self::handle_timeout)
    /// must be called: a reply's deadline or a connect deadline. It changes
    /// when a request is submitted, a reply completes or a connection
    /// opens.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.conns
            .iter()
            .filter(|c| c.live)
            .filter_map(ConnSlot::deadline)
            .min()
    }

    /// Returns the latest time an input brought (a driver that has just
    /// submitted can use it instead of reading its clock again).
    #[must_use]
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Returns the next ticket completed since the last call.
    pub fn poll_done(&mut self) -> Option<Ticket> {
        self.done.pop_front()
    }

    /// Returns true once every request of `ticket` has its result.
    #[must_use]
    pub fn is_done(&self, ticket: Ticket) -> bool {
        self.ticket(ticket).is_some_and(TicketState::is_done)
    }

    /// Takes the results of a completed ticket, one per request in
    /// submission order; `None` if it is not complete (or unknown).
    pub fn take(&mut self, ticket: Ticket) -> Option<Outcomes<E>> {
        let state = self.ticket_mut(ticket)?;
        if !state.is_done() {
            return None;
        }
        let out = match &mut state.slots[..] {
            [one] => Outcomes::from_buf([one.take()]),
            slots => slots.iter_mut().map(ticket::Slot::take).collect(),
        };
        self.free_ticket(ticket.index);
        Some(out)
    }

    /// [`take`](Self::take), handing each request's result to `each` in
    /// order instead of returning a list (a driver that maps them into
    /// its own list moves each once). False, and nothing taken, if the
    /// ticket is not complete (or unknown).
    pub fn take_each(&mut self, ticket: Ticket, mut each: impl FnMut(Outcome<E>)) -> bool {
        let Some(state) = self.ticket_mut(ticket).filter(|s| s.is_done()) else {
            return false;
        };
        for slot in &mut state.slots {
            each(slot.take());
        }
        self.free_ticket(ticket.index);
        true
    }

    /// Takes the result of a completed ticket of one request (the first
    /// request's, of a batch): [`take`](Self::take) without the list.
    /// `None` if it is not complete (or unknown); `Some(None)` for a
    /// request that awaited no reply and was sent.
    pub fn take_one(&mut self, ticket: Ticket) -> Option<Outcome<E>> {
        let state = self.ticket_mut(ticket)?;
        if !state.is_done() {
            return None;
        }
        let out = state.slots.first_mut().and_then(ticket::Slot::take);
        self.free_ticket(ticket.index);
        Some(out)
    }

    /// Gives up on `ticket`: its replies are read and dropped when they
    /// come (a connection is never left out of step), its results never
    /// delivered.
    pub fn forget(&mut self, ticket: Ticket) {
        if let Some(state) = self.ticket_mut(ticket) {
            if state.is_done() {
                self.free_ticket(ticket.index);
            } else {
                state.forgotten = true;
            }
        }
    }

    /// Returns the connections `ticket` waits on.
    #[must_use]
    pub fn conns_of(&self, ticket: Ticket) -> &[ConnId] {
        self.ticket(ticket).map_or(&[], |t| &t.conns)
    }

    /// Returns true if `conn` awaits bytes from its server.
    #[must_use]
    pub fn wants_read(&self, conn: ConnId) -> bool {
        self.slot(conn)
            .is_some_and(|c| c.open && c.conn.in_flight() > 0)
    }

    /// Returns the number of requests written (or queued to be written)
    /// and not yet answered, over every connection.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.conns
            .iter()
            .filter(|c| c.live)
            .map(|c| c.conn.in_flight())
            .sum()
    }

    /// Returns the number of requests written (or queued to be written)
    /// on `conn` and not yet answered.
    #[must_use]
    pub fn in_flight_on(&self, conn: ConnId) -> usize {
        self.slot(conn).map_or(0, |c| c.conn.in_flight())
    }

    /// Returns the live connection in slot `index`, if there is one.
    #[must_use]
    pub fn conn_at(&self, index: usize) -> Option<ConnId> {
        let c = self.conns.get(index).filter(|c| c.live)?;
        Some(ConnId {
            index: u32::try_from(index).ok()?,
            generation: c.generation,
        })
    }

    /// Returns true once the driver reported `conn` connected.
    #[must_use]
    pub fn is_connected(&self, conn: ConnId) -> bool {
        self.slot(conn).is_some_and(|c| c.open)
    }

    /// Returns the server of `conn`.
    #[must_use]
    pub fn server_of(&self, conn: ConnId) -> Option<NodeId> {
        self.slot(conn).map(|c| c.server)
    }

    /// Returns the number of open (or opening) connections to `server`.
    #[must_use]
    pub fn connection_count(&self, server: NodeId) -> usize {
        self.servers.get(server.0).map_or(0, |s| s.conns.len())
    }

    // ---- tickets ----

    fn ticket(&self, t: Ticket) -> Option<&TicketState<E>> {
        self.tickets
            .get(t.index as usize)
            .filter(|s| s.live && s.generation == t.generation)
    }

    fn ticket_mut(&mut self, t: Ticket) -> Option<&mut TicketState<E>> {
        self.tickets
            .get_mut(t.index as usize)
            .filter(|s| s.live && s.generation == t.generation)
    }

    fn new_ticket(&mut self) -> Ticket {
        let index = match self.free_tickets.pop() {
            Some(i) => i,
            None => {
                self.tickets.push(TicketState::new(0));
                u32::try_from(self.tickets.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let state = &mut self.tickets[index as usize];
        state.live = true;
        state.forgotten = false;
        Ticket {
            index,
            generation: state.generation,
        }
    }

    fn free_ticket(&mut self, index: u32) {
        if let Some(state) = self.tickets.get_mut(index as usize) {
            state.live = false;
            state.generation = state.generation.wrapping_add(1);
            state.slots.clear();
            state.conns.clear();
            state.waiting = 0;
            self.free_tickets.push(index);
        }
    }
}
