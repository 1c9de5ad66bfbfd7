//! `Client`: one server, one lazily opened socket.

use memcrab_core::cluster::Cluster;
use memcrab_core::meta::MetaRequest;
use memcrab_core::router::NodeId;
use memcrab_core::Request;

use super::driver::{Driver, Outcomes, Wait};
use super::options::ClientOptions;
use crate::address::{ServerAddr, ToServerAddr};
use crate::api::Memcache;
use crate::error::{Error, Result};

/// A blocking client for one memcached server.
///
/// The constructor does no I/O: the socket opens on the first call, and
/// again on the call after any I/O error, timeout or protocol error (which
/// close it), so a memcached restart is survived by the next call. Calls
/// take `&self` and a client is `Send + Sync`; calls from several threads
/// take turns on its one socket (use a [`PooledClient`](crate::PooledClient)
/// for parallelism).
///
/// The commands come from the [`Memcache`] trait.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use memcrab_transport::{Client, Memcache};
///
/// let client = Client::builder("127.0.0.1:11211")
///     .connect_timeout(Duration::from_secs(1))
///     .timeout(Duration::from_millis(500))
///     .build()?;
/// client.set("some_key", "some_value")?;
/// assert_eq!(client.get::<String>("some_key")?.as_deref(), Some("some_value"));
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
pub struct Client {
    addr: ServerAddr,
    driver: Driver,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.addr.to_string())
            .field("options", &self.driver.opts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Creates a client for `server` with default options.
    ///
    /// `server` is any form pymemcache takes: `"host"`, `"host:port"`,
    /// `("host", port)`, `"[::1]:11211"`, `("::1", 11211)`, a unix socket
    /// path, or `"unix:/path"`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the address cannot be parsed.
    pub fn new(server: impl ToServerAddr) -> Result<Client> {
        Client::builder(server).build()
    }

    /// Starts building a client for `server` with options.
    pub fn builder(server: impl ToServerAddr) -> ClientBuilder {
        ClientBuilder {
            addr: server
                .to_server_addr()
                .map_err(|e| Error::Config(e.to_string())),
            opts: ClientOptions::default(),
        }
    }

    /// Creates a client for an already parsed address and options.
    ///
    /// This form cannot fail, so it does not check `opts`: a bad
    /// `key_prefix` here fails each call instead. [`Client::builder`]
    /// (with [`ClientBuilder::options`]) refuses it at build.
    #[must_use]
    pub fn with_options(addr: ServerAddr, opts: ClientOptions) -> Client {
        let cluster = Cluster::new(opts.cluster_config(), [addr.pymemcache_name().as_str()]);
        Client {
            driver: Driver::new(cluster, vec![Some(addr.clone())], opts, Wait::Forever),
            addr,
        }
    }

    /// Returns the server address.
    #[must_use]
    pub fn server(&self) -> &ServerAddr {
        &self.addr
    }

    /// Closes the connection; the next call opens a new one.
    pub fn close(&self) {
        self.driver.close_idle();
    }

    /// Returns true if a connection is open (it may still turn out to be
    /// closed by the server at the next call).
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.driver.lock().cluster.connection_count(NodeId(0)) > 0
    }
}

impl Client {
    /// Returns the client's options.
    #[must_use]
    pub fn options(&self) -> &ClientOptions {
        &self.driver.opts
    }
}

impl Memcache for Client {
    fn command_options(&self) -> crate::api::CommandOptions<'_> {
        self.driver.opts.command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        self.driver.execute(requests)
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        self.driver.execute_meta(requests)
    }
}

/// Builds a [`Client`] with options; every setter has pymemcache's name.
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    addr: Result<ServerAddr>,
    opts: ClientOptions,
}

super::setters::client_option_setters!(ClientBuilder);
super::setters::clock_setter!(ClientBuilder);

impl ClientBuilder {
    /// Builds the client (no I/O happens here).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad address or key prefix, or a keepalive
    /// with a zero setting.
    pub fn build(self) -> Result<Client> {
        let addr = self.addr?;
        self.opts.check()?;
        Ok(Client::with_options(addr, self.opts))
    }
}
