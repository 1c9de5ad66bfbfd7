//! `(server_key, key)` keys: commands routed by one key, stored under
//! their own (pymemcache's tuple keys on `HashClient`).

use memcrab_core::meta::MetaRequest;
use memcrab_core::{validate_key, Request};

use super::driver::Outcomes;
use super::hash::HashClient;
use crate::address::ServerAddr;
use crate::api::{CommandOptions, Memcache};
use crate::error::{Error, Result};

/// A view of a [`HashClient`] that sends every command to the server
/// `server_key` goes to, under the commands' own keys (pymemcache's
/// `(server_key, key)` keys). Keys that share a server key live on one
/// server, so a `get_many` of them is one request to one server.
///
/// Made by [`HashClient::server_keyed`]; it has every command of
/// [`Memcache`]. The server key follows the key rules (it is checked, and
/// routed without the key prefix, as any key is); if its server is down,
/// calls fail or miss as that server's keys do.
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{HashClient, Memcache};
///
/// let client = HashClient::new(["127.0.0.1:11211", "127.0.0.1:11212"])?;
/// let user = client.server_keyed("user:42");
/// user.set("user:42:name", "Ada")?;
/// user.set("user:42:mail", "ada@example.org")?;
/// let both: std::collections::HashMap<&str, String> = user.get_many(&["user:42:name", "user:42:mail"])?;
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerKeyed<'c> {
    client: &'c HashClient,
    server_key: Vec<u8>,
}

impl HashClient {
    /// Returns a view of this client whose commands all go to the server
    /// `server_key` goes to (see [`ServerKeyed`]); no I/O.
    #[must_use]
    pub fn server_keyed(&self, server_key: impl AsRef<[u8]>) -> ServerKeyed<'_> {
        ServerKeyed {
            client: self,
            server_key: server_key.as_ref().to_vec(),
        }
    }
}

impl ServerKeyed<'_> {
    /// Returns the server key.
    #[must_use]
    pub fn server_key(&self) -> &[u8] {
        &self.server_key
    }

    /// Returns the server the commands go to now, or `None` if every
    /// server is down (no I/O).
    #[must_use]
    pub fn server(&self) -> Option<ServerAddr> {
        self.client.server_for(&self.server_key)
    }

    /// The server's id, after checking the server key.
    fn target(&self) -> Result<memcrab_core::router::NodeId> {
        let opts = self.client.options();
        validate_key(&self.server_key, &opts.key_prefix, opts.allow_unicode_keys)
            .map_err(|e| Error::Protocol(memcrab_core::Error::IllegalInput(e)))?;
        let driver = self.client.driver();
        let now = driver.now();
        driver
            .lock()
            .cluster
            .server_for(&self.server_key, now)
            .ok_or(Error::NoServers)
    }
}

impl Memcache for ServerKeyed<'_> {
    fn command_options(&self) -> CommandOptions<'_> {
        self.client.command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
        let server = self.target()?;
        self.client.driver().execute_on(server, requests)
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
        let server = self.target()?;
        self.client.driver().execute_meta_on(server, requests)
    }
}
