//! The one error type of the core.

use alloc::string::String;
use core::fmt;

/// Everything that can go wrong in the core.
///
/// Errors split by fault, as h11 does: [`Error::IllegalInput`] is the
/// caller's and is detected before anything is encoded, leaving the
/// connection usable; the server's own refusals ([`Error::Client`],
/// [`Error::Server`], [`Error::UnknownCommand`]) keep its words; a broken
/// stream ([`Error::Protocol`], [`Error::UnexpectedReply`],
/// [`Error::UnexpectedClose`], [`Error::Timeout`], [`Error::NoreplyFailed`])
/// poisons the [`Connection`](crate::Connection), because a memcached stream
/// cannot be resynchronised.
///
/// A core error is the end of an error chain: it has no
/// [`source`](core::error::Error::source), and its `Display` says everything
/// once (an [`IllegalInput`] is part of its message, not a cause). A
/// transport's error that wraps it says only its own words (which server)
/// and returns it as its source.
///
/// # Example
///
/// ```
/// use memcrab_core::{Error, ErrorKind};
///
/// let e = Error::Server("object too large for cache".into());
/// assert_eq!(e.kind(), ErrorKind::Server);
/// assert_eq!(e.to_string(), "server error: object too large for cache");
/// assert!(!e.is_fatal());
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Bad input from the caller (a bad key, a value too large, an argument
    /// that cannot be put on the wire), found before anything was sent.
    IllegalInput(IllegalInput),
    /// The server answered `ERROR`: it does not know the command (or, as
    /// memcached does for `ERROR Too many open connections`, refused it).
    UnknownCommand {
        /// The command that was refused, e.g. `get`.
        command: String,
        /// The server's whole line.
        line: String,
    },
    /// The server answered `CLIENT_ERROR <message>`; the message is kept.
    Client(String),
    /// The server answered `SERVER_ERROR <message>`; the message is kept.
    Server(String),
    /// The server sent a well-formed line that is not a valid reply to the
    /// request (the line is kept, at most 64 bytes, escaped).
    UnexpectedReply(String),
    /// The server's bytes broke the protocol: a malformed `VALUE` line, a
    /// length over the item size limit, a line over the line limit, a value
    /// not followed by `\r\n`, a key that was not asked for.
    Protocol(String),
    /// An error line arrived where the text protocol cannot tell which request
    /// it belongs to: after a `noreply` request, or with no request waiting.
    /// The connection is closed rather than guessing.
    NoreplyFailed(String),
    /// The server closed the connection while a reply was awaited.
    UnexpectedClose,
    /// A request's deadline passed before its reply was complete.
    Timeout,
    /// A value could not be serialized or deserialized.
    Serde(String),
}

/// The kinds of [`Error`], for matching (for example by a retrying wrapper).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// See [`Error::IllegalInput`].
    IllegalInput,
    /// See [`Error::UnknownCommand`].
    UnknownCommand,
    /// See [`Error::Client`].
    Client,
    /// See [`Error::Server`].
    Server,
    /// See [`Error::UnexpectedReply`].
    UnexpectedReply,
    /// See [`Error::Protocol`].
    Protocol,
    /// See [`Error::NoreplyFailed`].
    NoreplyFailed,
    /// See [`Error::UnexpectedClose`].
    UnexpectedClose,
    /// See [`Error::Timeout`].
    Timeout,
    /// See [`Error::Serde`].
    Serde,
    /// A transport's I/O error (never produced by the core itself).
    Io,
    /// A TLS error (never produced by the core itself).
    Tls,
    /// Every server of a cluster is down (never produced by the connection).
    NoServers,
    /// A pool had no free connection within its wait timeout.
    PoolExhausted,
}

impl Error {
    /// Returns the kind of this error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::IllegalInput(_) => ErrorKind::IllegalInput,
            Error::UnknownCommand { .. } => ErrorKind::UnknownCommand,
            Error::Client(_) => ErrorKind::Client,
            Error::Server(_) => ErrorKind::Server,
            Error::UnexpectedReply(_) => ErrorKind::UnexpectedReply,
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::NoreplyFailed(_) => ErrorKind::NoreplyFailed,
            Error::UnexpectedClose => ErrorKind::UnexpectedClose,
            Error::Timeout => ErrorKind::Timeout,
            Error::Serde(_) => ErrorKind::Serde,
        }
    }

    /// Returns true if this error closes the connection it happened on.
    ///
    /// Illegal input, serde errors and the server's own error lines leave the
    /// stream in step; every other error means the stream can no longer be
    /// trusted.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Error::IllegalInput(_)
                | Error::UnknownCommand { .. }
                | Error::Client(_)
                | Error::Server(_)
                | Error::Serde(_)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::IllegalInput(e) => write!(f, "illegal input: {e}"),
            Error::UnknownCommand { command, line } => {
                write!(f, "server refused command `{command}`: {line}")
            }
            Error::Client(m) => write!(f, "server reported a client error: {m}"),
            Error::Server(m) => write!(f, "server error: {m}"),
            Error::UnexpectedReply(l) => write!(f, "unexpected reply from server: {l}"),
            Error::Protocol(m) => write!(f, "protocol error: {m}"),
            Error::NoreplyFailed(l) => write!(
                f,
                "the server reported an error for an earlier noreply request ({l}); \
                 the text protocol cannot tell which one, so the connection was closed"
            ),
            Error::UnexpectedClose => f.write_str("the server closed the connection unexpectedly"),
            Error::Timeout => f.write_str("timed out waiting for the server's reply"),
            Error::Serde(m) => write!(f, "serde error: {m}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

impl From<IllegalInput> for Error {
    fn from(e: IllegalInput) -> Self {
        Error::IllegalInput(e)
    }
}

/// What was wrong with a caller's input. Each variant names the key or
/// argument (escaped, shortened to 64 bytes).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IllegalInput {
    /// The key is empty (memcached cannot parse a command with an empty key).
    EmptyKey,
    /// The key, with the key prefix, is longer than 250 bytes.
    KeyTooLong {
        /// The key, escaped.
        key: String,
        /// Its length in bytes, prefix included.
        len: usize,
    },
    /// The key contains whitespace (space, `\t`, `\n`, `\r`, `\x0b`, `\x0c`).
    KeyWhitespace {
        /// The key, escaped.
        key: String,
    },
    /// The key contains a NUL byte.
    KeyNull {
        /// The key, escaped.
        key: String,
    },
    /// The key contains another control character (0x01-0x1f, 0x7f).
    KeyControl {
        /// The key, escaped.
        key: String,
    },
    /// The key contains non-ASCII bytes and unicode keys are not allowed.
    KeyNonAscii {
        /// The key, escaped.
        key: String,
    },
    /// The value is larger than the configured maximum item size.
    ValueTooLarge {
        /// The key the value was for, escaped.
        key: String,
        /// The value's length.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// A request with no keys where at least one is needed.
    NoKeys,
    /// An argument that cannot be put on the wire (described).
    BadArgument(String),
}

impl fmt::Display for IllegalInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IllegalInput::EmptyKey => f.write_str("key is empty"),
            IllegalInput::KeyTooLong { key, len } => write!(
                f,
                "key is too long: {key} is {len} bytes with its prefix, the limit is 250"
            ),
            IllegalInput::KeyWhitespace { key } => write!(f, "key contains whitespace: {key}"),
            IllegalInput::KeyNull { key } => write!(f, "key contains null: {key}"),
            IllegalInput::KeyControl { key } => {
                write!(f, "key contains a control character: {key}")
            }
            IllegalInput::KeyNonAscii { key } => write!(
                f,
                "key contains non-ASCII bytes and unicode keys are not allowed: {key}"
            ),
            IllegalInput::ValueTooLarge { key, len, max } => write!(
                f,
                "value for key {key} is {len} bytes, larger than the {max}-byte item size limit"
            ),
            IllegalInput::NoKeys => f.write_str("no keys given"),
            IllegalInput::BadArgument(m) => f.write_str(m),
        }
    }
}

/// Escapes `bytes` for an error message: quoted, non-printable bytes as
/// `\xNN`, cut at 64 bytes with an ellipsis.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().min(64) + 2);
    s.push('"');
    for &b in bytes.iter().take(64) {
        for c in core::ascii::escape_default(b) {
            s.push(char::from(c));
        }
    }
    if bytes.len() > 64 {
        s.push_str("...");
    }
    s.push('"');
    s
}

/// Keeps a server line for an error message: lossy UTF-8, at most 64 bytes.
pub(crate) fn line_text(line: &[u8]) -> String {
    let cut = &line[..line.len().min(64)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if line.len() > 64 {
        s.push_str("...");
    }
    s
}
