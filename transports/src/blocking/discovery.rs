//! `DiscoveryClient`: a [`HashClient`] whose servers come from a cloud
//! configuration endpoint (pymemcache's `AWSElastiCacheHashClient`).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use memcrab_core::discovery::{self, ClusterConfig, Refresh};
use memcrab_core::meta::MetaRequest;
use memcrab_core::Request;

use super::driver::Outcomes;
use super::hash::{HashClient, HashOptions};
use super::options::ClientOptions;
use super::Client;
use crate::address::{ServerAddr, ToServerAddr};
use crate::api::{CommandOptions, Memcache};
use crate::error::{Error, Result};

/// The default time between two reads of the configuration.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The default shortest time between two reads after node failures.
const DEFAULT_FAILURE_SPACING: Duration = Duration::from_secs(1);

/// A hash client over the nodes a configuration endpoint names, kept up to
/// date (pymemcache's `AWSElastiCacheHashClient`).
///
/// [`build`](DiscoveryClientBuilder::build) asks the endpoint
/// (`config get cluster`, ElastiCache's auto discovery, memcached 1.4.14 or
/// later) for the cluster's nodes and builds a [`HashClient`] over them.
/// Afterwards the configuration is read again at the first call after each
/// `refresh_interval` (60 s by default), and at the first call after a node
/// failed (a connection error, or no server left), at most once per
/// `failure_spacing` (1 s). A configuration whose version is the one
/// applied is not applied again. A new version adds the new nodes and
/// removes the gone ones: nodes that stay keep their connections, and only
/// the keys of added and removed nodes move. A failed read keeps the
/// current nodes (see [`last_refresh_error`](Self::last_refresh_error)).
///
/// Every command goes to the inner [`HashClient`]; there is no background
/// thread.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use memcrab_transport::blocking::DiscoveryClient;
/// use memcrab_transport::Memcache;
///
/// let client = DiscoveryClient::builder("my-cluster.abc123.cfg.use1.cache.amazonaws.com:11211")
///     .refresh_interval(Duration::from_secs(30))
///     .build()?;
/// client.set("some_key", "some value")?;
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct DiscoveryClient {
    hash: HashClient,
    endpoint: Client,
    use_ip: bool,
    state: Mutex<State>,
}

/// What the client knows of the configuration.
#[derive(Debug)]
struct State {
    /// The version applied.
    version: Option<u64>,
    /// The nodes of that version, as the hash client has them.
    nodes: Vec<ServerAddr>,
    /// When to read the configuration again (the core's schedule).
    refresh: Refresh,
    /// Why the last read failed, if it did.
    last_error: Option<Error>,
}

/// Builds a [`DiscoveryClient`].
#[derive(Debug)]
#[must_use]
pub struct DiscoveryClientBuilder {
    endpoint: Result<ServerAddr>,
    opts: ClientOptions,
    hash: HashOptions,
    use_ip: bool,
    interval: Duration,
    failure_spacing: Duration,
}

impl DiscoveryClient {
    /// Starts building a client whose nodes come from the configuration
    /// `endpoint` (`host:port`).
    pub fn builder(endpoint: impl ToServerAddr) -> DiscoveryClientBuilder {
        DiscoveryClientBuilder {
            endpoint: crate::address::config_addr(endpoint),
            opts: ClientOptions::default(),
            hash: HashOptions::default(),
            use_ip: true,
            interval: DEFAULT_INTERVAL,
            failure_spacing: DEFAULT_FAILURE_SPACING,
        }
    }

    /// Returns the hash client the commands go to (for
    /// [`HashClient::stats_per_server`], [`HashClient::server_for`], …).
    #[must_use]
    pub fn hash_client(&self) -> &HashClient {
        &self.hash
    }

    /// Returns the configuration endpoint.
    #[must_use]
    pub fn endpoint(&self) -> &ServerAddr {
        self.endpoint.server()
    }

    /// Returns the version of the configuration applied.
    #[must_use]
    pub fn config_version(&self) -> Option<u64> {
        self.lock().version
    }

    /// Returns the servers of the configuration applied, in its order.
    #[must_use]
    pub fn servers(&self) -> Vec<ServerAddr> {
        self.lock().nodes.clone()
    }

    /// Returns why the last read of the configuration failed, or `None`
    /// if it succeeded.
    #[must_use]
    pub fn last_refresh_error(&self) -> Option<Error> {
        self.lock().last_error.clone()
    }

    /// Reads the configuration now and applies it if its version is not
    /// the one applied: returns true if the nodes were changed.
    ///
    /// # Errors
    ///
    /// The endpoint's error (`ERROR` from a server without auto discovery),
    /// a malformed reply, or a connection error; the nodes stay as they
    /// were.
    pub fn refresh(&self) -> Result<bool> {
        self.lock().refresh.reading(self.hash.options().clock.now());
        let result = self.read_config().and_then(|c| self.apply(c));
        let mut st = self.lock();
        st.last_error = result.as_ref().err().cloned();
        if result.is_ok() {
            st.refresh.read_ok();
        }
        result
    }

    /// Closes the connections of every node and of the endpoint.
    pub fn close(&self) {
        self.hash.close();
        self.endpoint.close();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_config(&self) -> Result<ClusterConfig> {
        let reply = self
            .endpoint
            .raw_command(discovery::REQUEST_LINE, discovery::TERMINATOR)?;
        Ok(ClusterConfig::parse(&reply)?)
    }

    /// Applies `config` unless its version is applied already.
    fn apply(&self, config: ClusterConfig) -> Result<bool> {
        let nodes = config
            .nodes
            .iter()
            .map(|n| {
                let text = n.address(self.use_ip);
                text.to_server_addr()
                    .map_err(|e| Error::Config(format!("node {text:?}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut st = self.lock();
        if st.version == Some(config.version) {
            return Ok(false);
        }
        let (added, removed) = discovery::node_changes(&st.nodes, &nodes);
        for node in added {
            self.hash.add_server(node.clone())?;
        }
        for node in removed {
            self.hash.remove_server(node.clone())?;
        }
        st.version = Some(config.version);
        st.nodes = nodes;
        Ok(true)
    }

    /// Reads the configuration if its interval passed, or after a failure.
    fn maybe_refresh(&self) {
        let now = self.hash.options().clock.now();
        let due = self.lock().refresh.due(now);
        if due {
            // A failed read is kept in `last_error`; the nodes stay.
            let _ = self.refresh();
        }
    }

    /// Notes a node failure in `result`, for the next call to refresh.
    fn watch(&self, result: Result<Outcomes>) -> Result<Outcomes> {
        let bad = |e: &Error| e.is_connection_error() || matches!(e, Error::NoServers);
        let failed = match &result {
            Err(e) => bad(e),
            Ok(outcomes) => outcomes.iter().any(|o| matches!(o, Some(Err(e)) if bad(e))),
        };
        if failed {
            self.lock().refresh.node_failed();
        }
        result
    }
}

impl Memcache for DiscoveryClient {
    fn command_options(&self) -> CommandOptions<'_> {
        self.hash.command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        self.maybe_refresh();
        self.watch(self.hash.execute(requests))
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        self.maybe_refresh();
        self.watch(self.hash.execute_meta(requests))
    }
}

impl DiscoveryClientBuilder {
    /// Sets every node's client options (also used to reach the endpoint).
    pub fn options(mut self, opts: ClientOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Sets the hash client's options (distribution, health, pooling).
    pub fn hash_options(mut self, hash: HashOptions) -> Self {
        self.hash = hash;
        self
    }

    /// Connects to nodes by IP address (default, pymemcache's `use_vpc`)
    /// or, with false, by host name.
    pub fn use_ip(mut self, on: bool) -> Self {
        self.use_ip = on;
        self
    }

    /// Sets how often the configuration is read again (default 60 s).
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.interval = every;
        self
    }

    /// Sets the shortest time between two reads after node failures
    /// (default 1 s).
    pub fn failure_spacing(mut self, spacing: Duration) -> Self {
        self.failure_spacing = spacing;
        self
    }

    /// Reads the configuration from the endpoint and builds the client
    /// over its nodes (this does I/O, as pymemcache's constructor).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad endpoint address or node; the endpoint's
    /// error, a malformed reply or a connection error.
    pub fn build(self) -> Result<DiscoveryClient> {
        let endpoint = Client::with_options(self.endpoint?, self.opts.clone());
        let now = self.opts.clock.now();
        let hash = HashClient::with_options(Vec::<ServerAddr>::new(), self.opts, self.hash)?;
        let client = DiscoveryClient {
            hash,
            endpoint,
            use_ip: self.use_ip,
            state: Mutex::new(State {
                version: None,
                nodes: Vec::new(),
                refresh: Refresh::new(self.interval, self.failure_spacing, now),
                last_error: None,
            }),
        };
        client.refresh()?;
        Ok(client)
    }
}
