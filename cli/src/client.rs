//! The client a command runs with: one server, or several routed by key.

use std::io::Write;
use std::time::Duration;

use memcrab::blocking::{HashClient, TlsConfig};
use memcrab::{Client, ClientOptions, Error, Protocol, ServerAddr};

use crate::args::{Command, Hash};
use crate::each;
use crate::output::Output;
use crate::run::{self, Failure, Status};

/// The largest value the command line sends or accepts: memcached's own
/// ceiling for `-I`, so the server, not the client, decides what is too
/// large for it.
pub const MAX_ITEM_SIZE: usize = 1024 * 1024 * 1024;

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
    options: ClientOptions,
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
    /// several servers are spread with `hash`; with `tls`, every
    /// connection speaks TLS. No I/O.
    ///
    /// # Errors
    ///
    /// The library's configuration error.
    pub fn new(
        servers: Vec<Server>,
        hash: Hash,
        protocol: Protocol,
        timeout: Duration,
        tls: Option<TlsConfig>,
    ) -> Result<Target, Error> {
        let opts = ClientOptions {
            connect_timeout: Some(timeout),
            timeout: Some(timeout),
            default_noreply: false,
            max_item_size: MAX_ITEM_SIZE,
            protocol,
            tls,
            ..ClientOptions::default()
        };
        let clients = match servers.as_slice() {
            [server] => Clients::One(
                Client::builder(server.addr.clone())
                    .options(opts.clone())
                    .build()?,
            ),
            _ => Clients::Many(
                HashClient::builder(servers.iter().map(|s| s.addr.clone()))
                    .options(opts.clone())
                    .distribution(hash.distribution())
                    .build()?,
            ),
        };
        Ok(Target {
            servers,
            options: opts,
            clients,
        })
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
            (Command::Dump | Command::Ping, _)
            | (Command::Stats { .. } | Command::Version, Clients::Many(_)) => {
                each::run(&self.each_server()?, command, out)
            }
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

    /// A client of its own for every server, in the order given, with the
    /// options of every other command. No I/O.
    fn each_server(&self) -> Result<Vec<(&Server, Client)>, Error> {
        self.servers
            .iter()
            .map(|server| {
                let client = Client::builder(server.addr.clone())
                    .options(self.options.clone())
                    .build()?;
                Ok((server, client))
            })
            .collect()
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
