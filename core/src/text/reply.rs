//! Replies of the classic text protocol, as values.

use alloc::vec::Vec;
use bytes::Bytes;
use smallvec::SmallVec;

/// One item of a retrieval reply.
///
/// `key` is the caller's key (the connection's key prefix removed); `key`
/// and `value` are zero-copy slices of the receive buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The key, without the key prefix.
    pub key: Bytes,
    /// The client flags stored with the value.
    pub flags: u32,
    /// The value.
    pub value: Bytes,
    /// The cas token, for `gets` and `gats`.
    pub cas: Option<u64>,
}

/// A complete reply from the server to one request.
///
/// Error lines (`ERROR`, `CLIENT_ERROR`, `SERVER_ERROR`) are not replies:
/// they come back as [`Error`](crate::Error)s for the request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `STORED`.
    Stored,
    /// `NOT_STORED`: the add/replace/append/prepend condition failed.
    NotStored,
    /// `EXISTS`: a cas lost the race.
    Exists,
    /// `NOT_FOUND`.
    NotFound,
    /// `DELETED`.
    Deleted,
    /// `TOUCHED`.
    Touched,
    /// `OK` (flush_all, verbosity, cache_memlimit, `stats reset`).
    Ok,
    /// The new value after incr/decr.
    Number(u64),
    /// The items found by a retrieval, in the server's order (misses are
    /// absent). One item is stored inline, without allocating.
    Values(SmallVec<[Item; 1]>),
    /// The raw `(name, value)` pairs of a stats reply, in order. See
    /// [`Stats`](crate::stats::Stats) for typed values.
    Stats(Vec<(Bytes, Bytes)>),
    /// The text after `VERSION `.
    Version(Bytes),
    /// A raw command's reply, up to (not including) its terminator.
    Raw(Bytes),
    /// The server closed the connection, as `shutdown` asked.
    Closed,
    /// The reply to a meta request; boxed, as the largest reply, so every
    /// other reply moves in 104 bytes instead of 144.
    Meta(alloc::boxed::Box<crate::meta::MetaReply>),
}
