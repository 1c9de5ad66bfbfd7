//! `AddrParseError`: why a string does not name a server.

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::fmt;

/// What was wrong with a server address; see [`AddrParseError::kind`].
///
/// ```
/// use memcrab_core::address::{AddrErrorKind, ServerAddr};
/// let err = "host:abc".parse::<ServerAddr>().unwrap_err();
/// assert_eq!(err.kind(), AddrErrorKind::InvalidPort);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddrErrorKind {
    /// The address (or the whole server list) is empty.
    Empty,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// The host is empty, contains characters no host name may contain, or is a
    /// malformed IP address, or brackets are misused.
    InvalidHost,
    /// The unix socket path is empty or contains a NUL byte (or, given as a
    /// `std::path::Path`, is not valid UTF-8).
    InvalidPath,
    /// An item of a comma-separated server list is empty.
    EmptyListItem,
}

/// A server address (or server list) that could not be parsed.
///
/// Its message names the input and the problem:
///
/// ```
/// use memcrab_core::address::ServerAddr;
/// let err = "host:abc".parse::<ServerAddr>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid server address "host:abc": port "abc" is not a number 1-65535"#
/// );
/// assert_eq!(err.input(), "host:abc");
/// ```
///
/// With the `std` feature it converts into an `std::io::Error` of kind
/// `InvalidInput`, so `?` works in functions returning `io::Result`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrParseError {
    what: &'static str,
    input: String,
    /// Show `input` in quotes (a string) or as is (a tuple, already rendered).
    quoted: bool,
    kind: AddrErrorKind,
    reason: String,
}

impl AddrParseError {
    /// An error about the single address `input`, shown in quotes.
    pub(super) fn new(input: &str, kind: AddrErrorKind, reason: impl Into<String>) -> Self {
        AddrParseError {
            what: "server address",
            input: input.to_owned(),
            quoted: true,
            kind,
            reason: reason.into(),
        }
    }

    /// An error about the whole server list `input`.
    pub(super) fn list(input: &str, kind: AddrErrorKind, reason: impl Into<String>) -> Self {
        AddrParseError {
            what: "server list",
            ..AddrParseError::new(input, kind, reason)
        }
    }

    /// The same error with its input shown as is (already rendered, as a
    /// `(host, port)` tuple is).
    pub(super) fn unquoted(self) -> Self {
        AddrParseError {
            quoted: false,
            ..self
        }
    }

    /// Returns the kind of problem, for callers that want to match on it.
    ///
    /// ```
    /// use memcrab_core::address::{AddrErrorKind, ServerAddr};
    /// assert_eq!("".parse::<ServerAddr>().unwrap_err().kind(), AddrErrorKind::Empty);
    /// ```
    #[must_use]
    pub fn kind(&self) -> AddrErrorKind {
        self.kind
    }

    /// Returns the text that was refused (the address, or the whole list for
    /// [`AddrErrorKind::EmptyListItem`] and an empty list).
    ///
    /// ```
    /// use memcrab_core::address::parse_server_list;
    /// let err = parse_server_list("a,,b").unwrap_err();
    /// assert_eq!(err.input(), "a,,b");
    /// ```
    #[must_use]
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for AddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write!(f, "invalid {} {:?}: {}", self.what, self.input, self.reason)
        } else {
            write!(f, "invalid {} {}: {}", self.what, self.input, self.reason)
        }
    }
}

impl core::error::Error for AddrParseError {}

/// The conversion lives here, not in the transports, because both types are
/// foreign there (the orphan rule); it is plain data, no I/O.
#[cfg(feature = "std")]
impl From<AddrParseError> for std::io::Error {
    fn from(err: AddrParseError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err)
    }
}
