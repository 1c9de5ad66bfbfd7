//! The option setters every builder shares ([`ClientBuilder`],
//! [`PooledClientBuilder`], [`HashClientBuilder`], the tokio client's, and
//! the mock's, which takes those that need no socket):
//! one list, so the builders cannot drift apart; and the command trait of
//! every client that is a [`Driver`](super::driver::Driver).
//!
//! [`ClientBuilder`]: super::ClientBuilder
//! [`PooledClientBuilder`]: super::PooledClientBuilder
//! [`HashClientBuilder`]: super::HashClientBuilder

/// Implements the [`ClientOptions`](super::ClientOptions) setters on a
/// builder with an `opts: ClientOptions` field: the connection ones here,
/// the rest from `key_option_setters!`.
macro_rules! client_option_setters {
    ($builder:ty) => {
        impl $builder {
            /// Sets the connect timeout (default 1 s; `None` blocks).
            pub fn connect_timeout(mut self, t: impl Into<Option<std::time::Duration>>) -> Self {
                self.opts.connect_timeout = t.into();
                self
            }

            /// Sets the timeout for each call's reply (default 1 s; `None`
            /// blocks).
            pub fn timeout(mut self, t: impl Into<Option<std::time::Duration>>) -> Self {
                self.opts.timeout = t.into();
                self
            }

            /// Sets `TCP_NODELAY` (default on).
            pub fn no_delay(mut self, on: bool) -> Self {
                self.opts.no_delay = on;
                self
            }

            /// Turns on TCP keepalive with these settings.
            pub fn socket_keepalive(mut self, ka: $crate::blocking::Keepalive) -> Self {
                self.opts.keepalive = Some(ka);
                self
            }

            /// Speaks TLS with `config` (cargo feature `tls`): certificates
            /// are verified against its roots, for the server's host name
            /// unless the config names another (see
            /// [`TlsConfig`](crate::TlsConfig)).
            #[cfg(feature = "tls")]
            pub fn tls(mut self, config: $crate::TlsConfig) -> Self {
                self.opts.tls = Some(config);
                self
            }
        }

        $crate::blocking::setters::key_option_setters!($builder);
    };
}

pub(crate) use client_option_setters;

/// Implements the [`ClientOptions`](super::ClientOptions) setters that do
/// not concern a socket (keys, values, replies, the protocol) on a builder
/// with an `opts: ClientOptions` field; the mock client's builder has
/// these only.
macro_rules! key_option_setters {
    ($builder:ty) => {
        impl $builder {
            /// Sets the prefix prepended to every key (checked at build).
            pub fn key_prefix(mut self, prefix: impl Into<bytes::Bytes>) -> Self {
                self.opts.key_prefix = prefix.into();
                self
            }

            /// Sets the noreply default of the storage commands (default
            /// true).
            pub fn default_noreply(mut self, on: bool) -> Self {
                self.opts.default_noreply = on;
                self
            }

            /// Allows non-ASCII keys.
            pub fn allow_unicode_keys(mut self, on: bool) -> Self {
                self.opts.allow_unicode_keys = on;
                self
            }

            /// Turns errors of the get family into misses (and, on a
            /// [`HashClient`](crate::HashClient), skipped writes into
            /// `false`).
            pub fn ignore_exc(mut self, on: bool) -> Self {
                self.opts.ignore_exc = on;
                self
            }

            /// Sets the serde (default
            /// [`RawSerde`](memcrab_core::serde::RawSerde)).
            pub fn serde(mut self, serde: impl memcrab_core::serde::Serde + 'static) -> Self {
                self.opts.serde = std::sync::Arc::new(serde);
                self
            }

            /// Sets the largest value sent or accepted (default 1 MiB + 512).
            pub fn max_item_size(mut self, bytes: usize) -> Self {
                self.opts.max_item_size = bytes;
                self
            }

            /// Sets the protocol that carries the commands:
            /// [`Protocol::Text`](memcrab_core::Protocol::Text) (default) or
            /// [`Protocol::Meta`](memcrab_core::Protocol::Meta) (memcached
            /// 1.6+; noreply failures are reported instead of lost).
            pub fn protocol(mut self, protocol: memcrab_core::Protocol) -> Self {
                self.opts.protocol = protocol;
                self
            }

            /// Replaces all client options at once.
            pub fn options(mut self, opts: $crate::ClientOptions) -> Self {
                self.opts = opts;
                self
            }

            /// Returns the client options set so far.
            #[must_use]
            pub fn current_options(&self) -> &$crate::ClientOptions {
                &self.opts
            }
        }
    };
}

pub(crate) use key_option_setters;

/// Implements `clock` on a blocking builder (the tokio client's time is
/// tokio's clock, so it has none).
macro_rules! clock_setter {
    ($builder:ty) => {
        impl $builder {
            /// Sets where the time comes from (see
            /// [`ClientOptions::clock`](crate::ClientOptions::clock)).
            pub fn clock(mut self, clock: impl $crate::Clock + 'static) -> Self {
                self.opts.clock = std::sync::Arc::new(clock);
                self
            }
        }
    };
}

pub(crate) use clock_setter;

/// Implements [`Memcache`](crate::Memcache) on a client with a
/// `driver: Driver` field: its options, its batches.
macro_rules! driver_memcache {
    ($(#[$doc:meta])* $client:ty) => {
        $(#[$doc])*
        impl $crate::Memcache for $client {
            fn command_options(&self) -> $crate::CommandOptions<'_> {
                self.driver.opts.command_options()
            }

            fn execute(
                &self,
                requests: &[memcrab_core::Request<'_>],
            ) -> $crate::Result<$crate::blocking::Outcomes> {
                self.driver.execute(requests)
            }

            fn execute_meta(
                &self,
                requests: &[memcrab_core::meta::MetaRequest<'_>],
            ) -> $crate::Result<$crate::blocking::Outcomes> {
                self.driver.execute_meta(requests)
            }
        }
    };
}

pub(crate) use driver_memcache;

/// Implements pymemcache's node health setters on a builder with a
/// `health_mut(&mut self) -> &mut HealthConfig` method (see
/// [`HealthConfig`](memcrab_core::router::HealthConfig)).
macro_rules! health_setters {
    ($builder:ty) => {
        impl $builder {
            /// Sets the retries a node gets after its first failure before
            /// it is dead and off the ring (pymemcache's `retry_attempts`,
            /// default 2; 0: dead at its first failure).
            pub fn retry_attempts(mut self, n: u32) -> Self {
                self.health_mut().retry_attempts = n;
                self
            }

            /// Sets the time after a failure before the node is tried again
            /// (pymemcache's `retry_timeout`, default 1 s).
            pub fn retry_timeout(mut self, d: std::time::Duration) -> Self {
                self.health_mut().retry_timeout = d;
                self
            }

            /// Sets how long a dead node stays off the ring before it is
            /// tried again (pymemcache's `dead_timeout`, default 60 s).
            pub fn dead_timeout(mut self, d: std::time::Duration) -> Self {
                self.health_mut().dead_timeout = d;
                self
            }
        }
    };
}

pub(crate) use health_setters;
