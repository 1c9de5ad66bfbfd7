//! Which failed requests may be sent again.
//!
//! A retry is decided per request, never per batch: a read may be sent
//! again, and so may a request that never reached a server; a write that
//! may have been applied never is (an `incr` or `append` sent twice would
//! count twice). The server's own refusals (`SERVER_ERROR`, `CLIENT_ERROR`)
//! are answers, not faults, and are retried only when asked.

use crate::error::ErrorKind;

use super::Meaning;

/// How far a failed request got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Not one byte of it reached a server (the connection could not be
    /// opened, every server was down, no pool slot was free): sending it
    /// again cannot apply it twice.
    NotSent,
    /// It may have reached the server and been applied.
    MaybeApplied,
}

/// Says which error kinds a retrying client retries at all.
///
/// # Example
///
/// ```
/// use memcrab_core::command::retry::{Delivery, RetryPolicy};
/// use memcrab_core::command::Meaning;
/// use memcrab_core::ErrorKind;
///
/// let policy = RetryPolicy::default();
/// // A read that timed out may be read again.
/// assert!(policy.may_retry(Meaning::Get, ErrorKind::Timeout, Delivery::MaybeApplied));
/// // An incr cut off mid-flight may have counted: never again.
/// assert!(!policy.may_retry(Meaning::Arith, ErrorKind::UnexpectedClose, Delivery::MaybeApplied));
/// // An incr that never left may go.
/// assert!(policy.may_retry(Meaning::Arith, ErrorKind::Io, Delivery::NotSent));
/// // The server's refusal is an answer.
/// assert!(!policy.may_retry(Meaning::Get, ErrorKind::Server, Delivery::MaybeApplied));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retry requests the server refused with `SERVER_ERROR` (off by
    /// default: memcached says why, for example "out of memory").
    pub server_errors: bool,
    /// Retry requests the server refused with `CLIENT_ERROR` or `ERROR`
    /// (off by default: the same request fails the same way).
    pub client_errors: bool,
}

impl RetryPolicy {
    /// Returns true if a request of `meaning` that failed with `kind` after
    /// getting as far as `delivery` may be sent again.
    #[must_use]
    pub fn may_retry(self, meaning: Meaning, kind: ErrorKind, delivery: Delivery) -> bool {
        match kind {
            ErrorKind::IllegalInput | ErrorKind::Serde => false,
            // An answer from the server: nothing was lost in transit.
            ErrorKind::Server => self.server_errors,
            ErrorKind::Client | ErrorKind::UnknownCommand => self.client_errors,
            _ => delivery == Delivery::NotSent || meaning.is_read(),
        }
    }
}

/// Returns the delivery an error implies on its own: an error raised before
/// anything was written (every server down, no free pool slot) means the
/// request was not sent; anything else may have been applied.
#[must_use]
pub fn delivery_of(kind: ErrorKind) -> Delivery {
    match kind {
        ErrorKind::NoServers | ErrorKind::PoolExhausted | ErrorKind::IllegalInput => {
            Delivery::NotSent
        }
        _ => Delivery::MaybeApplied,
    }
}
