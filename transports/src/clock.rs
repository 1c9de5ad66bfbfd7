//! Where the transports get the time: the core reads no clock, and a
//! transport takes one that can be replaced, so its tests run on virtual
//! time (node health windows, deadlines) without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memcrab_core::Millis;

/// A monotonic clock in milliseconds from any origin.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Returns the time now.
    fn now(&self) -> Millis;
}

/// The real monotonic clock ([`Instant`]), from when it was made.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// Starts a clock at zero now.
    #[must_use]
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Millis::from_duration(self.origin.elapsed())
    }
}

/// A clock that moves only when told to, for tests.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use memcrab_transport::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now().0, 2000);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    ms: Arc<AtomicU64>,
}

impl ManualClock {
    /// Starts a clock at zero (clones share the time).
    #[must_use]
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        Millis(self.ms.load(Ordering::SeqCst))
    }
}
