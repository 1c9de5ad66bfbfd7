//! `PooledClient`: a thread-safe pool of connections to one server.

use std::time::Duration;

use memcrab_core::cluster::Cluster;
use memcrab_core::router::NodeId;

use super::driver::{Driver, Wait};
use super::options::ClientOptions;
use crate::address::{ServerAddr, ToServerAddr};
use crate::error::{Error, Result};

/// Pool settings (pymemcache's `max_pool_size` and `pool_idle_timeout`,
/// plus how long a caller waits for a free connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once (default: unlimited).
    pub max_pool_size: usize,
    /// Close free connections idle longer than this (`None`: never).
    pub pool_idle_timeout: Option<Duration>,
    /// How long a caller waits for a free connection when all
    /// `max_pool_size` are busy, before [`Error::PoolExhausted`]
    /// (default 1 s; zero fails at once, as pymemcache does).
    pub wait_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_pool_size: usize::MAX,
            pool_idle_timeout: None,
            wait_timeout: Duration::from_secs(1),
        }
    }
}

/// A thread-safe pool of connections to one server, with the same commands
/// as [`Client`](crate::Client) (pymemcache's `PooledClient`).
///
/// Each call takes a free connection (opening one if fewer than
/// `max_pool_size` are open, else waiting up to `wait_timeout`), runs, and
/// gives it back — unless the call saw an I/O, timeout or protocol error, in
/// which case the connection is closed instead. The most recently used
/// connection is reused first, so idle ones age out under
/// `pool_idle_timeout`. `PooledClient` is `Send + Sync`: share it with an
/// `Arc` or by reference across threads.
///
/// A thread reads its own writes, also with the default noreply: after a
/// batch that sent a noreply write, the thread's next batch goes on the
/// same connection (waiting for it if another thread holds it), so
/// memcached serves it after the write.
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{Memcache, PooledClient, PoolOptions};
///
/// let pool = PooledClient::new("127.0.0.1", PoolOptions { max_pool_size: 4, ..Default::default() })?;
/// std::thread::scope(|s| {
///     for i in 0..8 {
///         let pool = &pool;
///         s.spawn(move || pool.set(format!("k{i}"), "v").unwrap());
///     }
/// });
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct PooledClient {
    addr: ServerAddr,
    pool: PoolOptions,
    driver: Driver,
}

impl PooledClient {
    /// Creates a pool for `server` with default client options.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address or a zero `max_pool_size`.
    pub fn new(server: impl ToServerAddr, pool: PoolOptions) -> Result<PooledClient> {
        PooledClient::with_options(server, ClientOptions::default(), pool)
    }

    /// Starts building a pool for `server`: every [`ClientBuilder`]
    /// option, plus the pool's.
    ///
    /// [`ClientBuilder`]: super::ClientBuilder
    pub fn builder(server: impl ToServerAddr) -> PooledClientBuilder {
        PooledClientBuilder {
            addr: crate::address::config_addr(server),
            opts: ClientOptions::default(),
            pool: PoolOptions::default(),
        }
    }

    /// Creates a pool for `server` (any form [`Client::new`] takes) with
    /// client options `opts`.
    ///
    /// [`Client::new`]: super::Client::new
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address, a zero `max_pool_size`, a bad
    /// key prefix, or a keepalive with a zero setting.
    pub fn with_options(
        server: impl ToServerAddr,
        opts: ClientOptions,
        pool: PoolOptions,
    ) -> Result<PooledClient> {
        let addr = crate::address::config_addr(server)?;
        if pool.max_pool_size == 0 {
            return Err(Error::Config("max_pool_size must be at least 1".into()));
        }
        opts.check()?;
        let mut config = opts.cluster_config().max_connections(pool.max_pool_size);
        config.idle_timeout = pool.pool_idle_timeout;
        let cluster = Cluster::new(config, [addr.pymemcache_name().as_str()]);
        Ok(PooledClient {
            driver: Driver::new(
                cluster,
                vec![Some(addr.clone())],
                opts,
                Wait::Up(pool.wait_timeout),
            ),
            addr,
            pool,
        })
    }

    /// Returns the server address.
    #[must_use]
    pub fn server(&self) -> &ServerAddr {
        &self.addr
    }

    /// Returns the pool's settings.
    #[must_use]
    pub fn pool_options(&self) -> &PoolOptions {
        &self.pool
    }

    /// Returns the number of open connections that are free right now.
    #[must_use]
    pub fn idle_connections(&self) -> usize {
        self.driver.lock().cluster.idle_count(NodeId(0))
    }

    /// Returns the number of connections in use right now.
    #[must_use]
    pub fn busy_connections(&self) -> usize {
        let st = self.driver.lock();
        st.cluster.connection_count(NodeId(0)) - st.cluster.idle_count(NodeId(0))
    }

    /// Closes every connection (pymemcache's `close`): the free ones now,
    /// the busy ones as soon as their call gives them back. Later calls
    /// open new connections.
    pub fn close(&self) {
        self.driver.close_all();
    }
}

impl PooledClient {
    /// Returns the client's options.
    #[must_use]
    pub fn options(&self) -> &ClientOptions {
        &self.driver.opts
    }
}

super::setters::driver_memcache!(PooledClient);

/// Builds a [`PooledClient`]: the client options of
/// [`ClientBuilder`](super::ClientBuilder), with pymemcache's names, and
/// the pool's.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use memcrab_transport::{Memcache, PooledClient};
///
/// let pool = PooledClient::builder("127.0.0.1:11211")
///     .max_pool_size(8)
///     .pool_idle_timeout(Duration::from_secs(60))
///     .key_prefix("app:")
///     .timeout(Duration::from_millis(500))
///     .build()?;
/// pool.set("k", "v")?;
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct PooledClientBuilder {
    addr: Result<ServerAddr>,
    opts: ClientOptions,
    pool: PoolOptions,
}

super::setters::client_option_setters!(PooledClientBuilder);
super::setters::clock_setter!(PooledClientBuilder);

impl PooledClientBuilder {
    /// Sets the most connections open at once (default: unlimited).
    pub fn max_pool_size(mut self, n: usize) -> Self {
        self.pool.max_pool_size = n;
        self
    }

    /// Closes free connections idle longer than `t` (`None`, the default:
    /// never).
    pub fn pool_idle_timeout(mut self, t: impl Into<Option<Duration>>) -> Self {
        self.pool.pool_idle_timeout = t.into();
        self
    }

    /// Sets how long a caller waits for a free connection (default 1 s;
    /// zero fails at once).
    pub fn wait_timeout(mut self, t: Duration) -> Self {
        self.pool.wait_timeout = t;
        self
    }

    /// Replaces all pool settings at once.
    pub fn pool_options(mut self, pool: PoolOptions) -> Self {
        self.pool = pool;
        self
    }

    /// Builds the pool (no I/O happens here).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address or key prefix, a zero
    /// `max_pool_size`, or a keepalive with a zero setting.
    pub fn build(self) -> Result<PooledClient> {
        PooledClient::with_options(self.addr?, self.opts, self.pool)
    }
}
