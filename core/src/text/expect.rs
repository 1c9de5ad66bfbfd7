//! What reply a submitted request awaits.

use smallvec::SmallVec;

/// Wire keys of a retrieval request, space-separated, prefix included;
/// inline for the common short key list.
pub(crate) type KeyList = SmallVec<[u8; 64]>;

/// The shape of reply a pending request awaits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// One storage reply line; `cas` requests may also get EXISTS/NOT_FOUND.
    Store { cas: bool },
    /// VALUE blocks then END, for keys in this order.
    Values { cas: bool, keys: KeyList },
    /// DELETED or NOT_FOUND.
    Delete,
    /// TOUCHED or NOT_FOUND.
    Touch,
    /// A number or NOT_FOUND.
    Arith,
    /// STAT/ITEM lines then END (or RESET / OK).
    Stats,
    /// VERSION <text>.
    Version,
    /// OK.
    Ok,
    /// An error line, or the server closing the connection.
    Shutdown,
    /// Everything up to the terminator.
    Raw { terminator: SmallVec<[u8; 16]> },
}
