//! Why a request of a [`Cluster`](super::Cluster) failed.

use core::fmt;

use crate::error::{Error, ErrorKind};
use crate::router::NodeId;

/// Why one request failed, with the server it failed on.
///
/// `E` is the transport's own error (an I/O or TLS error), which the core
/// only carries: the transport reports it with
/// [`Cluster::handle_failure`](super::Cluster::handle_failure) and gets it
/// back here for every request it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault<E> {
    /// The protocol's or the server's error on `server` (a server error
    /// line, a timeout, a broken stream).
    Core {
        /// The server.
        server: NodeId,
        /// What went wrong.
        error: Error,
    },
    /// The transport's error on `server` (it could not connect, read or
    /// write).
    Transport {
        /// The server.
        server: NodeId,
        /// The transport's error.
        error: E,
        /// Nothing of the request had been written when it happened.
        unsent: bool,
    },
    /// The server closed a new connection before its first reply: it
    /// refuses connections (for example, it is at its connection limit).
    Refused {
        /// The server.
        server: NodeId,
    },
    /// A new connection to `server` did not open within the connect
    /// timeout.
    ConnectTimeout {
        /// The server.
        server: NodeId,
    },
    /// Every server is down.
    NoServers,
}

impl<E> Fault<E> {
    /// Returns the error kind, with transport errors as
    /// [`ErrorKind::Io`].
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Fault::Core { error, .. } => error.kind(),
            Fault::Transport { .. } | Fault::Refused { .. } => ErrorKind::Io,
            Fault::ConnectTimeout { .. } => ErrorKind::Timeout,
            Fault::NoServers => ErrorKind::NoServers,
        }
    }

    /// Returns the server, if the fault happened on one.
    #[must_use]
    pub fn server(&self) -> Option<NodeId> {
        match self {
            Fault::Core { server, .. }
            | Fault::Transport { server, .. }
            | Fault::Refused { server }
            | Fault::ConnectTimeout { server } => Some(*server),
            Fault::NoServers => None,
        }
    }

    /// Returns true if the request surely never reached a server.
    #[must_use]
    pub fn is_unsent(&self) -> bool {
        match self {
            Fault::Transport { unsent, .. } => *unsent,
            Fault::Refused { .. } | Fault::ConnectTimeout { .. } | Fault::NoServers => true,
            Fault::Core { .. } => false,
        }
    }

    /// Returns true for faults that say the server could not be reached,
    /// which count against its health: transport errors, refusals and
    /// timeouts. As in pymemcache, a server closing an established
    /// connection does not count (the next call reconnects).
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        match self {
            Fault::Transport { .. } | Fault::Refused { .. } | Fault::ConnectTimeout { .. } => true,
            Fault::Core { error, .. } => *error == Error::Timeout,
            Fault::NoServers => false,
        }
    }

    /// Returns true if the fault broke the connection (anything but the
    /// server's answer to one request).
    #[must_use]
    pub fn is_connection_error(&self) -> bool {
        match self {
            Fault::Core { error, .. } => error.is_fatal(),
            _ => true,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Fault<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Core { error, .. } => error.fmt(f),
            Fault::Transport { error, .. } => error.fmt(f),
            Fault::Refused { .. } => {
                f.write_str("the server closed a new connection before its first reply")
            }
            Fault::ConnectTimeout { .. } => f.write_str("timed out connecting"),
            Fault::NoServers => f.write_str("all servers seem to be down right now"),
        }
    }
}
