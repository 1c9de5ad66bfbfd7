//! `PooledClient`: a thread-safe pool of connections to one server.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memcrab_core::meta::MetaRequest;
use memcrab_core::{KeyPolicy, Limits, Request};

use super::link::{Lease, Link, Outcomes, Started, Submit};
use super::options::ClientOptions;
use crate::address::{ServerAddr, ToServerAddr};
use crate::api::Memcache;
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

#[derive(Debug, Default)]
struct State {
    /// Free connections, most recently used last.
    free: Vec<(Link, Instant)>,
    /// Connections handed out or being opened.
    busy: usize,
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
    opts: ClientOptions,
    pool: PoolOptions,
    policy: KeyPolicy,
    limits: Limits,
    state: Mutex<State>,
    freed: Condvar,
}

impl PooledClient {
    /// Creates a pool for `server` with default client options.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address or a zero `max_pool_size`.
    pub fn new(server: impl ToServerAddr, pool: PoolOptions) -> Result<PooledClient> {
        let addr = server
            .to_server_addr()
            .map_err(|e| Error::Config(e.to_string()))?;
        PooledClient::with_options(addr, ClientOptions::default(), pool)
    }

    /// Creates a pool for `addr` with client options `opts`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a zero `max_pool_size`.
    pub fn with_options(
        addr: ServerAddr,
        opts: ClientOptions,
        pool: PoolOptions,
    ) -> Result<PooledClient> {
        if pool.max_pool_size == 0 {
            return Err(Error::Config("max_pool_size must be at least 1".into()));
        }
        Ok(PooledClient {
            addr,
            policy: opts.key_policy(),
            limits: opts.limits(),
            opts,
            pool,
            state: Mutex::new(State::default()),
            freed: Condvar::new(),
        })
    }

    /// Returns the server address.
    #[must_use]
    pub fn server(&self) -> &ServerAddr {
        &self.addr
    }

    /// Returns the number of open connections that are free right now.
    #[must_use]
    pub fn idle_connections(&self) -> usize {
        self.lock().free.len()
    }

    /// Returns the number of connections in use right now.
    #[must_use]
    pub fn busy_connections(&self) -> usize {
        self.lock().busy
    }

    /// Closes every free connection (busy ones close when given back
    /// broken, or stay pooled).
    pub fn close(&self) {
        for (link, _) in self.lock().free.drain(..) {
            link.close();
        }
    }

    /// Validates `requests`, takes a connection and writes them, leaving
    /// the replies to read with [`Started::finish`].
    pub(crate) fn start<R: Submit>(&self, requests: &[R]) -> Result<Started<'_>> {
        for r in requests {
            r.check(&self.policy, &self.limits)?;
        }
        let mut lease = Lease {
            pool: self,
            link: Some(self.acquire()?),
        };
        let batch = match lease.link.as_mut() {
            Some(link) => link.start(&self.addr, requests, self.opts.timeout),
            None => {
                return Err(Error::PoolExhausted {
                    max_size: self.pool.max_pool_size,
                    waited_ms: 0,
                })
            }
        };
        Ok(Started::Pooled { lease, batch })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a free connection, or opens one, or waits for one.
    fn acquire(&self) -> Result<Link> {
        let started = Instant::now();
        let mut st = self.lock();
        loop {
            if let Some(limit) = self.pool.pool_idle_timeout {
                let now = Instant::now();
                st.free.retain(|(link, used)| {
                    let keep = now.duration_since(*used) <= limit;
                    if !keep {
                        link.close();
                    }
                    keep
                });
            }
            if let Some((link, _)) = st.free.pop() {
                st.busy += 1;
                return Ok(link);
            }
            if st.busy < self.pool.max_pool_size {
                st.busy += 1;
                drop(st);
                return Link::open(&self.addr, &self.opts).inspect_err(|_| self.release(None));
            }
            let waited = started.elapsed();
            if waited >= self.pool.wait_timeout {
                return Err(Error::PoolExhausted {
                    max_size: self.pool.max_pool_size,
                    waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                });
            }
            st = self
                .freed
                .wait_timeout(st, self.pool.wait_timeout - waited)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Gives a connection back (or just its slot, when it broke).
    pub(crate) fn release(&self, link: Option<Link>) {
        let mut st = self.lock();
        st.busy -= 1;
        match link {
            Some(link) if link.is_usable() => st.free.push((link, Instant::now())),
            Some(link) => link.close(),
            None => {}
        }
        drop(st);
        self.freed.notify_one();
    }
}

impl Memcache for PooledClient {
    fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        Ok(self.start(requests)?.finish())
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        Ok(self.start(requests)?.finish())
    }
}
