//! `MockClient`: an in-memory memcached behind the command trait, for unit
//! tests without a server (cargo feature `mock`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::collections::HashMap;

use bytes::Bytes;
use memcrab_core::cluster::{Cluster, ConnId, Event, Fault, Refusal, Ticket};
use memcrab_core::meta::MetaRequest;
use memcrab_core::model::{ConnectionId, Model, ModelConfig};
use memcrab_core::serde::Serde;
use memcrab_core::{Millis, Protocol, Request};

use crate::api::Memcache;
use crate::blocking::{ClientOptions, Outcomes};
use crate::error::{Error, Result};

/// The name a [`MockClient`]'s errors give as their server.
const SERVER: &str = "mock";

/// A clock that moves only when told, shared by the clients it is given to.
///
/// Cloning it gives another handle on the same time.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use memcrab_transport::mock::MockClock;
///
/// let clock = MockClock::new();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.elapsed(), Duration::from_secs(90));
/// ```
#[derive(Clone, Debug, Default)]
pub struct MockClock {
    millis: Arc<AtomicU64>,
}

impl MockClock {
    /// Creates a clock at time zero.
    #[must_use]
    pub fn new() -> MockClock {
        MockClock::default()
    }

    /// Returns the time since the clock's origin.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }

    /// Sets the time since the origin; it may not go back (an earlier time
    /// is ignored: memcached's clock is monotonic).
    pub fn set_time(&self, since_origin: Duration) {
        let ms = u64::try_from(since_origin.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_max(ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ms))
            });
    }

    fn now(&self) -> Millis {
        Millis(self.millis.load(Ordering::SeqCst))
    }
}

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
/// cache.set_with("session", "ada", StoreOptions::new().expire(60))?;
/// assert_eq!(cache.get("session")?.unwrap().as_bytes(), Some(&b"ada"[..]));
/// assert_eq!(cache.incr("hits", 1)?, None);
///
/// cache.advance(Duration::from_secs(60));
/// assert_eq!(cache.get("session")?, None);
/// assert!(cache.get("no spaces allowed").is_err());
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
    fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        self.run(|c, now| c.submit(now, requests))
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        self.run(|c, now| c.submit_meta(now, requests))
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

impl MockClientBuilder {
    /// Sets the prefix prepended to every key.
    pub fn key_prefix(mut self, prefix: impl Into<Bytes>) -> Self {
        self.opts.key_prefix = prefix.into();
        self
    }

    /// Sets the noreply default of the storage commands (default true).
    pub fn default_noreply(mut self, on: bool) -> Self {
        self.opts.default_noreply = on;
        self
    }

    /// Allows non-ASCII keys.
    pub fn allow_unicode_keys(mut self, on: bool) -> Self {
        self.opts.allow_unicode_keys = on;
        self
    }

    /// Turns errors of the get family into misses.
    pub fn ignore_exc(mut self, on: bool) -> Self {
        self.opts.ignore_exc = on;
        self
    }

    /// Sets the serde (default [`RawSerde`](memcrab_core::serde::RawSerde)).
    pub fn serde(mut self, serde: impl Serde + 'static) -> Self {
        self.opts.serde = Arc::new(serde);
        self
    }

    /// Sets the largest value the client sends or accepts (default 1 MiB +
    /// 512, as [`Client`](crate::Client)).
    pub fn max_item_size(mut self, bytes: usize) -> Self {
        self.opts.max_item_size = bytes;
        self
    }

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

    /// Sets the protocol that carries the commands (default text).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.opts.protocol = protocol;
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

    /// Replaces all client options at once (socket options are ignored).
    pub fn options(mut self, opts: ClientOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Builds the mock.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a key prefix that is not a valid key.
    pub fn build(self) -> Result<MockClient> {
        if !self.opts.key_prefix.is_empty() {
            memcrab_core::validate_key(&self.opts.key_prefix, b"", self.opts.allow_unicode_keys)
                .map_err(|e| Error::Config(format!("key_prefix: {e}")))?;
        }
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
mod tests {
    use std::time::Duration;

    use memcrab_core::meta::{MetaGet, MetaSet};
    use memcrab_core::serde::PickleSerde;

    use super::{MockClient, MockClock};
    use crate::{ErrorKind, Memcache, MetaCommands, Protocol, StoreOptions, Value};

    fn waiting(protocol: Protocol) -> MockClient {
        MockClient::builder()
            .default_noreply(false)
            .protocol(protocol)
            .build()
            .unwrap()
    }

    #[test]
    fn ttls_follow_the_clock_over_both_protocols() {
        for protocol in [Protocol::Text, Protocol::Meta] {
            let cache = waiting(protocol);
            cache
                .set_with("k", "v", StoreOptions::new().expire(10))
                .unwrap();
            cache
                .set_with("gone", "v", StoreOptions::new().expire(-1))
                .unwrap();
            assert_eq!(cache.get("gone").unwrap(), None);
            cache.advance(Duration::from_millis(9_999));
            assert!(cache.get("k").unwrap().is_some());
            assert!(cache.touch("k", 5).unwrap());
            cache.advance(Duration::from_secs(5));
            assert_eq!(cache.get("k").unwrap(), None, "{protocol:?}");
            // Over 30 days, a TTL is a Unix time.
            cache.set_unix_time(2_000_000_000);
            let at = StoreOptions::new().expire(2_000_000_060);
            cache.set_with("abs", "v", at).unwrap();
            cache.advance(Duration::from_secs(59));
            assert!(cache.get("abs").unwrap().is_some());
            cache.advance(Duration::from_secs(1));
            assert_eq!(cache.get("abs").unwrap(), None);
        }
    }

    #[test]
    fn a_shared_clock_moves_every_mock_and_never_back() {
        let clock = MockClock::new();
        let a = MockClient::builder().clock(clock.clone()).build().unwrap();
        let b = MockClient::builder().clock(clock.clone()).build().unwrap();
        a.set_with("k", "1", StoreOptions::new().expire(1)).unwrap();
        b.set_with("k", "1", StoreOptions::new().expire(1)).unwrap();
        clock.set_time(Duration::from_secs(1));
        clock.set_time(Duration::from_millis(10));
        assert_eq!(clock.elapsed(), Duration::from_secs(1));
        assert_eq!((a.get("k").unwrap(), b.get("k").unwrap()), (None, None));
    }

    #[test]
    fn flush_all_with_a_delay_and_item_counts() {
        let cache = waiting(Protocol::Text);
        cache.set("a", "1").unwrap();
        assert!(cache.flush_all(10, None).unwrap());
        cache.advance(Duration::from_secs(8));
        assert_eq!(cache.item_count(), 1);
        cache.advance(Duration::from_secs(2));
        assert_eq!(cache.get("a").unwrap(), None);
        cache.set("b", "1").unwrap();
        assert_eq!(cache.item_count(), 1);
    }

    #[test]
    fn cas_incr_and_errors_are_memcached_s() {
        let cache = waiting(Protocol::Text);
        cache.set("n", "18446744073709551615").unwrap();
        assert_eq!(cache.incr("n", 2).unwrap(), Some(1));
        assert_eq!(cache.decr("n", 5).unwrap(), Some(0));
        cache.set("s", "abc").unwrap();
        assert_eq!(cache.incr("s", 1).unwrap_err().kind(), ErrorKind::Client);
        let (_, token) = cache.gets("s").unwrap().unwrap();
        let opts = StoreOptions::new();
        assert_eq!(cache.cas("s", "x", token + 1, opts).unwrap(), Some(false));
        assert_eq!(cache.cas("s", "x", token, opts).unwrap(), Some(true));
        assert_eq!(cache.cas("none", "x", token, opts).unwrap(), None);
        // Refused before sending: the client's own key and size rules.
        assert_eq!(
            cache.get("a b").unwrap_err().kind(),
            ErrorKind::IllegalInput
        );
        let big = vec![b'x'; 2 << 20];
        assert_eq!(
            cache.set("big", &big[..]).unwrap_err().kind(),
            ErrorKind::IllegalInput
        );
        // The server's own limit counts the key and the item header.
        let near = vec![b'x'; 1024 * 1024];
        assert_eq!(
            cache.set("big", &near[..]).unwrap_err().kind(),
            ErrorKind::Server
        );
    }

    #[test]
    fn a_mock_is_shared_across_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        let cache = std::sync::Arc::new(waiting(Protocol::Text));
        send_sync(&cache);
        cache.set("n", "0").unwrap();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let c = cache.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        c.incr("n", 1).unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        // Calls take turns on the one connection: no increment is lost.
        assert_eq!(cache.incr("n", 0).unwrap(), Some(400));
    }

    #[test]
    fn stats_count_what_happened() {
        let cache = waiting(Protocol::Text);
        cache.set("a", "1").unwrap();
        cache.get("a").unwrap();
        cache.get("b").unwrap();
        let stats = cache.stats(&[]).unwrap();
        let n = |name: &str| stats.get(name).and_then(|v| v.as_u64());
        assert_eq!(
            (n("curr_items"), n("get_hits"), n("get_misses")),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(
            cache.stats(&["bogus"]).unwrap_err().kind(),
            ErrorKind::UnknownCommand
        );
        let raw = cache.raw_command("stats settings", b"END\r\n").unwrap();
        assert!(raw.starts_with(b"STAT maxbytes"), "{raw:?}");
    }

    #[test]
    fn quit_closes_and_the_next_call_reconnects() {
        let cache = waiting(Protocol::Meta);
        cache.set("k", "v").unwrap();
        cache.quit().unwrap();
        assert!(cache.get("k").unwrap().is_some());
        assert_eq!(cache.version().unwrap(), "1.6.18");
        assert!(cache.verbosity(1, None).unwrap());
    }

    #[test]
    fn serde_prefix_and_meta_commands_are_the_real_client_s() {
        let cache = MockClient::builder()
            .serde(PickleSerde::default())
            .key_prefix("app:")
            .build()
            .unwrap();
        cache.set("n", 42i64).unwrap();
        assert_eq!(cache.get("n").unwrap(), Some(Value::Int(42)));
        let raw = cache.meta_get(MetaGet::new(b"n").flags().key()).unwrap();
        assert_eq!(raw.key.as_deref(), Some(&b"n"[..]));
        cache
            .meta_set(MetaSet::new(b"bin key\x01", b"v").quiet())
            .unwrap();
        let hit = cache
            .meta_get(MetaGet::new(b"bin key\x01").value().key())
            .unwrap();
        assert_eq!(hit.key.as_deref(), Some(&b"bin key\x01"[..]));
        let won = cache.meta_get(MetaGet::new(b"miss").vivify(30)).unwrap();
        assert!(won.win);
        assert!(MockClient::builder()
            .key_prefix("bad prefix")
            .build()
            .is_err());
    }
}
