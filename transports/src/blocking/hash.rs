//! `HashClient`: many servers, keys spread by rendezvous or ketama hashing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memcrab_core::meta::{MetaReply, MetaRequest, MetaStatus};
use memcrab_core::router::{Distribution, HealthConfig, NodeId, Route, Router};
use memcrab_core::{KeyPolicy, Limits, Millis, Reply, Request};
use smallvec::SmallVec;

use super::link::{Outcome, Outcomes, Started, Submit};
use super::options::ClientOptions;
use super::pool::{PoolOptions, PooledClient};
use super::Client;
use crate::address::{ServerAddr, ToServerAddr};
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
    /// Give each server a [`PooledClient`] instead of one connection.
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

#[derive(Debug)]
enum NodeClient {
    Single(Client),
    Pooled(PooledClient),
}

impl NodeClient {
    fn start<R: Submit>(&self, requests: &[R]) -> Result<Started<'_>> {
        match self {
            NodeClient::Single(c) => c.start(requests),
            NodeClient::Pooled(p) => p.start(requests),
        }
    }

    fn close(&self) {
        match self {
            NodeClient::Single(c) => c.close(),
            NodeClient::Pooled(p) => p.close(),
        }
    }
}

#[derive(Debug)]
struct State {
    router: Router,
    /// Per node id: its address and client.
    nodes: Vec<Option<(ServerAddr, Arc<NodeClient>)>>,
}

/// What to do with one request of a batch.
enum Plan {
    /// Sent to these nodes as these sub-request indices.
    Sent(SmallVec<[(usize, usize); 1]>),
    /// Answered without I/O.
    Answered(Outcome),
}

/// A client over many memcached servers, with the same commands as
/// [`Client`] (pymemcache's `HashClient`).
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
/// node; the first node's reply is returned, or the first error (see
/// [`stats_per_server`](Self::stats_per_server) for every node's stats).
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{HashClient, Memcache};
///
/// let client = HashClient::new(["127.0.0.1:11211", "127.0.0.1:11212"])?;
/// client.set("some_key", "some value")?;
/// let result = client.get("some_key")?;
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct HashClient {
    opts: ClientOptions,
    hash: HashOptions,
    policy: KeyPolicy,
    limits: Limits,
    origin: Instant,
    state: Mutex<State>,
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

    /// Creates a hash client over `servers`; every server's client gets
    /// `opts`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if an address cannot be parsed.
    pub fn with_options<I>(servers: I, opts: ClientOptions, hash: HashOptions) -> Result<HashClient>
    where
        I: IntoIterator,
        I::Item: ToServerAddr,
    {
        let origin = Instant::now();
        let client = HashClient {
            policy: opts.key_policy(),
            limits: opts.limits(),
            opts,
            hash,
            origin,
            state: Mutex::new(State {
                router: Router::new(
                    std::iter::empty::<&str>(),
                    hash.distribution,
                    hash.health,
                    Millis(0),
                ),
                nodes: Vec::new(),
            }),
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
        let addr = server
            .to_server_addr()
            .map_err(|e| Error::Config(e.to_string()))?;
        let name = self.node_name(&addr);
        let client = if self.hash.use_pooling {
            NodeClient::Pooled(PooledClient::with_options(
                addr.clone(),
                self.opts.clone(),
                self.hash.pool,
            )?)
        } else {
            NodeClient::Single(Client::with_options(addr.clone(), self.opts.clone()))
        };
        let mut st = self.lock();
        let id = st.router.add_node(&name);
        if st.nodes.len() <= id.0 {
            st.nodes.resize_with(id.0 + 1, || None);
        }
        st.nodes[id.0] = Some((addr, Arc::new(client)));
        Ok(())
    }

    /// Removes a server; its keys move to the others. Returns false if it
    /// was not there.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the address cannot be parsed.
    pub fn remove_server(&self, server: impl ToServerAddr) -> Result<bool> {
        let addr = server
            .to_server_addr()
            .map_err(|e| Error::Config(e.to_string()))?;
        let name = self.node_name(&addr);
        let mut st = self.lock();
        let Some(id) = st.router.node_id(&name) else {
            return Ok(false);
        };
        st.router.remove_node(id);
        if let Some((_, client)) = st.nodes.get_mut(id.0).and_then(Option::take) {
            client.close();
        }
        Ok(true)
    }

    /// Returns the servers, in the order they were added.
    #[must_use]
    pub fn servers(&self) -> Vec<ServerAddr> {
        self.lock()
            .nodes
            .iter()
            .flatten()
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Returns the server `key` goes to now (no I/O), or `None` if every
    /// server is down. The key is the caller's key, without prefix.
    #[must_use]
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Option<ServerAddr> {
        let now = self.now();
        let mut st = self.lock();
        match st.router.node_for(key.as_ref(), now) {
            Route::Node(id) | Route::Wait(id) => st
                .nodes
                .get(id.0)
                .and_then(|n| n.as_ref())
                .map(|(a, _)| a.clone()),
            Route::NoNodes => None,
        }
    }

    /// Returns every server's stats (or its error), in server order
    /// (pymemcache's `HashClient.stats`).
    pub fn stats_per_server(
        &self,
        args: &[&str],
    ) -> Vec<(ServerAddr, Result<memcrab_core::stats::Stats>)> {
        let nodes: Vec<_> = self.lock().nodes.iter().flatten().cloned().collect();
        nodes
            .into_iter()
            .map(|(addr, client)| {
                let r = match &*client {
                    NodeClient::Single(c) => c.stats(args),
                    NodeClient::Pooled(p) => p.stats(args),
                };
                (addr, r)
            })
            .collect()
    }

    /// Closes every server's connections.
    pub fn close(&self) {
        for (_, client) in self.lock().nodes.iter().flatten() {
            client.close();
        }
    }

    fn now(&self) -> Millis {
        Millis::from_duration(self.origin.elapsed())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reply a request gets when its node is skipped (retry wait, or
    /// all down under `ignore_exc`): a miss.
    fn miss(request: &Request<'_>) -> Outcome {
        Some(Ok(match request {
            Request::Get { .. } => Reply::Values(SmallVec::new()),
            Request::Stats { .. } => Reply::Stats(Vec::new()),
            Request::Store { .. } => Reply::NotStored,
            _ => Reply::NotFound,
        }))
    }
}

/// Returns true for the errors that count against a node's health: it could
/// not be reached (I/O, timeout, TLS). As in pymemcache, an unexpected close
/// does not count: the next call reconnects, which survives a restart.
fn node_unreachable(e: &Error) -> bool {
    matches!(
        e.kind(),
        crate::ErrorKind::Io | crate::ErrorKind::Timeout | crate::ErrorKind::Tls
    )
}

/// Returns the key a keyed request is routed by.
fn routing_key<'a>(request: &Request<'a>) -> Option<&'a [u8]> {
    match *request {
        Request::Store { key, .. }
        | Request::Touch { key, .. }
        | Request::Delete { key, .. }
        | Request::Incr { key, .. }
        | Request::Decr { key, .. } => Some(key),
        _ => None,
    }
}

impl Memcache for HashClient {
    fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        for r in requests {
            r.validate(&self.policy, &self.limits)?;
        }
        let now = self.now();
        let mut out: Outcomes = requests.iter().map(|_| None).collect();
        let mut per_node: BTreeMap<NodeId, (Vec<MetaRequest<'_>>, Vec<usize>)> = BTreeMap::new();
        let clients: BTreeMap<NodeId, Arc<NodeClient>>;
        {
            let mut st = self.lock();
            for (i, req) in requests.iter().enumerate() {
                let Some(key) = req.key() else {
                    // `mn` has no node: every earlier request was answered.
                    out[i] = Some(Ok(Reply::Meta(MetaReply::new(MetaStatus::Noop))));
                    continue;
                };
                match st.router.node_for(key, now) {
                    Route::Node(id) => {
                        let (reqs, idx) = per_node.entry(id).or_default();
                        reqs.push(*req);
                        idx.push(i);
                    }
                    Route::Wait(_) => {
                        out[i] = Some(Ok(Reply::Meta(MetaReply::new(MetaStatus::Miss))));
                    }
                    Route::NoNodes if self.opts.ignore_exc => {
                        out[i] = Some(Ok(Reply::Meta(MetaReply::new(MetaStatus::Miss))));
                    }
                    Route::NoNodes => out[i] = Some(Err(Error::NoServers)),
                }
            }
            clients = per_node
                .keys()
                .filter_map(|id| st.nodes.get(id.0).cloned().flatten().map(|(_, c)| (*id, c)))
                .collect();
        }
        let mut started = Vec::new();
        for (id, (reqs, _)) in &per_node {
            match clients.get(id) {
                Some(c) => started.push((*id, c.start(reqs))),
                None => started.push((*id, Err(Error::NoServers))),
            }
        }
        let mut failed = Vec::new();
        let mut ok = Vec::new();
        for (id, s) in started {
            let idx = per_node
                .get(&id)
                .map(|(_, i)| i.as_slice())
                .unwrap_or_default();
            let results: Outcomes = match s {
                Ok(s) => s.finish(),
                Err(e) => idx.iter().map(|_| Some(Err(e.clone()))).collect(),
            };
            if results
                .iter()
                .flatten()
                .any(|r| r.as_ref().is_err_and(node_unreachable))
            {
                failed.push(id);
            } else {
                ok.push(id);
            }
            for (&i, r) in idx.iter().zip(results) {
                out[i] = match r {
                    Some(Err(e)) if self.opts.ignore_exc && e.is_connection_error() => {
                        Some(Ok(Reply::Meta(MetaReply::new(MetaStatus::Miss))))
                    }
                    r => r,
                };
            }
        }
        let mut st = self.lock();
        // The failure happened now, not when the call started: a call that
        // timed out must still get its full retry_timeout.
        let failed_at = self.now();
        for id in failed {
            st.router.report_failure(id, failed_at);
        }
        for id in ok {
            st.router.report_success(id);
        }
        Ok(out)
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        for r in requests {
            r.validate(&self.policy, &self.limits)?;
        }
        let now = self.now();
        let ignore = self.opts.ignore_exc;
        let down = |r: &Request<'_>| {
            if ignore {
                HashClient::miss(r)
            } else {
                Some(Err(Error::NoServers))
            }
        };

        // Route every request (and every key of a multi-key get) to a node.
        let mut per_node: BTreeMap<NodeId, Vec<Request<'_>>> = BTreeMap::new();
        let mut get_keys: Vec<Vec<&[u8]>> = Vec::new();
        let mut plans = Vec::with_capacity(requests.len());
        let clients: BTreeMap<NodeId, (ServerAddr, Arc<NodeClient>)>;
        {
            let mut st = self.lock();
            for req in requests {
                let plan = match (routing_key(req), req) {
                    (Some(key), _) => match st.router.node_for(key, now) {
                        Route::Node(id) => {
                            let subs = per_node.entry(id).or_default();
                            subs.push(*req);
                            Plan::Sent(SmallVec::from_elem((id.0, subs.len() - 1), 1))
                        }
                        Route::Wait(_) => Plan::Answered(HashClient::miss(req)),
                        Route::NoNodes => Plan::Answered(down(req)),
                    },
                    (None, Request::Get { keys, .. }) => {
                        let mut groups: BTreeMap<NodeId, Vec<&[u8]>> = BTreeMap::new();
                        let mut none_live = false;
                        for key in *keys {
                            match st.router.node_for(key, now) {
                                Route::Node(id) => groups.entry(id).or_default().push(key),
                                Route::Wait(_) => {}
                                Route::NoNodes => none_live = true,
                            }
                        }
                        if none_live && !ignore && groups.is_empty() {
                            Plan::Answered(Some(Err(Error::NoServers)))
                        } else {
                            let mut sent = SmallVec::new();
                            for (id, ks) in groups {
                                get_keys.push(ks);
                                // The keys are stored in `get_keys`; the
                                // request is built below, once they stop moving.
                                let subs = per_node.entry(id).or_default();
                                subs.push(Request::Version);
                                sent.push((id.0, subs.len() - 1));
                            }
                            if sent.is_empty() {
                                Plan::Answered(HashClient::miss(req))
                            } else {
                                Plan::Sent(sent)
                            }
                        }
                    }
                    (None, _) => {
                        // No key: every node.
                        let ids: Vec<NodeId> = st.router.nodes().map(|(id, _)| id).collect();
                        let live: Vec<NodeId> = ids
                            .into_iter()
                            .filter(|id| st.router.is_live(*id))
                            .collect();
                        if live.is_empty() {
                            Plan::Answered(down(req))
                        } else {
                            let mut sent = SmallVec::new();
                            for id in live {
                                let subs = per_node.entry(id).or_default();
                                subs.push(*req);
                                sent.push((id.0, subs.len() - 1));
                            }
                            Plan::Sent(sent)
                        }
                    }
                };
                plans.push(plan);
            }
            clients = per_node
                .keys()
                .filter_map(|id| st.nodes.get(id.0).cloned().flatten().map(|c| (*id, c)))
                .collect();
        }

        // Put the split get requests in place of their placeholders.
        let mut next_get = 0;
        for (req, plan) in requests.iter().zip(&plans) {
            if let (Request::Get { command, .. }, Plan::Sent(sent)) = (req, plan) {
                for &(node, sub) in sent {
                    let keys = &get_keys[next_get];
                    next_get += 1;
                    if let Some(subs) = per_node.get_mut(&NodeId(node)) {
                        subs[sub] = Request::Get {
                            command: *command,
                            keys: keys.as_slice(),
                        };
                    }
                }
            }
        }

        // Write to every node, then read from every node.
        let mut started = Vec::with_capacity(per_node.len());
        for (id, subs) in &per_node {
            match clients.get(id) {
                Some((_, client)) => started.push((*id, client.start(subs))),
                None => started.push((*id, Err(Error::NoServers))),
            }
        }
        let mut results: BTreeMap<usize, Outcomes> = BTreeMap::new();
        let mut failed_nodes = Vec::new();
        let mut ok_nodes = Vec::new();
        for (id, s) in started {
            let n = per_node.get(&id).map_or(0, Vec::len);
            let out = match s {
                Ok(s) => s.finish(),
                Err(e) => (0..n).map(|_| Some(Err(e.clone()))).collect(),
            };
            let connection_failed = out
                .iter()
                .flatten()
                .any(|r| r.as_ref().is_err_and(node_unreachable));
            if connection_failed {
                failed_nodes.push(id);
            } else {
                ok_nodes.push(id);
            }
            results.insert(id.0, out);
        }
        {
            let mut st = self.lock();
            // When the failure happened (see execute_meta).
            let failed_at = self.now();
            for id in failed_nodes {
                st.router.report_failure(id, failed_at);
            }
            for id in ok_nodes {
                st.router.report_success(id);
            }
        }

        // Assemble each request's outcome.
        let mut out = Outcomes::with_capacity(requests.len());
        for (req, plan) in requests.iter().zip(plans) {
            let outcome = match plan {
                Plan::Answered(o) => o,
                Plan::Sent(sent) => {
                    let mut parts = sent.iter().map(|&(node, sub)| {
                        results
                            .get_mut(&node)
                            .and_then(|o| o.get_mut(sub))
                            .and_then(Option::take)
                    });
                    merge(req, &mut parts, ignore)
                }
            };
            out.push(outcome);
        }
        Ok(out)
    }
}

/// Combines the per-node outcomes of one request.
fn merge(
    request: &Request<'_>,
    parts: &mut dyn Iterator<Item = Outcome>,
    ignore_exc: bool,
) -> Outcome {
    let mut merged: Option<Outcome> = None;
    for part in parts {
        let part = match part {
            Some(Err(e)) if ignore_exc && e.kind() != crate::ErrorKind::IllegalInput => {
                HashClient::miss(request)
            }
            p => p,
        };
        merged = Some(match (merged, part) {
            (None, p) => p,
            (Some(Some(Err(e))), _) => Some(Err(e)),
            (Some(_), Some(Err(e))) => Some(Err(e)),
            (Some(Some(Ok(Reply::Values(mut a)))), Some(Ok(Reply::Values(b)))) => {
                a.extend(b);
                Some(Ok(Reply::Values(a)))
            }
            (Some(first), _) => first,
        });
    }
    merged.flatten()
}

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
                .map(|s| s.to_server_addr().map_err(|e| Error::Config(e.to_string())))
                .collect(),
            opts: ClientOptions::default(),
            hash: HashOptions::default(),
        }
    }
}

impl HashClientBuilder {
    /// Sets every server's client options.
    pub fn options(mut self, opts: ClientOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Sets how keys are spread.
    pub fn distribution(mut self, d: Distribution) -> Self {
        self.hash.distribution = d;
        self
    }

    /// Sets how many retries a failing node gets before it is dropped.
    pub fn retry_attempts(mut self, n: u32) -> Self {
        self.hash.health.retry_attempts = n;
        self
    }

    /// Sets the wait before a failed node is tried again.
    pub fn retry_timeout(mut self, d: Duration) -> Self {
        self.hash.health.retry_timeout = d;
        self
    }

    /// Sets how long a dead node stays off the ring.
    pub fn dead_timeout(mut self, d: Duration) -> Self {
        self.hash.health.dead_timeout = d;
        self
    }

    /// Turns errors into misses (and skipped writes into `false`).
    pub fn ignore_exc(mut self, on: bool) -> Self {
        self.opts.ignore_exc = on;
        self
    }

    /// Gives each server a pool of connections.
    pub fn use_pooling(mut self, on: bool, pool: PoolOptions) -> Self {
        self.hash.use_pooling = on;
        self.hash.pool = pool;
        self
    }

    /// Connects to every server over TLS with `config` (see
    /// [`ClientBuilder::tls`](super::ClientBuilder::tls)).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: super::TlsConfig) -> Self {
        self.opts.tls = Some(config);
        self
    }

    /// Sets the protocol that carries the commands to every server.
    pub fn protocol(mut self, protocol: memcrab_core::Protocol) -> Self {
        self.opts.protocol = protocol;
        self
    }

    /// Sets the connect timeout of every server.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.opts.connect_timeout = Some(t);
        self
    }

    /// Sets the reply timeout of every server.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.opts.timeout = Some(t);
        self
    }

    /// Sets the noreply default of the storage commands.
    pub fn default_noreply(mut self, on: bool) -> Self {
        self.opts.default_noreply = on;
        self
    }

    /// Builds the client (no I/O).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address.
    pub fn build(self) -> Result<HashClient> {
        let servers = self.servers.into_iter().collect::<Result<Vec<_>>>()?;
        HashClient::with_options(servers, self.opts, self.hash)
    }
}
