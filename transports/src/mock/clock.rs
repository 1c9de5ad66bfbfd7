//! `MockClock`: the injectable clock of `MockClient`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use memcrab_core::Millis;

/// A clock that moves only when told, shared by the clients it is given to.
///
/// Cloning it gives another handle on the same time.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use memcrab_transport::mock::MockClock;
///
/// let clock = MockClock::new();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.elapsed(), Duration::from_secs(90));
/// ```
#[derive(Clone, Debug, Default)]
pub struct MockClock {
    millis: Arc<AtomicU64>,
}

impl MockClock {
    /// Creates a clock at time zero.
    #[must_use]
    pub fn new() -> MockClock {
        MockClock::default()
    }

    /// Returns the time since the clock's origin.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }

    /// Sets the time since the origin; it may not go back (an earlier time
    /// is ignored: memcached's clock is monotonic).
    pub fn set_time(&self, since_origin: Duration) {
        let ms = u64::try_from(since_origin.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_max(ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ms))
            });
    }

    pub(super) fn now(&self) -> Millis {
        Millis(self.millis.load(Ordering::SeqCst))
    }
}
