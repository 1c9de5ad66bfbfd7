//! How a reply becomes a command's result, with pymemcache's results.

use alloc::format;
use alloc::vec::Vec;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::error::Error;
use crate::meta::{MetaReply, MetaRequest, MetaStatus};
use crate::text::{Item, Reply, Request, StoreCommand};

/// How a command's reply becomes its result.
///
/// # Example
///
/// ```
/// use memcrab_core::command::{Meaning, Outcome};
/// use memcrab_core::{Reply, Request, StoreCommand};
///
/// let add = Request::Store {
///     command: StoreCommand::Add, key: b"k", value: b"v", flags: 0, exptime: 0, noreply: false,
/// };
/// let meaning = Meaning::of(&add);
/// assert_eq!(meaning.outcome(Some(Reply::NotStored)), Ok(Outcome::Bool(false)));
/// // A noreply store reports success without asking.
/// assert_eq!(meaning.outcome(None), Ok(Outcome::Bool(true)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Meaning {
    /// `set`, `add`, `replace`, `append`, `prepend`: stored or not.
    Store,
    /// `cas`: stored, changed by someone else, or gone.
    Cas,
    /// `get`, `gets`, `gat`, `gats`: the items found.
    Get,
    /// `touch`: the key existed.
    Touch,
    /// `delete`: the key existed.
    Delete,
    /// `incr`, `decr`: the new value, or none if the key does not exist.
    Arith,
    /// `stats`: name/value pairs.
    Stats,
    /// `version`: the version text.
    Version,
    /// `flush_all`, `verbosity`, `cache_memlimit`: done.
    Ok,
    /// `quit`: nothing.
    Quit,
    /// `shutdown`: nothing once the server closed the connection.
    Shutdown,
    /// A raw command: its reply bytes.
    Raw,
    /// A meta command: its meta reply.
    Meta,
}

/// A command's result, as pymemcache returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Stored / existed / done (`set`, `touch`, `delete`, `flush_all`, …).
    Bool(bool),
    /// `cas`: `Some(true)` stored, `Some(false)` changed meanwhile, `None`
    /// not found.
    Cas(Option<bool>),
    /// The items of a retrieval, in the server's order (misses absent).
    Items(SmallVec<[Item; 1]>),
    /// `incr`/`decr`: the new value, `None` if the key does not exist (or
    /// the request was noreply).
    Number(Option<u64>),
    /// The pairs of a stats reply.
    Stats(Vec<(Bytes, Bytes)>),
    /// The version text.
    Version(Bytes),
    /// A raw command's reply.
    Raw(Bytes),
    /// A meta reply (`None`: a quiet request that succeeded silently).
    Meta(Option<MetaReply>),
    /// Nothing (`quit`, `shutdown`).
    Unit,
}

impl Meaning {
    /// Returns the meaning of a classic request.
    #[must_use]
    pub fn of(request: &Request<'_>) -> Meaning {
        match request {
            Request::Store {
                command: StoreCommand::Cas(_),
                ..
            } => Meaning::Cas,
            Request::Store { .. } => Meaning::Store,
            Request::Get { .. } => Meaning::Get,
            Request::Touch { .. } => Meaning::Touch,
            Request::Delete { .. } => Meaning::Delete,
            Request::Incr { .. } | Request::Decr { .. } => Meaning::Arith,
            Request::Stats { .. } => Meaning::Stats,
            Request::Version => Meaning::Version,
            Request::FlushAll { .. }
            | Request::Verbosity { .. }
            | Request::CacheMemlimit { .. } => Meaning::Ok,
            Request::Quit => Meaning::Quit,
            Request::Shutdown { .. } => Meaning::Shutdown,
            Request::Raw { .. } => Meaning::Raw,
        }
    }

    /// Returns the meaning of a meta request.
    #[must_use]
    pub fn of_meta(_request: &MetaRequest<'_>) -> Meaning {
        Meaning::Meta
    }

    /// Returns true for commands that only read: sending one twice changes
    /// nothing (`get`, `gets`, `stats`, `version`). `gat`/`gats` also touch,
    /// which is idempotent too.
    #[must_use]
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Meaning::Get | Meaning::Stats | Meaning::Version | Meaning::Touch
        )
    }

    /// Turns the reply of a request into its result; `None` is the reply of
    /// a request that awaited none (noreply, quiet and silent).
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] for a reply that does not answer this
    /// kind of command.
    pub fn outcome(self, reply: Option<Reply>) -> Result<Outcome, Error> {
        let Some(reply) = reply else {
            return Ok(self.silent());
        };
        Ok(match (self, reply) {
            (Meaning::Store, Reply::Stored) => Outcome::Bool(true),
            (Meaning::Store, Reply::NotStored) => Outcome::Bool(false),
            (Meaning::Cas, Reply::Stored) => Outcome::Cas(Some(true)),
            (Meaning::Cas, Reply::Exists) => Outcome::Cas(Some(false)),
            (Meaning::Cas, Reply::NotFound) => Outcome::Cas(None),
            (Meaning::Get, Reply::Values(items)) => Outcome::Items(items),
            (Meaning::Touch, Reply::Touched) | (Meaning::Delete, Reply::Deleted) => {
                Outcome::Bool(true)
            }
            (Meaning::Touch | Meaning::Delete, Reply::NotFound) => Outcome::Bool(false),
            (Meaning::Arith, Reply::Number(n)) => Outcome::Number(Some(n)),
            (Meaning::Arith, Reply::NotFound) => Outcome::Number(None),
            (Meaning::Stats, Reply::Stats(pairs)) => Outcome::Stats(pairs),
            // `stats reset` answers RESET, read as OK.
            (Meaning::Stats, Reply::Ok) => Outcome::Stats(Vec::new()),
            (Meaning::Version, Reply::Version(v)) => Outcome::Version(v),
            (Meaning::Ok, Reply::Ok) => Outcome::Bool(true),
            (Meaning::Quit, _) | (Meaning::Shutdown, Reply::Closed) => Outcome::Unit,
            (Meaning::Raw, Reply::Raw(b)) => Outcome::Raw(b),
            (Meaning::Meta, Reply::Meta(m)) => Outcome::Meta(Some(*m)),
            (_, other) => return Err(unexpected(&other)),
        })
    }

    /// The result of a request that awaited no reply and was sent: success
    /// (pymemcache returns `True` for noreply writes), no number for a
    /// noreply `incr`.
    fn silent(self) -> Outcome {
        match self {
            Meaning::Cas => Outcome::Cas(Some(true)),
            Meaning::Get => Outcome::Items(SmallVec::new()),
            Meaning::Arith => Outcome::Number(None),
            Meaning::Stats => Outcome::Stats(Vec::new()),
            Meaning::Meta => Outcome::Meta(None),
            Meaning::Quit | Meaning::Shutdown => Outcome::Unit,
            Meaning::Version | Meaning::Raw => Outcome::Unit,
            Meaning::Store | Meaning::Touch | Meaning::Delete | Meaning::Ok => Outcome::Bool(true),
        }
    }

    /// Returns the reply a request gets when its server is skipped (it
    /// failed less than `retry_timeout` ago, or every server is down under
    /// `ignore_exc`): pymemcache's defaults — a miss, `false`, no stats.
    #[must_use]
    pub fn skipped(self) -> Reply {
        match self {
            Meaning::Get => Reply::Values(SmallVec::new()),
            Meaning::Stats => Reply::Stats(Vec::new()),
            Meaning::Store => Reply::NotStored,
            Meaning::Meta => Reply::Meta(alloc::boxed::Box::new(MetaReply::new(MetaStatus::Miss))),
            _ => Reply::NotFound,
        }
    }
}

/// The error for a reply that does not answer the command.
#[must_use]
pub(crate) fn unexpected(reply: &Reply) -> Error {
    Error::UnexpectedReply(format!("{reply:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meaning_refuses_a_reply_of_another_command() {
        let all = [
            Meaning::Store,
            Meaning::Cas,
            Meaning::Get,
            Meaning::Touch,
            Meaning::Delete,
            Meaning::Arith,
            Meaning::Stats,
            Meaning::Version,
            Meaning::Ok,
            Meaning::Raw,
            Meaning::Meta,
        ];
        for m in all {
            let wrong = if m == Meaning::Arith {
                Reply::Deleted
            } else {
                Reply::Number(1)
            };
            assert!(
                matches!(m.outcome(Some(wrong)), Err(Error::UnexpectedReply(_))),
                "{m:?}"
            );
        }
    }

    #[test]
    fn pymemcache_results() {
        let cas = Meaning::Cas;
        assert_eq!(
            cas.outcome(Some(Reply::Exists)),
            Ok(Outcome::Cas(Some(false)))
        );
        assert_eq!(cas.outcome(Some(Reply::NotFound)), Ok(Outcome::Cas(None)));
        assert_eq!(
            Meaning::Arith.outcome(Some(Reply::NotFound)),
            Ok(Outcome::Number(None))
        );
        assert_eq!(
            Meaning::Delete.outcome(Some(Reply::NotFound)),
            Ok(Outcome::Bool(false))
        );
        assert_eq!(Meaning::Delete.outcome(None), Ok(Outcome::Bool(true)));
        assert_eq!(Meaning::Store.skipped(), Reply::NotStored);
        assert_eq!(Meaning::Get.skipped(), Reply::Values(SmallVec::new()));
    }
}
