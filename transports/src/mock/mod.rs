//! `MockClient`: an in-memory memcached behind the command trait, for unit
//! tests without a server (cargo feature `mock`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use memcrab_core::cluster::{Cluster, ConnId, Event, Fault, Refusal, Ticket};
use memcrab_core::meta::MetaRequest;
use memcrab_core::model::{ConnectionId, Model, ModelConfig};
use memcrab_core::{Millis, Request};

use crate::api::Memcache;
use crate::blocking::{ClientOptions, Outcomes};
use crate::error::{Error, Result};

mod clock;

pub use clock::MockClock;

/// The name a [`MockClient`]'s errors give as their server.
const SERVER: &str = "mock";

/// An in-memory memcached behind the [`Memcache`] trait (pymemcache's
/// `MockMemcacheClient`), for unit tests with no server.
///
/// It is the real client with an in-memory wire: every call goes through the
/// core's [`Cluster`] over one server — the same key rules, serde,
/// encoding, reply mapping and `ignore_exc` as [`Client`](crate::Client) —
/// into a
/// [`memcrab_core::model::Model`], which answers as memcached 1.6 does:
/// flags, cas tokens, TTLs on an injectable [`MockClock`], incr/decr
/// wrapping and non-numeric errors, append/prepend, the item size limit,
/// `flush_all` with a delay, the meta commands. Nothing is shared between
/// two `MockClient`s but a clock handed to both.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use memcrab_transport::mock::MockClient;
/// use memcrab_transport::{Memcache, StoreOptions};
///
/// let cache = MockClient::new();
/// cache.set_with("session", "ada", StoreOptions::new().expire(Duration::from_secs(60)))?;
/// assert_eq!(cache.get::<String>("session")?.as_deref(), Some("ada"));
/// assert_eq!(cache.incr("hits", 1)?, None);
///
/// cache.advance(Duration::from_secs(60));
/// assert_eq!(cache.get::<String>("session")?, None);
/// assert!(cache.get::<String>("no spaces allowed").is_err());
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
pub struct MockClient {
    opts: ClientOptions,
    clock: MockClock,
    wire: Mutex<Wire>,
}

/// The server, the client's cluster of one server, and which of the
/// server's connections each of the cluster's connections is.
struct Wire {
    server: Model,
    cluster: Cluster<Error>,
    conns: HashMap<ConnId, ConnectionId>,
}

impl std::fmt::Debug for MockClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockClient")
            .field("options", &self.opts)
            .field("time", &self.clock.elapsed())
            .finish_non_exhaustive()
    }
}

impl Default for MockClient {
    fn default() -> Self {
        MockClient::new()
    }
}

impl MockClient {
    /// Creates an empty in-memory server with the default options
    /// (pymemcache's: raw values, `default_noreply` true, ASCII keys).
    #[must_use]
    pub fn new() -> MockClient {
        MockClient::builder().build_unchecked()
    }

    /// Starts building a mock with options.
    pub fn builder() -> MockClientBuilder {
        MockClientBuilder {
            opts: ClientOptions::default(),
            clock: MockClock::new(),
            server: ModelConfig::default(),
        }
    }

    /// Returns the clock the mock's server runs on.
    #[must_use]
    pub fn clock(&self) -> &MockClock {
        &self.clock
    }

    /// Moves the server's clock forward by `d` (TTLs and delayed flushes
    /// follow).
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// Sets the server's clock to `since_origin` (never backwards).
    pub fn set_time(&self, since_origin: Duration) {
        self.clock.set_time(since_origin);
    }

    /// Sets the server's Unix time now, in seconds (for TTLs over 30 days,
    /// which memcached reads as Unix times).
    pub fn set_unix_time(&self, unix_seconds: u64) {
        let now = self.clock.now();
        self.lock().server.set_unix_time(unix_seconds, now);
    }

    /// Returns the number of live items on the server.
    #[must_use]
    pub fn item_count(&self) -> u64 {
        let now = self.clock.now();
        self.lock().server.item_count(now)
    }

    fn lock(&self) -> MutexGuard<'_, Wire> {
        // A panic mid-call leaves its connection half-used: drop them all.
        self.wire.lock().unwrap_or_else(|poisoned| {
            let mut g = poisoned.into_inner();
            let Wire {
                server,
                cluster,
                conns,
            } = &mut *g;
            cluster.close_idle_connections();
            for (_, c) in conns.drain() {
                server.disconnect(c);
            }
            g
        })
    }

    /// Runs a submitted batch to its end, as the blocking driver does,
    /// with the model for sockets: every byte the cluster transmits goes
    /// to the server, every byte the server answers comes back.
    fn drive(&self, wire: &mut Wire, ticket: Ticket) -> Outcomes {
        let now = self.clock.now();
        let Wire {
            server,
            cluster,
            conns,
        } = wire;
        // Bounded: each turn moves bytes, or the connection is told the
        // server has nothing more to say.
        for _ in 0..64 {
            while let Some(ev) = cluster.poll_event() {
                if let Event::Close { conn } = ev {
                    if let Some(c) = conns.remove(&conn) {
                        server.disconnect(c);
                    }
                }
            }
            if cluster.is_done(ticket) {
                break;
            }
            let mine: Vec<ConnId> = cluster.conns_of(ticket).to_vec();
            for conn in mine {
                if cluster.server_of(conn).is_none() {
                    continue;
                }
                if !cluster.is_connected(conn) {
                    conns.insert(conn, server.connect());
                    cluster.handle_connected(conn);
                }
                let Some(&c) = conns.get(&conn) else {
                    continue;
                };
                let tx = cluster.transmit(conn).to_vec();
                if !tx.is_empty() {
                    server.receive_on(c, &tx, now);
                    cluster.advance_transmit(now, conn, tx.len());
                }
                let answer = server.take_transmit_on(c);
                if !answer.is_empty() {
                    cluster.handle_received(now, conn, &answer);
                } else if server.is_closed_on(c) || cluster.wants_read(conn) {
                    // Closed (quit), or waiting for bytes that never come.
                    cluster.handle_eof(now, conn);
                }
            }
        }
        cluster
            .take(ticket)
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.map(|r| r.map_err(fault)))
            .collect()
    }

    /// Submits with `submit`, then drives the ticket.
    fn run(
        &self,
        submit: impl FnOnce(&mut Cluster<Error>, Millis) -> std::result::Result<Ticket, Refusal>,
    ) -> Result<Outcomes> {
        let now = self.clock.now();
        let mut wire = self.lock();
        let ticket = match submit(&mut wire.cluster, now) {
            Ok(t) => t,
            Err(Refusal::Invalid(e)) => return Err(e.into()),
            // One call at a time holds the lock: the connection is free.
            Err(Refusal::Busy) => {
                return Err(Error::PoolExhausted {
                    max_size: 1,
                    waited_ms: 0,
                })
            }
        };
        Ok(self.drive(&mut wire, ticket))
    }
}

/// A cluster fault as the transport's error, naming the mock as server.
fn fault(f: Fault<Error>) -> Error {
    match f {
        Fault::Transport { error, .. } => error,
        Fault::Core { error, .. } => Error::at(&SERVER, error),
        Fault::NoServers => Error::NoServers,
        _ => Error::at(&SERVER, memcrab_core::Error::UnexpectedClose),
    }
}

impl Memcache for MockClient {
    fn command_options(&self) -> crate::api::CommandOptions<'_> {
        self.opts.command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        self.run(|c, now| c.submit(now, requests))
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        self.run(|c, now| c.submit_meta(now, requests))
    }
}

/// The async twin: the same in-memory server, every future ready at once,
/// so async code is unit-tested with the mock too.
impl crate::async_api::AsyncMemcache for MockClient {
    fn command_options(&self) -> crate::api::CommandOptions<'_> {
        self.opts.command_options()
    }

    fn execute<'a>(
        &'a self,
        requests: &'a [Request<'a>],
    ) -> impl std::future::Future<Output = Result<Outcomes>> + Send + 'a {
        std::future::ready(Memcache::execute(self, requests))
    }

    fn execute_meta<'a>(
        &'a self,
        requests: &'a [MetaRequest<'a>],
    ) -> impl std::future::Future<Output = Result<Outcomes>> + Send + 'a {
        std::future::ready(Memcache::execute_meta(self, requests))
    }
}

/// Builds a [`MockClient`]; the setters are [`ClientBuilder`](crate::ClientBuilder)'s
/// that make sense without a socket, plus the server's settings.
///
/// # Example
///
/// ```
/// use memcrab_transport::mock::{MockClient, MockClock};
/// use memcrab_transport::{Memcache, Protocol};
///
/// let clock = MockClock::new();
/// let cache = MockClient::builder()
///     .key_prefix("app:")
///     .default_noreply(false)
///     .protocol(Protocol::Meta)
///     .clock(clock.clone())
///     .build()?;
/// assert!(cache.add("k", "v")?);
/// assert!(!cache.add("k", "v")?);
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct MockClientBuilder {
    opts: ClientOptions,
    clock: MockClock,
    server: ModelConfig,
}

crate::blocking::setters::key_option_setters!(MockClientBuilder);

impl MockClientBuilder {
    /// Sets the server's item size limit, memcached's `-I` (default 1 MiB;
    /// it counts the key and a 59-byte header too).
    pub fn server_item_size_limit(mut self, bytes: usize) -> Self {
        self.server.max_item_size = bytes;
        self
    }

    /// Sets the version the server reports (default `1.6.18`).
    pub fn server_version(mut self, version: impl Into<String>) -> Self {
        self.server.version = version.into();
        self
    }

    /// Runs the server on `clock` (default: a clock of its own, at zero).
    pub fn clock(mut self, clock: MockClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the server's Unix time at the clock's origin, in seconds.
    pub fn unix_time_at_origin(mut self, unix_seconds: u64) -> Self {
        self.server.unix_time_at_origin = unix_seconds;
        self
    }

    /// Builds the mock.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a key prefix that is not a valid key (or
    /// options with a zero keepalive setting, as every client refuses).
    pub fn build(self) -> Result<MockClient> {
        self.opts.check()?;
        Ok(self.build_unchecked())
    }

    fn build_unchecked(self) -> MockClient {
        let mut server = Model::new(self.server);
        // The cluster opens its own connections.
        server.disconnect(ConnectionId(0));
        let cluster = Cluster::new(self.opts.cluster_config(), [SERVER]);
        MockClient {
            opts: self.opts,
            clock: self.clock,
            wire: Mutex::new(Wire {
                server,
                cluster,
                conns: HashMap::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
