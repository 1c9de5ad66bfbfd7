//! Replies of the meta protocol, as values.

use bytes::Bytes;

/// The status code of a meta reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaStatus {
    /// `VA`: a value follows.
    Value,
    /// `HD`: success (hit without value, stored, deleted).
    Ok,
    /// `EN`: miss.
    Miss,
    /// `NF`: not found.
    NotFound,
    /// `NS`: not stored.
    NotStored,
    /// `EX`: the cas token did not match.
    Exists,
    /// `MN`: the no-op's reply.
    Noop,
    /// `ME`: debug information.
    Debug,
}

/// A complete meta reply, with the flags the request asked for.
///
/// # Example
///
/// ```
/// use memcrab_core::meta::{MetaReply, MetaStatus};
///
/// let r = MetaReply::new(MetaStatus::Miss);
/// assert!(r.is_miss() && !r.win);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetaReply {
    /// The status code.
    pub status: Option<MetaStatus>,
    /// The value (`VA`), or the debug text (`ME`: `exp=… la=… cas=…`).
    pub value: Option<Bytes>,
    /// `c`: the cas token.
    pub cas: Option<u64>,
    /// `f`: the client flags.
    pub client_flags: Option<u32>,
    /// `t`: the remaining TTL in seconds (-1: none).
    pub ttl: Option<i64>,
    /// `s`: the value's size.
    pub size: Option<u64>,
    /// `k`: the key, decoded if it was sent base64-encoded, prefix removed.
    pub key: Option<Bytes>,
    /// `l`: seconds since the last access.
    pub last_access: Option<u64>,
    /// `h`: whether the item was hit before.
    pub hit_before: Option<bool>,
    /// `W`: this client won the right to recache the item.
    pub win: bool,
    /// `X`: the item is stale.
    pub stale: bool,
    /// `Z`: another client already won the right to recache.
    pub already_won: bool,
}

impl MetaReply {
    /// Creates a reply with `status` and no flags.
    #[must_use]
    pub fn new(status: MetaStatus) -> Self {
        MetaReply {
            status: Some(status),
            ..MetaReply::default()
        }
    }

    /// Returns the status code.
    #[must_use]
    pub fn status(&self) -> MetaStatus {
        self.status.unwrap_or(MetaStatus::Ok)
    }

    /// Returns true for a miss (`EN`) or not-found (`NF`).
    #[must_use]
    pub fn is_miss(&self) -> bool {
        matches!(self.status(), MetaStatus::Miss | MetaStatus::NotFound)
    }

    /// Returns true when the command did what it was asked (`VA`, `HD`,
    /// `MN`, `ME`).
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(
            self.status(),
            MetaStatus::Value | MetaStatus::Ok | MetaStatus::Noop | MetaStatus::Debug
        )
    }
}
