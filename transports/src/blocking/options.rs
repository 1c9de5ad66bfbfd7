//! Client options, with pymemcache's names and meanings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use memcrab_core::cluster::ClusterConfig;
use memcrab_core::serde::{RawSerde, Serde};
use memcrab_core::{KeyPolicy, Limits, Protocol};

/// The default connect and call timeout (pymemcache has none).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// TCP keepalive settings (pymemcache's `KeepaliveOpts`): probes start after
/// `idle`, repeat every `interval`, and give up after `count` probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe (`TCP_KEEPIDLE`).
    pub idle: Duration,
    /// Time between probes (`TCP_KEEPINTVL`).
    pub interval: Duration,
    /// Probes before the connection is dropped (`TCP_KEEPCNT`).
    pub count: u32,
}

impl Default for Keepalive {
    /// pymemcache's defaults: idle 1 s, interval 1 s, 5 probes.
    fn default() -> Self {
        Keepalive {
            idle: Duration::from_secs(1),
            interval: Duration::from_secs(1),
            count: 5,
        }
    }
}

/// Every option of a client: set its public fields over
/// [`ClientOptions::default`] (`ClientOptions { timeout: None,
/// ..ClientOptions::default() }`), or use the setters of the same names on
/// [`ClientBuilder`](super::ClientBuilder),
/// [`PooledClientBuilder`](super::PooledClientBuilder) and
/// [`HashClientBuilder`](super::HashClientBuilder). Every client refuses
/// bad options (a key prefix that is not a valid key, a keepalive with a
/// zero setting) when it is built, except the infallible
/// [`Client::with_options`](super::Client::with_options).
///
/// Defaults are pymemcache's, except:
///
/// | option | memcrab | pymemcache |
/// |---|---|---|
/// | `connect_timeout` | 1 s | `None` (blocks) |
/// | `timeout` | 1 s | `None` (blocks) |
/// | `no_delay` | on | off (its best-practice advice turns it on) |
/// | `max_item_size` | 1 MiB + 512 | none |
///
/// pymemcache has no timeouts by default, so a server that accepts and
/// never answers blocks a call forever; here such a call fails with a
/// timeout error after 1 s. Set `None` to block as pymemcache does.
#[derive(Clone)]
pub struct ClientOptions {
    /// Timeout for connecting (default 1 s; pymemcache's
    /// `connect_timeout`, whose default is none); `None` blocks.
    pub connect_timeout: Option<Duration>,
    /// Timeout for each call's reply (default 1 s; pymemcache's `timeout`,
    /// whose default is none); `None` blocks.
    pub timeout: Option<Duration>,
    /// Set `TCP_NODELAY` (default on).
    pub no_delay: bool,
    /// TCP keepalive (pymemcache's `socket_keepalive`); off by default.
    pub keepalive: Option<Keepalive>,
    /// Prepended to every key on the wire; counts towards the 250 bytes.
    pub key_prefix: Bytes,
    /// The noreply default for set, add, replace, append, prepend, delete,
    /// touch, flush_all and set_many/delete_many (default true, as
    /// pymemcache); cas, incr and decr always default to waiting.
    pub default_noreply: bool,
    /// Allow keys with non-ASCII bytes (sent as UTF-8).
    pub allow_unicode_keys: bool,
    /// Turn errors of the get family into misses (never bad-key errors).
    pub ignore_exc: bool,
    /// How values become bytes and flags, and back.
    pub serde: Arc<dyn Serde>,
    /// The largest value sent or accepted (default 1 MiB + 512).
    pub max_item_size: usize,
    /// Which protocol carries the classic commands (default
    /// [`Protocol::Text`]; [`Protocol::Meta`] needs memcached 1.6).
    pub protocol: Protocol,
    /// Where the time comes from (deadlines, node health): the real
    /// monotonic clock by default; a [`ManualClock`](crate::ManualClock)
    /// in tests runs them on virtual time.
    pub clock: Arc<dyn crate::Clock>,
    /// Speak TLS to the server with this configuration (cargo feature
    /// `tls`; default off, plain TCP).
    #[cfg(feature = "tls")]
    pub tls: Option<super::tls::TlsConfig>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Some(DEFAULT_TIMEOUT),
            timeout: Some(DEFAULT_TIMEOUT),
            no_delay: true,
            keepalive: None,
            key_prefix: Bytes::new(),
            default_noreply: true,
            allow_unicode_keys: false,
            ignore_exc: false,
            serde: Arc::new(RawSerde),
            max_item_size: Limits::default().max_item_size,
            protocol: Protocol::Text,
            clock: Arc::new(crate::SystemClock::new()),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientOptions");
        d.field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("no_delay", &self.no_delay)
            .field("keepalive", &self.keepalive)
            .field("key_prefix", &self.key_prefix)
            .field("default_noreply", &self.default_noreply)
            .field("allow_unicode_keys", &self.allow_unicode_keys)
            .field("ignore_exc", &self.ignore_exc)
            .field("max_item_size", &self.max_item_size)
            .field("protocol", &self.protocol);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls);
        d.finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Checks the options a build refuses: a keepalive with a zero
    /// setting, a key prefix that is not a valid key on its own.
    pub(crate) fn check(&self) -> crate::Result<()> {
        if let Some(ka) = self.keepalive {
            if ka.idle.is_zero() || ka.interval.is_zero() || ka.count == 0 {
                return Err(crate::Error::Config(
                    "keepalive idle, interval and count must each be at least 1".into(),
                ));
            }
        }
        if !self.key_prefix.is_empty() {
            memcrab_core::validate_key(&self.key_prefix, b"", self.allow_unicode_keys)
                .map_err(|e| crate::Error::Config(format!("key_prefix: {e}")))?;
        }
        Ok(())
    }

    /// Returns the key policy these options describe.
    #[must_use]
    pub fn key_policy(&self) -> KeyPolicy {
        KeyPolicy::new()
            .with_prefix(self.key_prefix.clone())
            .allow_unicode_keys(self.allow_unicode_keys)
    }

    /// Returns the core client's settings for these options: key rules,
    /// limits, protocol and reply timeout (connecting is the transport's).
    #[must_use]
    pub fn cluster_config(&self) -> ClusterConfig {
        let mut c = ClusterConfig::default();
        c.policy = self.key_policy();
        c.limits = self.limits();
        c.protocol = self.protocol;
        c.timeout = self.timeout;
        c
    }

    /// Returns what the command methods need of these options.
    #[must_use]
    pub fn command_options(&self) -> crate::api::CommandOptions<'_> {
        crate::api::CommandOptions {
            serde: &*self.serde,
            default_noreply: self.default_noreply,
            ignore_exc: self.ignore_exc,
        }
    }

    /// Returns the limits these options describe.
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits {
            max_item_size: self.max_item_size,
            ..Limits::default()
        }
    }
}
