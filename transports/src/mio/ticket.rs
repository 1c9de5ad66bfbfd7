//! What the [`Driver`](super::Driver) hands back: tickets, completions,
//! refusals.

use std::fmt;

use memcrab_core::{Reply, RequestId};
use mio::Token;

use crate::error::Error;

/// Names a submitted request: the token of the connection it went to and
/// its id. Its [`Completion`] carries the same ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket {
    /// The token of the connection the request went to (of the first one,
    /// for a multi-key get split over servers or a keyless request sent
    /// to every server).
    pub token: Token,
    /// The request's id: unique among the driver's requests, increasing.
    pub id: RequestId,
}

/// A finished request: its reply, or why there is none.
#[derive(Debug)]
pub struct Completion {
    /// The request this answers.
    pub ticket: Ticket,
    /// The reply, or the error (the server's error line, a timeout, the
    /// connection breaking), naming the server.
    pub result: Result<Reply, Error>,
}

/// Why [`Driver::submit`](super::Driver::submit) did not take a request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SubmitError {
    /// The connection's unwritten bytes reached
    /// [`DriverOptions::max_buffered`](super::DriverOptions::max_buffered): let the loop run (the socket takes
    /// bytes on its next writable event) and submit again. The request was
    /// not queued.
    Full,
    /// The request was refused: a bad key or value, no server for it, a
    /// connection that cannot be opened.
    Failed(Error),
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Full => f.write_str("the connection's write buffer is full"),
            SubmitError::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SubmitError {
    /// Transparent: a refused request's causes are its error's.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SubmitError::Failed(e) => e.source(),
            _ => None,
        }
    }
}

impl From<Error> for SubmitError {
    fn from(e: Error) -> Self {
        SubmitError::Failed(e)
    }
}
