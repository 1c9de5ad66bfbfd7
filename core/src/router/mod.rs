//! Routing: which memcached node a key belongs to, and which nodes are up.
//!
//! A [`Router`] decides; its callers own the connections. Give it node names
//! and a [`Distribution`]; ask [`Router::node_for`] where a key goes; report
//! each call's outcome with [`Router::report_failure`] or
//! [`Router::report_success`]. Nodes are named by [`NodeId`]s, small indices
//! a transport can keep its per-node connections under. Time comes in as
//! [`Millis`]; nothing here reads a clock.
//!
//! The pieces are usable on their own:
//!
//! - [`Rendezvous`]: pymemcache's `RendezvousHash`, with [`murmur3_32`] and
//!   node names from [`pymemcache_node_name`];
//! - [`Ketama`]: twemproxy's (and libmemcached's weighted) ketama, with names
//!   from [`twemproxy_server_name`];
//! - [`Health`]: pymemcache's `HashClient` retry and dead-node rules.

use alloc::string::String;
use alloc::vec::Vec;

use crate::time::Millis;

mod health;
mod ketama;
mod murmur3;
mod rendezvous;

pub use health::{Decision, Health, HealthConfig, NodeState};
pub use ketama::{twemproxy_server_name, Ketama, KeyHash};
pub use murmur3::{murmur3_32, murmur3_32_str};
pub use rendezvous::{pymemcache_node_name, KeyForm, Rendezvous};

/// Identifies a node of a [`Router`]: its index, in the order nodes were
/// first added.
///
/// An id stays with its node name for the router's life: a node removed and
/// added again gets its old id back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// Says where a call for a key goes.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// Send the call to this node.
    Node(NodeId),
    /// The key's node failed less than `retry_timeout` ago: answer the call
    /// with the command's default (a miss, `false`) without I/O and without
    /// an error, as pymemcache does.
    Wait(NodeId),
    /// No node is live (pymemcache: "All servers seem to be down right
    /// now").
    NoNodes,
}

/// Chooses how keys are spread over nodes.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub enum Distribution {
    /// Rendezvous hashing as pymemcache's `HashClient` with `str` keys:
    /// MurmurHash3 of `"{node}-{key}"` (see [`Rendezvous`],
    /// [`KeyForm::Str`]).
    #[default]
    Rendezvous,
    /// Rendezvous hashing as pymemcache's `HashClient` with `bytes` keys,
    /// which hashes `repr(key)` (see [`KeyForm::BytesRepr`]).
    RendezvousBytesRepr,
    /// Rendezvous hashing with the caller's hash of `"{node}-{key}"` (see
    /// [`Rendezvous::with_hash_fn`]).
    RendezvousWith(fn(&[u8]) -> u32),
    /// Ketama with MD5 key hashes, as twemproxy's `distribution: ketama`,
    /// `hash: md5` and libmemcached's weighted ketama (see [`Ketama`]).
    KetamaMd5,
    /// Ketama with twemproxy's `hash: fnv1a_64` key hashes.
    KetamaFnv1a64,
}

#[derive(Clone, Debug)]
enum Ring {
    Rendezvous(Rendezvous),
    Ketama(Ketama),
}

#[derive(Clone, Debug)]
struct Node {
    name: String,
    weight: u32,
    removed: bool,
}

/// Routes keys to nodes and tracks node health, as pymemcache's `HashClient`
/// does, without owning a connection.
///
/// The caller (a transport's hash client) keeps one connection per
/// [`NodeId`] and, for each keyed call:
///
/// 1. asks [`node_for`](Self::node_for) with the routing key (the key before
///    any key prefix, which pymemcache does not hash) and the current time;
/// 2. on [`Route::Node`], makes the call, then reports
///    [`report_failure`](Self::report_failure) if the node could not be
///    reached (connection refused or broken, timeout) or
///    [`report_success`](Self::report_success) otherwise;
/// 3. on [`Route::Wait`] answers with the command's default, on
///    [`Route::NoNodes`] with an error or the default.
///
/// Multi-key calls route each key and group the keys by node. Dead nodes
/// leave the ring and come back by themselves (see [`Health`]);
/// [`nodes`](Self::nodes) lists them all, for commands sent to every node
/// (`stats`, `flush_all`).
///
/// Weights count only for ketama; rendezvous hashing, like pymemcache, has
/// none.
#[derive(Clone, Debug)]
pub struct Router {
    distribution: Distribution,
    nodes: Vec<Node>,
    ring: Ring,
    /// The node of each position of the ring.
    ring_ids: Vec<NodeId>,
    health: Health,
}

impl Router {
    /// Creates a router over the nodes `names` (each with weight 1), spread
    /// by `distribution`, with `health` rules; `now` starts the clock of the
    /// dead-node checks.
    ///
    /// A name given twice makes one node.
    #[must_use]
    pub fn new<I>(names: I, distribution: Distribution, health: HealthConfig, now: Millis) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut router = Router {
            distribution,
            nodes: Vec::new(),
            ring: Ring::Rendezvous(Rendezvous::new()),
            ring_ids: Vec::new(),
            health: Health::new(health, now),
        };
        for name in names {
            router.insert(name.as_ref(), 1);
        }
        router.rebuild();
        router
    }

    /// Returns the distribution.
    #[must_use]
    pub fn distribution(&self) -> Distribution {
        self.distribution
    }

    /// Adds the node `name` with weight 1, and returns its id.
    ///
    /// Adding a node that is already there changes nothing; adding one that
    /// was removed brings it back, healthy, under its old id.
    pub fn add_node(&mut self, name: &str) -> NodeId {
        self.add_weighted_node(name, 1)
    }

    /// Adds the node `name` with `weight` (ketama only; 0 counts as 1), and
    /// returns its id. A node already there takes the new weight.
    pub fn add_weighted_node(&mut self, name: &str, weight: u32) -> NodeId {
        let id = self.insert(name, weight);
        self.rebuild();
        id
    }

    /// Removes `node`; its keys go to the other nodes.
    ///
    /// Returns false if there was no such node.
    pub fn remove_node(&mut self, node: NodeId) -> bool {
        match self.nodes.get_mut(node.0) {
            Some(n) if !n.removed => {
                n.removed = true;
                self.health.forget(node);
                self.rebuild();
                true
            }
            _ => false,
        }
    }

    /// Decides where a call for `key` goes at `now`.
    ///
    /// First puts back dead nodes whose time has come; then picks the key's
    /// node among the live ones. If that node has used up its retries it is
    /// declared dead, taken off the ring, and the key is routed again.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::router::{Distribution, HealthConfig, NodeId, Route, Router};
    /// use memcrab_core::Millis;
    ///
    /// let nodes = ["127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"];
    /// let mut router = Router::new(nodes, Distribution::Rendezvous, HealthConfig::default(), Millis(0));
    /// assert_eq!(router.node_for(b"foo", Millis(0)), Route::Node(NodeId(2)));
    /// assert_eq!(router.node_name(NodeId(2)), Some("127.0.0.1:11213"));
    ///
    /// // The call failed: for a second, calls for its keys make no I/O.
    /// router.report_failure(NodeId(2), Millis(10));
    /// assert_eq!(router.node_for(b"foo", Millis(500)), Route::Wait(NodeId(2)));
    /// assert_eq!(router.node_for(b"foo", Millis(1_011)), Route::Node(NodeId(2)));
    /// ```
    pub fn node_for(&mut self, key: &[u8], now: Millis) -> Route {
        if !self.health.revive_due(now).is_empty() {
            self.rebuild();
        }
        // Each turn but the last takes one node off the ring.
        for _ in 0..=self.ring_ids.len() {
            let position = match &self.ring {
                Ring::Rendezvous(r) => r.get_index(key),
                Ring::Ketama(k) => k.get_index(key),
            };
            let Some(&node) = position.and_then(|p| self.ring_ids.get(p)) else {
                return Route::NoNodes;
            };
            match self.health.check(node, now) {
                Decision::Try => return Route::Node(node),
                Decision::Wait => return Route::Wait(node),
                Decision::Dead => self.rebuild(),
            }
        }
        Route::NoNodes
    }

    /// Records that a call to `node` failed at `now` because the node could
    /// not be reached; with `retry_attempts` 0 the node leaves the ring.
    pub fn report_failure(&mut self, node: NodeId, now: Millis) {
        if self.is_configured(node) && self.health.record_failure(node, now) {
            self.rebuild();
        }
    }

    /// Records that a call to `node` succeeded, clearing a failure.
    pub fn report_success(&mut self, node: NodeId) {
        if self.is_configured(node) {
            self.health.record_success(node);
        }
    }

    /// Returns the name of `node`, or `None` if there is no such node.
    #[must_use]
    pub fn node_name(&self, node: NodeId) -> Option<&str> {
        self.nodes
            .get(node.0)
            .filter(|n| !n.removed)
            .map(|n| n.name.as_str())
    }

    /// Returns the id of the node called `name`, if there is one.
    #[must_use]
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| !n.removed && n.name == name)
            .map(NodeId)
    }

    /// Returns every node, live or dead, with its name, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &str)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.removed)
            .map(|(i, n)| (NodeId(i), n.name.as_str()))
    }

    /// Returns true if `node` exists and is not dead.
    #[must_use]
    pub fn is_live(&self, node: NodeId) -> bool {
        self.is_configured(node) && !self.health.is_dead(node)
    }

    /// Returns the number of live nodes.
    #[must_use]
    pub fn live_count(&self) -> usize {
        self.ring_ids.len()
    }

    /// Returns the health of `node`.
    #[must_use]
    pub fn node_state(&self, node: NodeId) -> NodeState {
        self.health.state(node)
    }

    /// Returns the health rules.
    #[must_use]
    pub fn health_config(&self) -> &HealthConfig {
        self.health.config()
    }

    fn is_configured(&self, node: NodeId) -> bool {
        self.nodes.get(node.0).is_some_and(|n| !n.removed)
    }

    /// Adds or updates a node without rebuilding the ring.
    fn insert(&mut self, name: &str, weight: u32) -> NodeId {
        let weight = weight.max(1);
        match self.nodes.iter().position(|n| n.name == name) {
            Some(i) => {
                let node = &mut self.nodes[i];
                if node.removed {
                    node.removed = false;
                    self.health.forget(NodeId(i));
                }
                node.weight = weight;
                NodeId(i)
            }
            None => {
                self.nodes.push(Node {
                    name: name.into(),
                    weight,
                    removed: false,
                });
                NodeId(self.nodes.len() - 1)
            }
        }
    }

    /// Builds the ring again from the live nodes, in id order.
    fn rebuild(&mut self) {
        let health = &self.health;
        let live = || {
            self.nodes
                .iter()
                .enumerate()
                .filter(|(i, n)| !n.removed && !health.is_dead(NodeId(*i)))
        };
        self.ring_ids = live().map(|(i, _)| NodeId(i)).collect();
        let rendezvous = |mut ring: Rendezvous| {
            for (_, n) in live() {
                ring.add_node(&n.name);
            }
            Ring::Rendezvous(ring)
        };
        let ketama = |hash| {
            let servers: Vec<(&str, u32)> =
                live().map(|(_, n)| (n.name.as_str(), n.weight)).collect();
            Ring::Ketama(Ketama::new(&servers, hash))
        };
        self.ring = match self.distribution {
            Distribution::Rendezvous => rendezvous(Rendezvous::new()),
            Distribution::RendezvousBytesRepr => {
                rendezvous(Rendezvous::new().with_key_form(KeyForm::BytesRepr))
            }
            Distribution::RendezvousWith(f) => rendezvous(Rendezvous::with_hash_fn(f)),
            Distribution::KetamaMd5 => ketama(KeyHash::Md5),
            Distribution::KetamaFnv1a64 => ketama(KeyHash::Fnv1a64),
        };
    }
}

#[cfg(test)]
mod tests;
