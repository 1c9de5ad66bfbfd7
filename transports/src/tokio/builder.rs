//! Building a [`Client`](super::Client): servers, the blocking client's
//! options, hashing and health, connections, merging.

use std::time::Duration;

use memcrab_core::cluster::Cluster;
use memcrab_core::router::{Distribution, HealthConfig};

use super::client::Client;
use crate::address::{ServerAddr, ToServerAddr};
use crate::blocking::ClientOptions;
use crate::error::{Error, Result};

/// Most single-key gets merged into one multi-key get.
const MERGE_MAX: usize = 64;

/// Builds a [`Client`](super::Client); every option of the blocking
/// [`ClientBuilder`](crate::ClientBuilder) and
/// [`HashClientBuilder`](crate::HashClientBuilder), plus connections per
/// server, pipelining depth and get merging. Node health
/// (`retry_attempts`, `retry_timeout`, `dead_timeout`) is on with several
/// servers, or once one of those is set.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use memcrab_transport::tokio::Client;
///
/// let client = Client::builder()
///     .servers(["127.0.0.1:11211", "127.0.0.1:11212"])
///     .connections(2)
///     .timeout(Duration::from_millis(500))
///     .dead_timeout(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(client.servers().len(), 2);
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    servers: Vec<Result<ServerAddr>>,
    opts: ClientOptions,
    distribution: Distribution,
    health: Option<HealthConfig>,
    connections: usize,
    depth: usize,
    merge_gets: bool,
    idle_timeout: Option<Duration>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// A builder with no server and the default options: one connection
    /// per server, 1,024 calls in flight per connection, gets merged.
    pub fn new() -> ClientBuilder {
        ClientBuilder {
            servers: Vec::new(),
            opts: ClientOptions::default(),
            distribution: Distribution::Rendezvous,
            health: None,
            connections: 1,
            depth: 1024,
            merge_gets: true,
            idle_timeout: None,
        }
    }

    /// Adds a server: `host:port`, `[v6]:port`, a unix socket path or
    /// `unix:path`, a `ServerAddr`, or a socket address.
    pub fn server(mut self, server: impl ToServerAddr) -> Self {
        self.servers.push(crate::address::config_addr(server));
        self
    }

    /// Adds every server of `servers`.
    pub fn servers<I>(mut self, servers: I) -> Self
    where
        I: IntoIterator,
        I::Item: ToServerAddr,
    {
        for s in servers {
            self = self.server(s);
        }
        self
    }

    /// How keys are spread over servers (rendezvous as pymemcache, or
    /// ketama as twemproxy).
    pub fn distribution(mut self, d: Distribution) -> Self {
        self.distribution = d;
        self
    }

    /// Node health is on with several servers, or once a health setting
    /// is given.
    fn health_mut(&mut self) -> &mut HealthConfig {
        self.health.get_or_insert_with(HealthConfig::default)
    }

    /// Connections per server (default 1; more spread the server's work
    /// over its threads).
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }

    /// Calls in flight per connection before another is opened or calls
    /// wait (default 1,024).
    pub fn depth(mut self, n: usize) -> Self {
        self.depth = n.max(1);
        self
    }

    /// Merges concurrent single-key gets bound for one server into one
    /// multi-key get while its connections are busy (default on).
    pub fn merge_gets(mut self, on: bool) -> Self {
        self.merge_gets = on;
        self
    }

    /// Closes connections idle for longer than `d`.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Builds the client (no I/O happens here: connections open on the
    /// first call that needs them).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address or key prefix, a keepalive with
    /// a zero setting, or no server.
    pub fn build(self) -> Result<Client> {
        let mut addrs = Vec::with_capacity(self.servers.len());
        for s in self.servers {
            addrs.push(Some(s?));
        }
        if addrs.is_empty() {
            return Err(Error::Config("a client needs at least one server".into()));
        }
        self.opts.check()?;
        let mut config = self.opts.cluster_config();
        config.distribution = self.distribution;
        config.ignore_exc = self.opts.ignore_exc;
        config.connect_timeout = self.opts.connect_timeout;
        config.idle_timeout = self.idle_timeout;
        config.merge_gets = if self.merge_gets { MERGE_MAX } else { 0 };
        config = config.max_connections(self.connections).depth(self.depth);
        if addrs.len() > 1 || self.health.is_some() {
            config = config.health(self.health.unwrap_or_default());
        }
        let names: Vec<String> = addrs
            .iter()
            .flatten()
            .map(|a| a.node_name(self.distribution))
            .collect();
        let cluster = Cluster::new(config, names.iter().map(String::as_str));
        Ok(Client::from_parts(cluster, addrs, self.opts))
    }
}

crate::blocking::setters::client_option_setters!(ClientBuilder);
crate::blocking::setters::health_setters!(ClientBuilder);
