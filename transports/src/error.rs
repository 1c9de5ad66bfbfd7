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
/// `Display` says this layer's words; the cause is the
/// [`source`](std::error::Error::source). `e.to_string()` of a server's
/// refusal is `request to server 127.0.0.1:11211 failed`, and its source
/// says `server error: object too large for cache`; `anyhow` prints both,
/// once each. [`Error::report`] gives the whole chain on one line.
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
    /// A value that could not be encoded, or decoded into the type asked
    /// for: [`SerdeError::WrongType`](memcrab_core::serde::SerdeError::WrongType)
    /// and [`WrongFlags`](memcrab_core::serde::SerdeError::WrongFlags) name
    /// the key. Its kind is [`ErrorKind::Serde`].
    Value(memcrab_core::serde::SerdeError),
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
            Error::Value(_) => ErrorKind::Serde,
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
            Error::Value(_) => false,
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
    /// This layer's words only: the server, the pool, the option. The cause
    /// (the server's error line, the operating system's error) is the
    /// [`source`](std::error::Error::source), so a report that walks the
    /// chain (`anyhow`, `eyre`, `{:#}`) prints each message once. An
    /// [`Error::Protocol`] is transparent: it displays the core error itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::Value(e) => e.fmt(f),
            Error::Remote { server, .. } => write!(f, "request to server {server} failed"),
            Error::Io { server, .. } => write!(f, "I/O error with {server}"),
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
            // Transparent: the core error is this error, not its cause.
            Error::Protocol(e) => e.source(),
            Error::Remote { error, .. } => Some(error),
            Error::Io { source, .. } => Some(&**source),
            Error::Value(_)
            | Error::NoServers
            | Error::PoolExhausted { .. }
            | Error::Config(_)
            | Error::Tls { .. } => None,
        }
    }
}

impl Error {
    /// The whole chain on one line: this error's message, then each
    /// [`source`](std::error::Error::source)'s, joined by `": "` (what
    /// `anyhow` prints for `{:#}`).
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_transport::Error;
    ///
    /// let e = Error::Remote {
    ///     server: "127.0.0.1:11211".into(),
    ///     error: memcrab_core::Error::Timeout,
    /// };
    /// assert_eq!(e.to_string(), "request to server 127.0.0.1:11211 failed");
    /// assert_eq!(
    ///     e.report().to_string(),
    ///     "request to server 127.0.0.1:11211 failed: timed out waiting for the server's reply"
    /// );
    /// ```
    #[must_use]
    pub fn report(&self) -> impl fmt::Display + '_ {
        Report(self)
    }
}

/// [`Error::report`]'s chain.
struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(self.0);
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl From<memcrab_core::Error> for Error {
    fn from(e: memcrab_core::Error) -> Self {
        Error::Protocol(e)
    }
}

impl Error {
    /// Returns the value error inside (a typed read of the wrong type, a
    /// codec's wrong flags), if this is one.
    #[must_use]
    pub fn serde_error(&self) -> Option<&memcrab_core::serde::SerdeError> {
        match self {
            Error::Value(e) => Some(e),
            _ => None,
        }
    }

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
        Error::Value(e)
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

#[cfg(test)]
#[path = "tests/error.rs"]
mod tests;
