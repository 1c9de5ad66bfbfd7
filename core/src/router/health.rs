//! Node health: when a failing node is retried, dropped, and brought back.

use alloc::vec::Vec;
use core::time::Duration;

use super::NodeId;
use crate::time::Millis;

/// Says how often failing nodes are retried and when they are dropped and
/// brought back; the defaults are pymemcache's `HashClient`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HealthConfig {
    /// Retries a node gets after its first failure; once that many retries
    /// have failed too, the node is dead (`retry_attempts`, default 2). With
    /// 0 a node is dead at its first failure.
    pub retry_attempts: u32,
    /// Time after a failure before the node is tried again; calls routed to
    /// it meanwhile get [`Decision::Wait`] (`retry_timeout`, default 1 s).
    pub retry_timeout: Duration,
    /// Time a dead node stays off the ring before it is put back, and the
    /// least time between two checks for such nodes (`dead_timeout`,
    /// default 60 s).
    pub dead_timeout: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            retry_attempts: 2,
            retry_timeout: Duration::from_secs(1),
            dead_timeout: Duration::from_secs(60),
        }
    }
}

/// Says what to do with a call routed to a node, given the node's health.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Call the node: it is healthy, or its retry is due.
    Try,
    /// Do not call the node: it failed less than `retry_timeout` ago. Answer
    /// the call as pymemcache does, with the command's default (a miss,
    /// `false`), without I/O and without an error.
    Wait,
    /// Do not call the node: it is dead, perhaps from this very check
    /// because its retries are used up. Take it off the ring and route the
    /// key again.
    Dead,
}

/// The health of one node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// No failure since the node was added, last succeeded or came back.
    #[default]
    Healthy,
    /// The node failed at `since`; `attempts` retries have failed since its
    /// first failure.
    Failed {
        /// Retries that failed after the first failure.
        attempts: u32,
        /// When the last failure was reported.
        since: Millis,
    },
    /// The node is off the ring since `since`.
    Dead {
        /// When the node was declared dead.
        since: Millis,
    },
}

/// Tracks node health as pymemcache's `HashClient` does, from times passed
/// in; it decides, the caller acts.
///
/// A node's first failure marks it failed with 0 attempts. While failed, a
/// call routed to it is tried again ([`Decision::Try`]) once more than
/// `retry_timeout` has passed since the last failure, and otherwise answered
/// without I/O ([`Decision::Wait`]); a success makes it healthy, a failure
/// counts one more attempt. When a call is routed to a node whose failed
/// attempts have reached `retry_attempts`, the node is declared dead
/// ([`Decision::Dead`]) and the caller takes it off the ring. Dead nodes come
/// back through [`revive_due`](Self::revive_due) once more than
/// `dead_timeout` has passed since they died; that check runs at most once
/// per `dead_timeout` (counted from [`new`](Self::new)).
///
/// # Differences from pymemcache
///
/// - When a node is declared dead, pymemcache still sends the call to it;
///   here the key is routed again to a live node.
/// - A node that comes back is healthy. pymemcache keeps the failure record
///   of the extra call above, so its revived node is already "failed".
///
/// # Reporting failures
///
/// Report one failure per failed attempt to reach a node (a refused or
/// broken connection, a timeout), not one per request that was in flight
/// on it, and no failure for the server's own error replies: pymemcache
/// counts only `OSError`s, once per call.
#[derive(Clone, Debug)]
pub struct Health {
    config: HealthConfig,
    states: Vec<NodeState>,
    dead: usize,
    last_dead_check: Millis,
}

impl Health {
    /// Creates a tracker with every node healthy; `now` starts the clock of
    /// the checks for dead nodes.
    #[must_use]
    pub fn new(config: HealthConfig, now: Millis) -> Self {
        Health {
            config,
            states: Vec::new(),
            dead: 0,
            last_dead_check: now,
        }
    }

    /// Returns the configuration.
    #[must_use]
    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    /// Returns the health of `node`.
    #[must_use]
    pub fn state(&self, node: NodeId) -> NodeState {
        self.states.get(node.0).copied().unwrap_or_default()
    }

    /// Returns true if `node` is dead.
    #[must_use]
    pub fn is_dead(&self, node: NodeId) -> bool {
        matches!(self.state(node), NodeState::Dead { .. })
    }

    /// Returns the number of dead nodes.
    #[must_use]
    pub fn dead_count(&self) -> usize {
        self.dead
    }

    /// Decides whether a call routed to `node` at `now` is made.
    ///
    /// A failed node whose attempts have reached `retry_attempts` becomes
    /// dead here, at `now`.
    pub fn check(&mut self, node: NodeId, now: Millis) -> Decision {
        match self.state(node) {
            NodeState::Healthy => Decision::Try,
            NodeState::Dead { .. } => Decision::Dead,
            NodeState::Failed { attempts, since } if attempts < self.config.retry_attempts => {
                if now.saturating_since(since) > self.config.retry_timeout {
                    Decision::Try
                } else {
                    Decision::Wait
                }
            }
            NodeState::Failed { .. } => {
                self.set(node, NodeState::Dead { since: now });
                Decision::Dead
            }
        }
    }

    /// Records that a call to `node` failed at `now`.
    ///
    /// Returns true if `node` is dead because of it (only when
    /// `retry_attempts` is 0); the caller then takes it off the ring. A
    /// failure reported for a dead node changes nothing.
    pub fn record_failure(&mut self, node: NodeId, now: Millis) -> bool {
        let next = match self.state(node) {
            NodeState::Dead { .. } => return false,
            NodeState::Healthy if self.config.retry_attempts == 0 => NodeState::Dead { since: now },
            NodeState::Healthy => NodeState::Failed {
                attempts: 0,
                since: now,
            },
            NodeState::Failed { attempts, .. } => NodeState::Failed {
                attempts: attempts.saturating_add(1),
                since: now,
            },
        };
        self.set(node, next);
        matches!(next, NodeState::Dead { .. })
    }

    /// Records that a call to `node` succeeded: a failed node is healthy
    /// again. A dead node stays dead until [`revive_due`](Self::revive_due)
    /// brings it back.
    pub fn record_success(&mut self, node: NodeId) {
        if let NodeState::Failed { .. } = self.state(node) {
            self.set(node, NodeState::Healthy);
        }
    }

    /// Makes healthy, and returns, the dead nodes due to come back at `now`.
    ///
    /// Nothing is checked while no node is dead, nor within `dead_timeout` of
    /// the previous check (or of [`new`](Self::new)); a check returns the
    /// nodes dead for more than `dead_timeout`. The caller puts them back on
    /// the ring. Allocates only when a node comes back.
    pub fn revive_due(&mut self, now: Millis) -> Vec<NodeId> {
        let mut back = Vec::new();
        if self.dead == 0 || now.saturating_since(self.last_dead_check) <= self.config.dead_timeout
        {
            return back;
        }
        self.last_dead_check = now;
        for (i, state) in self.states.iter_mut().enumerate() {
            if let NodeState::Dead { since } = *state {
                if now.saturating_since(since) > self.config.dead_timeout {
                    *state = NodeState::Healthy;
                    back.push(NodeId(i));
                }
            }
        }
        self.dead -= back.len();
        back
    }

    /// Forgets what is known about `node`, making it healthy (for a node
    /// removed from, or added again to, the set).
    pub fn forget(&mut self, node: NodeId) {
        self.set(node, NodeState::Healthy);
    }

    fn set(&mut self, node: NodeId, state: NodeState) {
        if self.states.len() <= node.0 {
            if state == NodeState::Healthy {
                return;
            }
            self.states.resize(node.0 + 1, NodeState::Healthy);
        }
        let old = core::mem::replace(&mut self.states[node.0], state);
        let was_dead = matches!(old, NodeState::Dead { .. });
        let is_dead = matches!(state, NodeState::Dead { .. });
        if is_dead && !was_dead {
            self.dead += 1;
        } else if was_dead && !is_dead {
            self.dead -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const A: NodeId = NodeId(0);
    const B: NodeId = NodeId(3);

    fn ms(n: u64) -> Millis {
        Millis(n)
    }

    fn config(retry_attempts: u32, retry_ms: u64, dead_ms: u64) -> HealthConfig {
        HealthConfig {
            retry_attempts,
            retry_timeout: Duration::from_millis(retry_ms),
            dead_timeout: Duration::from_millis(dead_ms),
        }
    }

    #[test]
    fn defaults_are_pymemcache_defaults() {
        let c = HealthConfig::default();
        assert_eq!(c.retry_attempts, 2);
        assert_eq!(c.retry_timeout, Duration::from_secs(1));
        assert_eq!(c.dead_timeout, Duration::from_secs(60));
    }

    #[test]
    fn unknown_nodes_are_healthy() {
        let mut h = Health::new(HealthConfig::default(), ms(0));
        assert_eq!(h.state(NodeId(99)), NodeState::Healthy);
        assert_eq!(h.check(NodeId(99), ms(5)), Decision::Try);
        h.record_success(NodeId(99));
        h.forget(NodeId(1000));
        assert_eq!(h.dead_count(), 0);
    }

    #[test]
    fn retry_window_is_strictly_longer_than_retry_timeout() {
        let mut h = Health::new(config(2, 1000, 60_000), ms(0));
        assert!(!h.record_failure(A, ms(100)));
        assert_eq!(
            h.state(A),
            NodeState::Failed {
                attempts: 0,
                since: ms(100)
            }
        );
        assert_eq!(h.check(A, ms(100)), Decision::Wait);
        assert_eq!(h.check(A, ms(1100)), Decision::Wait);
        assert_eq!(h.check(A, ms(1101)), Decision::Try);
        assert_eq!(h.check(B, ms(1101)), Decision::Try);
    }

    #[test]
    fn success_clears_a_failure() {
        let mut h = Health::new(HealthConfig::default(), ms(0));
        h.record_failure(A, ms(0));
        h.record_success(A);
        assert_eq!(h.state(A), NodeState::Healthy);
        assert_eq!(h.check(A, ms(1)), Decision::Try);
    }

    #[test]
    fn dead_after_retry_attempts_failed_retries_on_next_check() {
        let mut h = Health::new(config(2, 10, 60_000), ms(0));
        h.record_failure(A, ms(0)); // attempts 0
        assert_eq!(h.check(A, ms(11)), Decision::Try);
        h.record_failure(A, ms(11)); // attempts 1
        assert_eq!(h.check(A, ms(22)), Decision::Try);
        assert!(!h.record_failure(A, ms(22))); // attempts 2: not dead yet
        assert_eq!(
            h.state(A),
            NodeState::Failed {
                attempts: 2,
                since: ms(22)
            }
        );
        assert_eq!(h.check(A, ms(23)), Decision::Dead);
        assert_eq!(h.state(A), NodeState::Dead { since: ms(23) });
        assert_eq!(h.dead_count(), 1);
        assert_eq!(h.check(A, ms(100)), Decision::Dead);
        assert!(!h.record_failure(A, ms(100)));
        h.record_success(A);
        assert!(h.is_dead(A));
    }

    #[test]
    fn zero_retry_attempts_means_dead_at_first_failure() {
        let mut h = Health::new(config(0, 10, 100), ms(0));
        assert!(h.record_failure(B, ms(5)));
        assert_eq!(h.state(B), NodeState::Dead { since: ms(5) });
        assert_eq!(h.check(B, ms(6)), Decision::Dead);
        assert_eq!(h.dead_count(), 1);
    }

    #[test]
    fn revival_waits_for_dead_timeout_and_the_check_interval() {
        let mut h = Health::new(config(0, 10, 500), ms(0));
        assert!(h.revive_due(ms(10_000)).is_empty()); // nothing dead: no check
        h.record_failure(A, ms(10_000));
        assert!(h.revive_due(ms(10_400)).is_empty()); // checked; not due
        assert!(h.revive_due(ms(10_501)).is_empty()); // due, but checked 101 ms ago
        assert!(h.revive_due(ms(10_900)).is_empty()); // 500 since the check: not more
        assert_eq!(h.revive_due(ms(10_901)), vec![A]);
        assert_eq!(h.state(A), NodeState::Healthy);
        assert_eq!(h.dead_count(), 0);
        // Back with a clean record: a new failure starts from scratch.
        assert!(h.record_failure(A, ms(11_000)));
    }

    #[test]
    fn check_interval_counts_from_creation() {
        let mut h = Health::new(config(0, 10, 500), ms(1_000));
        h.record_failure(A, ms(1_000));
        assert!(h.revive_due(ms(1_500)).is_empty());
        assert_eq!(h.revive_due(ms(1_501)), vec![A]);
    }

    #[test]
    fn revival_brings_back_only_nodes_dead_long_enough() {
        let mut h = Health::new(config(0, 10, 500), ms(0));
        h.record_failure(A, ms(0));
        h.record_failure(B, ms(300));
        assert_eq!(h.revive_due(ms(501)), vec![A]);
        assert!(h.is_dead(B));
        assert!(h.revive_due(ms(1001)).is_empty()); // B is due, the last check too recent
        assert_eq!(h.revive_due(ms(1002)), vec![B]);
    }

    #[test]
    fn forget_clears_dead_nodes() {
        let mut h = Health::new(config(0, 10, 500), ms(0));
        h.record_failure(A, ms(0));
        h.forget(A);
        assert_eq!(h.dead_count(), 0);
        assert_eq!(h.check(A, ms(1)), Decision::Try);
    }
}
