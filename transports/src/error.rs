//! The one error type of the transports.

use std::fmt;
use std::io;
use std::sync::Arc;

pub use memcrab_core::ErrorKind;

/// A result with the transports' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a client call can fail with.
///
/// Match on [`Error::kind`] to decide what to do (a retrying wrapper retries
/// by kind). Messages name the server and, where there is one, the key.
///
/// # Example
///
/// ```
/// use memcrab_transport::{Error, ErrorKind};
///
/// let e = Error::from(memcrab_core::Error::Timeout);
/// assert_eq!(e.kind(), ErrorKind::Timeout);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum Error {
    /// An error of the protocol core: bad input, the server's error lines,
    /// a broken stream, a timeout, an unexpected close.
    Protocol(memcrab_core::Error),
    /// An error of the protocol core on the connection to `server`: its
    /// error line, a broken stream, a timeout, an unexpected close.
    Remote {
        /// The server, as given.
        server: String,
        /// What went wrong.
        error: memcrab_core::Error,
    },
    /// An I/O error talking to `server` (connect refused, reset, …).
    Io {
        /// The server, as given.
        server: String,
        /// What the operating system said.
        source: Arc<io::Error>,
    },
    /// Every server of a cluster is down (or none is configured).
    NoServers,
    /// No pooled connection became free within the wait timeout.
    PoolExhausted {
        /// The pool's maximum size.
        max_size: usize,
        /// How long the caller waited, in milliseconds.
        waited_ms: u64,
    },
    /// A bad option or address, found before anything was sent.
    Config(String),
    /// A TLS error talking to `server`.
    Tls {
        /// The server, as given.
        server: String,
        /// What the TLS layer said.
        message: String,
    },
}

impl Error {
    /// Returns the kind of this error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Protocol(e) | Error::Remote { error: e, .. } => e.kind(),
            Error::Io { source, .. } if source.kind() == io::ErrorKind::TimedOut => {
                ErrorKind::Timeout
            }
            Error::Io { .. } => ErrorKind::Io,
            Error::NoServers => ErrorKind::NoServers,
            Error::PoolExhausted { .. } => ErrorKind::PoolExhausted,
            Error::Config(_) => ErrorKind::IllegalInput,
            Error::Tls { .. } => ErrorKind::Tls,
        }
    }

    /// Returns true if the connection the error happened on cannot be used
    /// again (the client closes it; the next call reconnects).
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Protocol(e) | Error::Remote { error: e, .. } => e.is_fatal(),
            Error::Io { .. } | Error::Tls { .. } => true,
            Error::NoServers | Error::PoolExhausted { .. } | Error::Config(_) => false,
        }
    }

    /// Returns true if the request surely never reached a server (it could
    /// not connect: refused, no address; every server down; no free pool
    /// slot; bad input), so sending it again cannot apply it twice.
    #[must_use]
    pub fn is_unsent(&self) -> bool {
        match self {
            Error::NoServers | Error::PoolExhausted { .. } | Error::Config(_) => true,
            Error::Protocol(e) => e.kind() == ErrorKind::IllegalInput,
            // Only ever seen when connecting: nothing was written.
            Error::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::NotFound
                    | io::ErrorKind::AddrNotAvailable
            ),
            _ => false,
        }
    }

    /// Returns true for errors of the network or server availability
    /// (I/O, timeout, unexpected close, TLS): the errors that mark a node
    /// failed in a hash client.
    #[must_use]
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Io | ErrorKind::Timeout | ErrorKind::UnexpectedClose | ErrorKind::Tls
        )
    }

    pub(crate) fn io(server: &impl fmt::Display, source: io::Error) -> Self {
        #[cfg(feature = "tls")]
        if let Some(message) = crate::blocking::tls::failure_message(&source) {
            return Error::Tls {
                server: server.to_string(),
                message,
            };
        }
        if matches!(
            source.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return Error::Remote {
                server: server.to_string(),
                error: memcrab_core::Error::Timeout,
            };
        }
        Error::Io {
            server: server.to_string(),
            source: Arc::new(source),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::Remote { server, error } => write!(f, "{error} (server {server})"),
            Error::Io { server, source } => write!(f, "I/O error with {server}: {source}"),
            Error::NoServers => f.write_str("all servers seem to be down right now"),
            Error::PoolExhausted {
                max_size,
                waited_ms,
            } => write!(
                f,
                "connection pool exhausted: all {max_size} connections busy after waiting {waited_ms} ms"
            ),
            Error::Config(m) => write!(f, "invalid configuration: {m}"),
            Error::Tls { server, message } => write!(f, "TLS error with {server}: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Protocol(e) | Error::Remote { error: e, .. } => Some(e),
            Error::Io { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

impl From<memcrab_core::Error> for Error {
    fn from(e: memcrab_core::Error) -> Self {
        Error::Protocol(e)
    }
}

impl Error {
    /// Returns the core error inside, if this is one.
    #[must_use]
    pub fn core_error(&self) -> Option<&memcrab_core::Error> {
        match self {
            Error::Protocol(e) | Error::Remote { error: e, .. } => Some(e),
            _ => None,
        }
    }

    pub(crate) fn at(server: &impl fmt::Display, error: memcrab_core::Error) -> Self {
        match error {
            e @ (memcrab_core::Error::IllegalInput(_) | memcrab_core::Error::Serde(_)) => {
                Error::Protocol(e)
            }
            e => Error::Remote {
                server: server.to_string(),
                error: e,
            },
        }
    }
}

impl From<memcrab_core::IllegalInput> for Error {
    fn from(e: memcrab_core::IllegalInput) -> Self {
        Error::Protocol(e.into())
    }
}

impl From<memcrab_core::serde::SerdeError> for Error {
    fn from(e: memcrab_core::serde::SerdeError) -> Self {
        Error::Protocol(memcrab_core::Error::Serde(e.to_string()))
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.kind() {
            ErrorKind::Timeout => io::ErrorKind::TimedOut,
            ErrorKind::UnexpectedClose => io::ErrorKind::UnexpectedEof,
            ErrorKind::IllegalInput => io::ErrorKind::InvalidInput,
            ErrorKind::Protocol | ErrorKind::UnexpectedReply => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}
