//! When a discovering client reads its cluster's configuration again.

use alloc::vec::Vec;
use core::time::Duration;

use crate::Millis;

/// The refresh schedule of a client that discovers its nodes
/// (pymemcache master's `AWSElastiCacheHashClient`): the configuration is
/// read again every `interval`, and sooner after a node failure, but no
/// sooner than `failure_spacing` after the last read. Time is passed in.
///
/// # Example
///
/// ```
/// use core::time::Duration;
/// use memcrab_core::discovery::Refresh;
/// use memcrab_core::Millis;
///
/// let mut r = Refresh::new(Duration::from_secs(60), Duration::from_secs(1), Millis(0));
/// assert!(!r.due(Millis(59_999)));
/// r.node_failed();
/// assert!(r.due(Millis(1_000)));
/// r.reading(Millis(1_000));
/// r.read_ok();
/// assert!(!r.due(Millis(2_000)));
/// assert!(r.due(Millis(61_000)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refresh {
    interval: Duration,
    failure_spacing: Duration,
    read_at: Millis,
    failed: bool,
}

impl Refresh {
    /// A schedule whose last read was at `now`.
    #[must_use]
    pub fn new(interval: Duration, failure_spacing: Duration, now: Millis) -> Refresh {
        Refresh {
            interval,
            failure_spacing,
            read_at: now,
            failed: false,
        }
    }

    /// Whether the configuration should be read at `now`.
    #[must_use]
    pub fn due(&self, now: Millis) -> bool {
        let since = now.saturating_since(self.read_at);
        since >= self.interval || (self.failed && since >= self.failure_spacing)
    }

    /// A read starts at `now` (whatever its outcome, the next waits from
    /// here).
    pub fn reading(&mut self, now: Millis) {
        self.read_at = now;
    }

    /// A read succeeded: a failure seen before it is answered.
    pub fn read_ok(&mut self) {
        self.failed = false;
    }

    /// A node failed (a connection error, or no node left): read again
    /// once `failure_spacing` has passed since the last read.
    pub fn node_failed(&mut self) {
        self.failed = true;
    }
}

/// What going from the nodes `old` to the nodes `new` changes: the nodes
/// added (in `new`'s order) and removed (in `old`'s order). Nodes in both
/// stay, with their connections.
#[must_use]
pub fn node_changes<'a, T: PartialEq>(old: &'a [T], new: &'a [T]) -> (Vec<&'a T>, Vec<&'a T>) {
    let added = new.iter().filter(|n| !old.contains(n)).collect();
    let removed = old.iter().filter(|n| !new.contains(n)).collect();
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn reads_every_interval_from_the_last_read() {
        let mut r = Refresh::new(MIN, SEC, Millis(5_000));
        assert!(!r.due(Millis(64_999)));
        assert!(r.due(Millis(65_000)));
        r.reading(Millis(65_000));
        r.read_ok();
        assert!(!r.due(Millis(124_999)));
        assert!(r.due(Millis(125_000)));
    }

    #[test]
    fn a_failure_reads_sooner_but_spaced() {
        let mut r = Refresh::new(MIN, SEC, Millis(0));
        r.node_failed();
        assert!(!r.due(Millis(999)));
        assert!(r.due(Millis(1_000)));
        // A failed read keeps the failure: the next try is spaced again.
        r.reading(Millis(1_000));
        assert!(!r.due(Millis(1_999)));
        assert!(r.due(Millis(2_000)));
        r.reading(Millis(2_000));
        r.read_ok();
        assert!(!r.due(Millis(3_000)));
    }

    #[test]
    fn a_clock_going_back_is_not_due() {
        let r = Refresh::new(MIN, SEC, Millis(10_000));
        assert!(!r.due(Millis(0)));
    }

    #[test]
    fn node_changes_keep_the_nodes_in_both() {
        let (added, removed) = node_changes(&["a", "b", "c"], &["c", "d", "a", "e"]);
        assert_eq!(added, [&"d", &"e"]);
        assert_eq!(removed, [&"b"]);
        let (added, removed) = node_changes::<&str>(&[], &[]);
        assert!(added.is_empty() && removed.is_empty());
    }
}
