//! The recache decision: what a client does with the reply of a recache
//! get (`mg` with vivify `N` and recache `R`), the meta protocol's
//! protection against many clients recomputing one hot key at once.

use super::{MetaReply, MetaStatus};

/// What to do with the reply of a recache get.
///
/// # Example
///
/// ```
/// use memcrab_core::meta::{MetaReply, MetaStatus, RecacheStep};
///
/// // A miss that vivified a placeholder: this client won, it computes and stores.
/// let mut won = MetaReply::new(MetaStatus::Miss);
/// won.win = true;
/// assert_eq!(RecacheStep::of(&won, false), RecacheStep::Compute { store: true, stale: false });
///
/// // Another client holds the placeholder: wait, or compute unstored once waited out.
/// let mut other = MetaReply::new(MetaStatus::Value);
/// other.already_won = true;
/// assert_eq!(RecacheStep::of(&other, false), RecacheStep::Wait);
/// assert_eq!(RecacheStep::of(&other, true), RecacheStep::Compute { store: false, stale: false });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecacheStep {
    /// Use the reply's value (`stale`: another client is recomputing it).
    Use {
        /// The value is stale.
        stale: bool,
    },
    /// Compute the value; store it only if `store` (this client won the
    /// right to recache).
    Compute {
        /// This client won: it stores what it computes.
        store: bool,
        /// The value it replaces was stale.
        stale: bool,
    },
    /// Another client is computing the value and it is not there yet: ask
    /// again after a short wait.
    Wait,
}

impl RecacheStep {
    /// Decides from `reply`; `waited_out` says the caller has waited long
    /// enough for another client's value (it then computes without storing).
    #[must_use]
    pub fn of(reply: &MetaReply, waited_out: bool) -> RecacheStep {
        if reply.win {
            return RecacheStep::Compute {
                store: true,
                stale: reply.stale,
            };
        }
        // Another client's empty placeholder is no value.
        let placeholder = reply.already_won && reply.value.as_ref().is_none_or(|v| v.is_empty());
        if reply.status() == MetaStatus::Value && !placeholder {
            return RecacheStep::Use { stale: reply.stale };
        }
        if waited_out {
            return RecacheStep::Compute {
                store: false,
                stale: false,
            };
        }
        RecacheStep::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn reply(status: MetaStatus, value: &'static [u8]) -> MetaReply {
        let mut r = MetaReply::new(status);
        r.value = Some(Bytes::from_static(value));
        r
    }

    #[test]
    fn a_value_is_used_stale_or_not() {
        let fresh = reply(MetaStatus::Value, b"v");
        assert_eq!(
            RecacheStep::of(&fresh, false),
            RecacheStep::Use { stale: false }
        );
        let mut stale = fresh.clone();
        stale.stale = true;
        stale.already_won = true;
        assert_eq!(
            RecacheStep::of(&stale, false),
            RecacheStep::Use { stale: true }
        );
    }

    #[test]
    fn the_winner_computes_and_stores_even_over_a_value() {
        let mut won = reply(MetaStatus::Value, b"old");
        won.win = true;
        won.stale = true;
        let step = RecacheStep::of(&won, true);
        assert_eq!(
            step,
            RecacheStep::Compute {
                store: true,
                stale: true
            }
        );
    }

    #[test]
    fn a_miss_without_a_win_waits_then_computes_unstored() {
        let miss = MetaReply::new(MetaStatus::Miss);
        assert_eq!(RecacheStep::of(&miss, false), RecacheStep::Wait);
        let step = RecacheStep::of(&miss, true);
        assert_eq!(
            step,
            RecacheStep::Compute {
                store: false,
                stale: false
            }
        );
        let placeholder = {
            let mut r = reply(MetaStatus::Value, b"");
            r.already_won = true;
            r
        };
        assert_eq!(RecacheStep::of(&placeholder, false), RecacheStep::Wait);
    }
}
