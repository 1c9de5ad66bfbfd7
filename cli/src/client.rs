//! The client a command runs with: one server, or several routed by key.

use std::io::Write;
use std::time::Duration;

use memcrab::blocking::HashClient;
use memcrab::{Client, ClientOptions, Error, ServerAddr};

use crate::args::Command;
use crate::output::Output;
use crate::run::{self, Failure, Status};

/// The largest value the command line sends or accepts: memcached's own
/// ceiling for `-I`, so the server, not the client, decides what is too
/// large for it.
const MAX_ITEM_SIZE: usize = 1024 * 1024 * 1024;

/// A plain client for one server, a hash client for several.
pub enum Target {
    /// One server.
    One(Client),
    /// Several servers, each key on the server pymemcache's `HashClient`
    /// picks for it; commands without a key go to every server.
    Many(HashClient),
}

impl Target {
    /// A client for `servers` (at least one) that waits for every reply,
    /// and never longer than `timeout` for a connection or a reply.
    ///
    /// # Errors
    ///
    /// The library's configuration error.
    pub fn new(mut servers: Vec<ServerAddr>, timeout: Duration) -> Result<Target, Error> {
        let opts = ClientOptions {
            connect_timeout: Some(timeout),
            timeout: Some(timeout),
            default_noreply: false,
            max_item_size: MAX_ITEM_SIZE,
            ..ClientOptions::default()
        };
        if servers.len() == 1 {
            let server = servers.pop().expect("one server");
            Ok(Target::One(Client::builder(server).options(opts).build()?))
        } else {
            Ok(Target::Many(
                HashClient::builder(servers).options(opts).build()?,
            ))
        }
    }

    /// Runs `command`; see [`run::run`].
    ///
    /// # Errors
    ///
    /// As [`run::run`].
    pub fn run<O: Write, E: Write>(
        &self,
        command: &Command,
        out: &mut Output<O, E>,
    ) -> Result<Status, Failure> {
        match self {
            Target::One(client) => run::run(client, command, out),
            Target::Many(client) => run::run(client, command, out),
        }
    }

    /// The server `command` talks to, for error messages: the server of
    /// its first key, or every server for a command without a key.
    pub fn describe_server(&self, command: &Command) -> String {
        match self {
            Target::One(client) => client.server().to_string(),
            Target::Many(client) => {
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
