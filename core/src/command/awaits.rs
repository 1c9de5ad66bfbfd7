//! Whether a request awaits a reply.

use crate::connection::Protocol;
use crate::meta::MetaRequest;
use crate::text::Request;

/// Whether a request awaits a reply from the server.
///
/// # Example
///
/// ```
/// use memcrab_core::command::Awaits;
/// use memcrab_core::{Protocol, Request};
///
/// let del = Request::Delete { key: b"k", noreply: true };
/// assert_eq!(Awaits::of(&del, Protocol::Text), Awaits::Never);
/// // Over meta, noreply becomes quiet mode: failures still answer.
/// assert_eq!(Awaits::of(&del, Protocol::Meta), Awaits::OnFailure);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Awaits {
    /// A reply always comes.
    Always,
    /// No reply ever comes (text `noreply`, `quit`).
    Never,
    /// A reply comes only when the request failed or has something to say
    /// (quiet meta requests); the barrier after it says when it succeeded.
    OnFailure,
}

impl Awaits {
    /// Returns what `request` awaits when its classic commands are carried
    /// by `protocol`.
    #[must_use]
    pub fn of(request: &Request<'_>, protocol: Protocol) -> Awaits {
        if !request.is_noreply() {
            return Awaits::Always;
        }
        let translated = protocol == Protocol::Meta
            && matches!(
                request,
                Request::Store { .. }
                    | Request::Touch { .. }
                    | Request::Delete { .. }
                    | Request::Incr { .. }
                    | Request::Decr { .. }
            );
        if translated {
            Awaits::OnFailure
        } else {
            Awaits::Never
        }
    }

    /// Returns what a meta `request` awaits.
    #[must_use]
    pub fn of_meta(request: &MetaRequest<'_>) -> Awaits {
        if request.is_quiet() {
            Awaits::OnFailure
        } else {
            Awaits::Always
        }
    }

    /// Returns true unless no reply ever comes.
    #[must_use]
    pub fn may_reply(self) -> bool {
        self != Awaits::Never
    }
}
