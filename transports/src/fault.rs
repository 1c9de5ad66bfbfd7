//! The transport error for a fault the core client reports.

use std::io;

use memcrab_core::cluster::Fault;
use memcrab_core::router::NodeId;

use crate::error::Error;

/// Turns a [`Fault`] into the transport's error, naming its server by
/// `name` (its address as the caller gave it).
pub(crate) fn error_of(fault: Fault<Error>, name: impl Fn(NodeId) -> String) -> Error {
    match fault {
        Fault::Transport { error, .. } => error,
        Fault::Core { server, error } => Error::at(&name(server), error),
        Fault::Refused { server } => Error::io(
            &name(server),
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server closed a new connection before its first reply",
            ),
        ),
        Fault::ConnectTimeout { server } => Error::io(
            &name(server),
            io::Error::new(io::ErrorKind::TimedOut, "timed out connecting"),
        ),
        _ => Error::NoServers,
    }
}
