//! What a [`Cluster`](super::Cluster) is told once, when it is made.

use core::time::Duration;

use crate::connection::Protocol;
use crate::key::KeyPolicy;
use crate::limits::Limits;
use crate::router::{Distribution, HealthConfig};

/// The settings of a [`Cluster`](super::Cluster).
///
/// # Example
///
/// ```
/// use memcrab_core::cluster::ClusterConfig;
///
/// let config = ClusterConfig::default().max_connections(4).depth(64);
/// assert_eq!(config.max_connections, 4);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// Key prefix and key rules, checked once per request at submit.
    pub policy: KeyPolicy,
    /// Item size and line limits.
    pub limits: Limits,
    /// Which protocol carries the classic commands.
    pub protocol: Protocol,
    /// How keys are spread over servers.
    pub distribution: Distribution,
    /// Node health (pymemcache's `HashClient` retry and dead-node rules);
    /// `None` never skips a server (a plain client or pool).
    pub health: Option<HealthConfig>,
    /// Turn errors into the command's default (a miss, `false`), as
    /// pymemcache's `HashClient` does with `ignore_exc`.
    pub ignore_exc: bool,
    /// Most connections per server.
    pub max_connections: usize,
    /// Tickets in flight per connection at most: 1 hands each connection
    /// to one ticket at a time (a blocking pool's lease), more pipelines
    /// tickets of many callers on one connection.
    pub depth: usize,
    /// How long a request may wait for its reply (`None`: forever).
    pub timeout: Option<Duration>,
    /// How long opening a connection may take (`None`: forever).
    pub connect_timeout: Option<Duration>,
    /// Close connections idle longer than this (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Merge single-key `get`s bound for one server into multi-key gets of
    /// up to this many keys while its connections are busy (0 or 1: off).
    pub merge_gets: usize,
    /// Open another connection (up to `max_connections`) rather than
    /// pipeline a ticket on a connection that already holds one. Off: a
    /// connection takes tickets up to the depth before another opens.
    pub spread: bool,
    /// Unwritten bytes at which a connection takes no new ticket until its
    /// socket takes some (`None`: no limit): a server whose connections
    /// are all that full refuses with [`Refusal::Busy`](super::Refusal::Busy).
    pub max_buffered: Option<usize>,
    /// With node health on, fail a request whose server is resting (failed
    /// less than its retry timeout ago) with the fault that put it to rest,
    /// instead of answering the command's default (a miss, `false`) as
    /// pymemcache's `HashClient` does.
    pub fail_resting: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            policy: KeyPolicy::default(),
            limits: Limits::default(),
            protocol: Protocol::Text,
            distribution: Distribution::Rendezvous,
            health: None,
            ignore_exc: false,
            max_connections: 1,
            depth: 1,
            timeout: None,
            connect_timeout: None,
            idle_timeout: None,
            merge_gets: 0,
            spread: false,
            max_buffered: None,
            fail_resting: false,
        }
    }
}

impl ClusterConfig {
    /// Sets the most connections per server (at least 1).
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets the tickets in flight per connection (at least 1).
    #[must_use]
    pub fn depth(mut self, n: usize) -> Self {
        self.depth = n.max(1);
        self
    }

    /// Turns node health on with `health`.
    #[must_use]
    pub fn health(mut self, health: HealthConfig) -> Self {
        self.health = Some(health);
        self
    }
}
