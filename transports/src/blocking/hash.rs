//! `HashClient`: many servers, keys spread by rendezvous or ketama hashing.

use memcrab_core::cluster::Cluster;
use memcrab_core::command::Meaning;
use memcrab_core::router::{Distribution, HealthConfig, NodeId};
use memcrab_core::Request;

use super::driver::{Driver, Wait};
use super::options::ClientOptions;
use super::pool::PoolOptions;
use crate::address::{ServerAddr, ToServerAddr};
#[cfg(doc)]
use crate::api::Memcache;
use crate::error::{Error, Result};

/// Options of a [`HashClient`] beyond the per-server [`ClientOptions`]
/// (pymemcache's `HashClient` arguments).
#[derive(Clone, Copy, Debug)]
pub struct HashOptions {
    /// How keys are spread (default: pymemcache's rendezvous hashing).
    pub distribution: Distribution,
    /// Retries, retry spacing and dead time of failing nodes.
    pub health: HealthConfig,
    /// Give each server a pool of connections ([`PooledClient`](super::PooledClient)) instead of one.
    pub use_pooling: bool,
    /// The pools' settings, with `use_pooling`.
    pub pool: PoolOptions,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            distribution: Distribution::Rendezvous,
            health: HealthConfig::default(),
            use_pooling: false,
            pool: PoolOptions::default(),
        }
    }
}

/// A client over many memcached servers, with the same commands as
/// [`Client`](super::Client) (pymemcache's `HashClient`).
///
/// Each key goes to its node: by default the node pymemcache's `HashClient`
/// would pick for the same server list (rendezvous hashing over
/// `host:port` names with murmur3), so Rust and Python services share a
/// cluster; or by twemproxy-compatible ketama. Multi-key calls (`get_many`,
/// `gets_many`, `set_many`, `delete_many`) split the keys by node and write
/// every node's requests before reading any reply: one round trip in all,
/// not one per node.
///
/// A node that cannot be reached is retried after `retry_timeout`
/// (meanwhile its calls answer as misses, without I/O), and after
/// `retry_attempts` failed retries it leaves the ring for `dead_timeout`, its
/// keys moving to the other nodes. With every node down, calls fail with
/// [`Error::NoServers`], or answer as misses under `ignore_exc`.
/// Commands without a key (`stats`, `version`, `flush_all`, …) go to every
/// live node; the first node's reply is returned, or the first error.
///
/// In particular [`Memcache::stats`] on a hash client answers for **one
/// server only**: every live node is asked, but only the first node's stats
/// are returned, not a sum or a merge. For every node's stats use
/// [`stats_per_server`](Self::stats_per_server). (pymemcache 4.0.0's
/// `HashClient` has no `stats` at all; its per-server stats are
/// `{name: c.stats() for name, c in hash_client.clients.items()}`, which is
/// what `stats_per_server` returns.)
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{HashClient, Memcache};
///
/// let client = HashClient::new(["127.0.0.1:11211", "127.0.0.1:11212"])?;
/// client.set("some_key", "some value")?;
/// let result: Option<String> = client.get("some_key")?;
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct HashClient {
    hash: HashOptions,
    driver: Driver,
}

impl HashClient {
    /// Creates a hash client over `servers` with default options.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if an address cannot be parsed.
    pub fn new<I>(servers: I) -> Result<HashClient>
    where
        I: IntoIterator,
        I::Item: ToServerAddr,
    {
        HashClient::with_options(servers, ClientOptions::default(), HashOptions::default())
    }

    /// Creates a hash client over `servers`; every server's connections
    /// get `opts`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if an address cannot be parsed, for a bad key
    /// prefix, or a keepalive with a zero setting.
    pub fn with_options<I>(servers: I, opts: ClientOptions, hash: HashOptions) -> Result<HashClient>
    where
        I: IntoIterator,
        I::Item: ToServerAddr,
    {
        opts.check()?;
        let mut config = opts.cluster_config().health(hash.health);
        config.distribution = hash.distribution;
        config.ignore_exc = opts.ignore_exc;
        let wait = if hash.use_pooling {
            config = config.max_connections(hash.pool.max_pool_size);
            config.idle_timeout = hash.pool.pool_idle_timeout;
            Wait::Up(hash.pool.wait_timeout)
        } else {
            Wait::Forever
        };
        let cluster = Cluster::new(config, std::iter::empty::<&str>());
        let client = HashClient {
            hash,
            driver: Driver::new(cluster, Vec::new(), opts, wait),
        };
        for server in servers {
            client.add_server(server)?;
        }
        Ok(client)
    }

    /// Returns the name a server has on the hash ring: pymemcache's
    /// `host:port` (IPv6 unbracketed) for rendezvous hashing, twemproxy's
    /// name (`host` on port 11211, else `host:port`) for ketama, the path
    /// for unix sockets.
    #[must_use]
    pub fn node_name(&self, addr: &ServerAddr) -> String {
        addr.node_name(self.hash.distribution)
    }

    /// Adds a server (no I/O); its share of keys moves to it.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the address cannot be parsed.
    pub fn add_server(&self, server: impl ToServerAddr) -> Result<()> {
        let addr = crate::address::config_addr(server)?;
        let name = self.node_name(&addr);
        let mut st = self.driver.lock();
        let id = st.cluster.add_server(&name);
        if st.addrs.len() <= id.0 {
            st.addrs.resize_with(id.0 + 1, || None);
        }
        st.addrs[id.0] = Some(addr);
        Ok(())
    }

    /// Removes a server; its keys move to the others. Returns false if it
    /// was not there.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the address cannot be parsed.
    pub fn remove_server(&self, server: impl ToServerAddr) -> Result<bool> {
        let addr = crate::address::config_addr(server)?;
        let name = self.node_name(&addr);
        let mut st = self.driver.lock();
        let Some(id) = st.cluster.server_id(&name) else {
            return Ok(false);
        };
        if !st.cluster.remove_server(id) {
            return Ok(false);
        }
        if let Some(a) = st.addrs.get_mut(id.0) {
            *a = None;
        }
        Ok(true)
    }

    /// Returns the servers, in the order they were added.
    #[must_use]
    pub fn servers(&self) -> Vec<ServerAddr> {
        self.nodes().into_iter().map(|(_, addr)| addr).collect()
    }

    /// The servers in the ring with their ids, in the order they were added.
    fn nodes(&self) -> Vec<(NodeId, ServerAddr)> {
        let st = self.driver.lock();
        st.cluster
            .servers()
            .filter_map(|id| st.addrs.get(id.0).cloned().flatten().map(|a| (id, a)))
            .collect()
    }

    /// Returns the server `key` goes to now (no I/O), or `None` if every
    /// server is down. The key is the caller's key, without prefix.
    #[must_use]
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Option<ServerAddr> {
        let now = self.driver.now();
        let mut st = self.driver.lock();
        let id = st.cluster.server_for(key.as_ref(), now)?;
        st.addrs.get(id.0).cloned().flatten()
    }

    /// Returns every server's stats (or its error), in server order:
    /// pymemcache's per-server stats, `c.stats(*args)` for each client `c`
    /// in `HashClient.clients` (pymemcache 4.0.0's `HashClient` has no
    /// `stats` method of its own).
    ///
    /// Unlike [`Memcache::stats`] on a hash client, which returns the first
    /// server's stats only, this asks every server in the ring and keeps
    /// each answer apart; one server's error does not hide the others'.
    /// `args` picks a section, as for [`Memcache::stats`].
    pub fn stats_per_server(
        &self,
        args: &[&str],
    ) -> Vec<(ServerAddr, Result<memcrab_core::stats::Stats>)> {
        let servers = self.nodes();
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let request = [Request::Stats { args: &args }];
        servers
            .into_iter()
            .map(|(id, addr)| {
                let r = self.driver.execute_on(id, &request).and_then(|out| {
                    let reply = crate::api::results::first_reply(out)?.ok_or(Error::NoServers)?;
                    let outcome = Meaning::of(&request[0]).outcome(Some(reply));
                    crate::api::results::stats_of(outcome.map_err(Error::Protocol)?)
                });
                (addr, r)
            })
            .collect()
    }

    /// Closes every server's idle connections.
    pub fn close(&self) {
        self.driver.close_idle();
    }
}

impl HashClient {
    /// The driver, for views of this client in sibling modules.
    pub(super) fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Returns the client's options.
    #[must_use]
    pub fn options(&self) -> &ClientOptions {
        &self.driver.opts
    }
}

super::setters::driver_memcache!(
    /// The commands, routed by key. Keyless commands go to every live node and
    /// return the first node's reply: [`Memcache::stats`] here is one server's
    /// stats; see [`HashClient::stats_per_server`] for every server's.
    HashClient
);

/// Builds a [`HashClient`] with pymemcache's option names.
#[derive(Debug)]
#[must_use]
pub struct HashClientBuilder {
    servers: Vec<Result<ServerAddr>>,
    opts: ClientOptions,
    hash: HashOptions,
}

impl HashClient {
    /// Starts building a hash client over `servers`.
    pub fn builder<I>(servers: I) -> HashClientBuilder
    where
        I: IntoIterator,
        I::Item: ToServerAddr,
    {
        HashClientBuilder {
            servers: servers
                .into_iter()
                .map(crate::address::config_addr)
                .collect(),
            opts: ClientOptions::default(),
            hash: HashOptions::default(),
        }
    }
}

super::setters::client_option_setters!(HashClientBuilder);
super::setters::clock_setter!(HashClientBuilder);
super::setters::health_setters!(HashClientBuilder);

impl HashClientBuilder {
    /// Sets how keys are spread.
    pub fn distribution(mut self, d: Distribution) -> Self {
        self.hash.distribution = d;
        self
    }

    fn health_mut(&mut self) -> &mut HealthConfig {
        &mut self.hash.health
    }

    /// Gives each server a pool of connections.
    pub fn use_pooling(mut self, on: bool, pool: PoolOptions) -> Self {
        self.hash.use_pooling = on;
        self.hash.pool = pool;
        self
    }

    /// Replaces all hash options at once.
    pub fn hash_options(mut self, hash: HashOptions) -> Self {
        self.hash = hash;
        self
    }

    /// Builds the client (no I/O).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address or key prefix, or a keepalive
    /// with a zero setting.
    pub fn build(self) -> Result<HashClient> {
        let servers = self.servers.into_iter().collect::<Result<Vec<_>>>()?;
        HashClient::with_options(servers, self.opts, self.hash)
    }
}
