//! The client a command runs with: one server, or several routed by key.

use std::io::Write;
use std::time::Duration;

use memcrab::blocking::HashClient;
use memcrab::{Client, ClientOptions, Error, Memcache, Protocol, ServerAddr};

use crate::args::{Command, Hash};
use crate::output::Output;
use crate::run::{self, Failure, Status};

/// The largest value the command line sends or accepts: memcached's own
/// ceiling for `-I`, so the server, not the client, decides what is too
/// large for it.
const MAX_ITEM_SIZE: usize = 1024 * 1024 * 1024;

/// One server of the list: its address, and the text it was given as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// The item of the server list, as written there (without the blanks
    /// around it).
    pub given: String,
    /// Its address.
    pub addr: ServerAddr,
}

/// The servers and the client over them.
pub struct Target {
    servers: Vec<Server>,
    clients: Clients,
}

/// A plain client for one server, a hash client for several.
// One value per process: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Clients {
    /// One server.
    One(Client),
    /// Several servers, each key on the server `--hash` picks for it;
    /// commands without a key go to every server.
    Many(HashClient),
}

impl Target {
    /// A client for `servers` (at least one) that waits for every reply,
    /// and never longer than `timeout` for a connection or a reply;
    /// several servers are spread with `hash`. No I/O.
    ///
    /// # Errors
    ///
    /// The library's configuration error.
    pub fn new(
        servers: Vec<Server>,
        hash: Hash,
        protocol: Protocol,
        timeout: Duration,
    ) -> Result<Target, Error> {
        let opts = ClientOptions {
            connect_timeout: Some(timeout),
            timeout: Some(timeout),
            default_noreply: false,
            max_item_size: MAX_ITEM_SIZE,
            protocol,
            ..ClientOptions::default()
        };
        let clients = match servers.as_slice() {
            [server] => Clients::One(Client::builder(server.addr.clone()).options(opts).build()?),
            _ => Clients::Many(
                HashClient::builder(servers.iter().map(|s| s.addr.clone()))
                    .options(opts)
                    .distribution(hash.distribution())
                    .build()?,
            ),
        };
        Ok(Target { servers, clients })
    }

    /// Runs `command`; see [`run::run`]. `route` is answered here, without
    /// any I/O.
    ///
    /// # Errors
    ///
    /// As [`run::run`].
    pub fn run<O: Write, E: Write>(
        &self,
        command: &Command,
        out: &mut Output<O, E>,
    ) -> Result<Status, Failure> {
        match (command, &self.clients) {
            (Command::Route { keys }, _) => self.route(keys, out),
            (_, Clients::One(client)) => run::run(client, command, out),
            (_, Clients::Many(client)) => run::run(client, command, out),
        }
    }

    /// `route KEY...`: a `KEY<TAB>SERVER` line per key, the server written
    /// as given. Every key is checked, as any command checks it, before
    /// anything is printed.
    fn route<O: Write, E: Write>(
        &self,
        keys: &[Vec<u8>],
        out: &mut Output<O, E>,
    ) -> Result<Status, Failure> {
        let policy = match &self.clients {
            Clients::One(client) => client.options().key_policy(),
            Clients::Many(client) => client.options().key_policy(),
        };
        for key in keys {
            policy
                .check(key)
                .map_err(|e| Error::Protocol(memcrab::core::Error::from(e)))?;
        }
        for key in keys {
            let server = match &self.clients {
                Clients::One(_) => &self.servers[0],
                Clients::Many(client) => {
                    let addr = client.server_for(key).ok_or(Error::NoServers)?;
                    self.given(&addr).ok_or(Error::NoServers)?
                }
            };
            out.route(key, &server.given)?;
        }
        Ok(Status::Success)
    }

    /// The first server of the list with the address `addr`.
    fn given(&self, addr: &ServerAddr) -> Option<&Server> {
        self.servers.iter().find(|server| server.addr == *addr)
    }

    /// The server `command` talks to, for error messages: the server of
    /// its first key, or every server for a command without a key.
    pub fn describe_server(&self, command: &Command) -> String {
        match &self.clients {
            Clients::One(client) => client.server().to_string(),
            Clients::Many(client) => {
                let server = command.first_key().and_then(|key| client.server_for(key));
                match server {
                    Some(server) => server.to_string(),
                    None => client
                        .servers()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                }
            }
        }
    }
}
