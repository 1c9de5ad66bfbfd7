//! What each request in flight awaits.

use smallvec::SmallVec;

use crate::meta::Shape;
use crate::text::Expect;
use crate::time::Millis;

use super::RequestId;

/// How the reply of a pending request is read and delivered.
#[derive(Debug)]
pub(super) enum Awaits {
    /// A classic text reply.
    Text(Expect),
    /// A meta reply, delivered as [`Reply::Meta`](crate::Reply::Meta).
    Meta,
    /// A meta reply carrying a translated text request, delivered as the
    /// text reply.
    Translated(Shape),
    /// The `MN` of a barrier memcrab added itself; consumed silently.
    Barrier,
}

/// One request awaiting its reply.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) id: RequestId,
    pub(super) awaits: Awaits,
    pub(super) command: &'static str,
    pub(super) deadline: Option<Millis>,
    /// A text noreply request was sent just before this one.
    pub(super) after_noreply: bool,
    /// A quiet meta request: no reply unless it has something to say.
    pub(super) quiet: bool,
    /// For one key of a translated get: the key its reply must name.
    pub(super) key: Option<SmallVec<[u8; 32]>>,
}

impl Pending {
    pub(super) fn is_meta(&self) -> bool {
        !matches!(self.awaits, Awaits::Text(_))
    }

    /// Returns true if `poll` reports this entry: not a barrier, and for a
    /// translated get only its last part.
    pub(super) fn is_reportable(&self) -> bool {
        !matches!(
            self.awaits,
            Awaits::Barrier | Awaits::Translated(Shape::Get { last: false })
        )
    }

    pub(super) fn is_noop(&self) -> bool {
        self.command == "mn"
    }
}
