//! What a [`Driver`](super::Driver) is configured with.

use std::time::Duration;

use memcrab_core::cluster::ClusterConfig;
use memcrab_core::router::{Distribution, HealthConfig};
use memcrab_core::{KeyPolicy, Limits, Protocol};

/// Options of a [`Driver`](super::Driver) (and of the connections of an
/// [`Engine`](super::Engine)).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use memcrab_transport::mio::DriverOptions;
///
/// let opts = DriverOptions {
///     timeout: Some(Duration::from_millis(250)),
///     ..DriverOptions::default()
/// };
/// assert_eq!(opts.max_buffered, 4 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct DriverOptions {
    /// Time a request may wait for its reply (connecting included); when it
    /// passes, the connection closes and every request on it gets
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout). `None`: wait
    /// forever. Default 5 s.
    pub timeout: Option<Duration>,
    /// Which protocol carries the classic commands. Default text.
    pub protocol: Protocol,
    /// Key prefix and key checks. Default: no prefix, ASCII keys.
    pub key_policy: KeyPolicy,
    /// Largest value and reply line accepted.
    pub limits: Limits,
    /// Unwritten bytes at which a connection refuses more requests with
    /// [`SubmitError::Full`](super::SubmitError::Full) until the socket
    /// takes some. Default 4 MiB.
    pub max_buffered: usize,
    /// Set `TCP_NODELAY` on every socket. Default true.
    pub no_delay: bool,
    /// How keys are spread over servers. Default rendezvous (pymemcache's).
    pub distribution: Distribution,
    /// When a failed server is tried again or declared dead.
    pub health: HealthConfig,
    /// Kept for compatibility; reads go into the connection's own buffer
    /// (no copy), sized toward the value being received, whatever this
    /// says. Default 64 KiB.
    pub read_buffer: usize,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            timeout: Some(Duration::from_secs(5)),
            protocol: Protocol::Text,
            key_policy: KeyPolicy::default(),
            limits: Limits::default(),
            max_buffered: 4 << 20,
            no_delay: true,
            distribution: Distribution::default(),
            health: HealthConfig::default(),
            read_buffer: 64 * 1024,
        }
    }
}

impl DriverOptions {
    /// The cluster settings these options fix (key rules, limits,
    /// protocol, routing, deadlines, health), shared by the driver and the
    /// engine.
    pub(crate) fn cluster_config(&self) -> ClusterConfig {
        let mut config = ClusterConfig::default();
        config.policy = self.key_policy.clone();
        config.limits = self.limits;
        config.protocol = self.protocol;
        config.distribution = self.distribution;
        config.timeout = self.timeout;
        config.connect_timeout = self.timeout;
        config.health = Some(self.health);
        config
    }

    /// Refuses a key prefix that is not a valid key on its own.
    pub(crate) fn check(&self) -> Result<(), String> {
        let prefix = self.key_policy.prefix();
        if prefix.is_empty() {
            return Ok(());
        }
        memcrab_core::validate_key(prefix, b"", self.key_policy.unicode_keys_allowed())
            .map_err(|e| format!("key_prefix: {e}"))
    }
}
