//! `memcrab::tokio::Client`: one or many servers for any number of tasks.

use std::sync::Arc;

use memcrab_core::cluster::Cluster;
use memcrab_core::meta::MetaRequest;
use memcrab_core::router::NodeId;
use memcrab_core::Request;

use super::builder::ClientBuilder;
use super::driver::Shared;
use crate::address::ServerAddr;
use crate::api::CommandOptions;
use crate::async_api::AsyncMemcache;
use crate::blocking::{ClientOptions, Outcomes};
use crate::error::Result;

/// An async memcached client over one or many servers, shared by any
/// number of tasks: `Clone` (cheap: one `Arc`), `Send` and `Sync`.
///
/// Every command of [`AsyncMemcache`] and
/// [`AsyncMetaCommands`](crate::AsyncMetaCommands). Requests from
/// concurrent tasks bound for one server are written together (automatic
/// pipelining) and concurrent single-key gets are merged into multi-key
/// gets (on by default, [`ClientBuilder::merge_gets`]). Keys are spread
/// over servers as [`HashClient`](crate::HashClient) spreads them, with
/// its dead-node handling. A future dropped at any point is safe: its
/// replies are read and discarded.
///
/// Connections open lazily, inside the runtime of the first call; use a
/// client within one tokio runtime.
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::AsyncMemcache;
/// use memcrab_transport::tokio::Client;
///
/// # async fn demo() -> memcrab_transport::Result<()> {
/// let client = Client::builder()
///     .server("127.0.0.1:11211")
///     .timeout(std::time::Duration::from_secs(1))
///     .build()?;
/// let tasks: Vec<_> = (0..8)
///     .map(|i| {
///         let client = client.clone();
///         tokio::spawn(async move { client.get::<String>(format!("key{i}")).await })
///     })
///     .collect();
/// for t in tasks {
///     println!("{:?}", t.await.expect("task"));
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    handle: Arc<Handle>,
}

/// The last clone of a client stops its tasks.
#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.lock().abort_all();
    }
}

impl Client {
    /// A client of one server with the default options.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) for a bad address.
    pub fn new(server: impl crate::ToServerAddr) -> Result<Client> {
        Client::builder().server(server).build()
    }

    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(super) fn from_parts(
        cluster: Cluster<crate::Error>,
        addrs: Vec<Option<ServerAddr>>,
        opts: ClientOptions,
    ) -> Client {
        Client {
            handle: Arc::new(Handle {
                shared: Arc::new(Shared::new(cluster, addrs, opts)),
            }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Returns the client's options.
    #[must_use]
    pub fn options(&self) -> &ClientOptions {
        &self.shared().opts
    }

    /// Returns the servers, in the order they were added.
    #[must_use]
    pub fn servers(&self) -> Vec<ServerAddr> {
        let st = self.shared().lock();
        st.cluster
            .servers()
            .filter_map(|id| st.addrs.get(id.0).cloned().flatten())
            .collect()
    }

    /// Returns the server that owns `key` now (node health included).
    #[must_use]
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Option<ServerAddr> {
        let now = self.shared().now();
        let mut st = self.shared().lock();
        let id = st.cluster.server_for(key.as_ref(), now)?;
        st.addrs.get(id.0).cloned().flatten()
    }

    /// Runs `requests` on one server, whatever their keys (say, `stats`
    /// of each server).
    ///
    /// # Errors
    ///
    /// As [`AsyncMemcache::execute`].
    pub async fn execute_on(
        &self,
        server: &ServerAddr,
        requests: &[Request<'_>],
    ) -> Result<Outcomes> {
        let id = {
            let st = self.shared().lock();
            st.addrs
                .iter()
                .position(|a| a.as_ref() == Some(server))
                .map(NodeId)
        };
        let Some(id) = id else {
            return Err(crate::Error::Config(format!(
                "{server} is not a server of this client"
            )));
        };
        self.shared()
            .run(requests.len(), |c, now| c.submit_to(now, id, requests))
            .await
    }

    /// Closes every connection no call is using.
    pub fn close(&self) {
        self.shared()
            .step(|st, _| st.cluster.close_idle_connections());
    }
}

impl AsyncMemcache for Client {
    fn command_options(&self) -> CommandOptions<'_> {
        self.shared().opts.command_options()
    }

    async fn execute<'a>(&'a self, requests: &'a [Request<'a>]) -> Result<Outcomes> {
        // Validated once, under the lock of the first attempt.
        let mut checked = None;
        self.shared()
            .run(requests.len(), move |c, now| {
                let batch = match checked {
                    Some(b) => b,
                    None => *checked.insert(c.validate(requests)?),
                };
                c.submit_checked(now, batch)
            })
            .await
    }

    async fn execute_meta<'a>(&'a self, requests: &'a [MetaRequest<'a>]) -> Result<Outcomes> {
        let mut checked = None;
        self.shared()
            .run(requests.len(), move |c, now| {
                let batch = match checked {
                    Some(b) => b,
                    None => *checked.insert(c.validate_meta(requests)?),
                };
                c.submit_meta_checked(now, batch)
            })
            .await
    }
}
