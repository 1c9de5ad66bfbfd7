//! Read-your-writes for pooled drivers: a thread whose last batch sent a
//! noreply write sends its next batch on the same connection.
//!
//! A noreply write completes as soon as its bytes are written, and its
//! connection goes back to the pool before memcached has read it. The
//! thread's next request, taken on another connection, could then be
//! served first (memcached serves connections in parallel): a `get` right
//! after a noreply `set` would miss, or read the older value. Requests on
//! one connection are served in order, so a thread remembers the
//! connection of its unanswered noreply write (per driver, in a
//! thread-local) and its next batch waits for that connection, whose
//! reply then proves the write applied. A batch that got every reply
//! forgets it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use memcrab_core::cluster::ConnId;

/// Remembered drivers per thread, beyond which the oldest is forgotten
/// (a thread talks to few pools; a dropped driver's entry ages out).
const REMEMBERED: usize = 16;

thread_local! {
    /// Per driver id: the connection of this thread's unanswered noreply
    /// write.
    static PENDING: RefCell<Vec<(u64, ConnId)>> = const { RefCell::new(Vec::new()) };
}

/// A driver's identity in the thread-locals.
#[derive(Debug)]
pub(crate) struct Affinity {
    id: u64,
}

impl Affinity {
    pub(crate) fn new() -> Affinity {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Affinity {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The connection this thread's next batch must go on, if any.
    pub(crate) fn pending(&self) -> Option<ConnId> {
        PENDING.with(|p| {
            p.borrow()
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, c)| *c)
        })
    }

    /// Records what this thread's batch left behind: `Some(conn)` when it
    /// sent a noreply write on `conn` (not yet followed by a reply there),
    /// `None` when nothing is unanswered.
    pub(crate) fn set(&self, conn: Option<ConnId>) {
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.retain(|(id, _)| *id != self.id);
            if let Some(conn) = conn {
                if p.len() >= REMEMBERED {
                    p.remove(0);
                }
                p.push((self.id, conn));
            }
        });
    }
}

#[cfg(test)]
#[path = "tests/affinity.rs"]
mod tests;
