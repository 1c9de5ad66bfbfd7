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
mod tests {
    use super::*;
    use memcrab_core::cluster::{Cluster, ClusterConfig};
    use memcrab_core::router::NodeId;
    use memcrab_core::Millis;

    /// A connection id (the cluster opens one without I/O).
    fn conn() -> ConnId {
        let mut cluster: Cluster<crate::Error> = Cluster::new(ClusterConfig::default(), ["s"]);
        cluster
            .open_connection(Millis(0), NodeId(0))
            .expect("a connection")
    }

    #[test]
    fn remembers_per_driver_and_forgets() {
        let (a, b) = (Affinity::new(), Affinity::new());
        assert_eq!(a.pending(), None);
        let conn = conn();
        a.set(Some(conn));
        assert_eq!(a.pending(), Some(conn));
        assert_eq!(b.pending(), None, "another driver's entry");
        let other = std::thread::spawn(move || a.pending().is_none());
        assert!(other.join().unwrap_or(false), "another thread's entry");
    }

    #[test]
    fn forgets_on_none_and_bounds_its_memory() {
        let drivers: Vec<Affinity> = (0..REMEMBERED + 4).map(|_| Affinity::new()).collect();
        for d in &drivers {
            d.set(Some(conn()));
        }
        assert_eq!(drivers[0].pending(), None, "the oldest was forgotten");
        let last = &drivers[REMEMBERED + 3];
        assert!(last.pending().is_some());
        last.set(None);
        assert_eq!(last.pending(), None);
        PENDING.with(|p| assert!(p.borrow().len() <= REMEMBERED));
    }
}
