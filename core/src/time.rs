//! Time as a value: the core never reads a clock.

use core::time::Duration;

/// A point in time, in milliseconds since an origin the transport chooses.
///
/// The core never reads a clock (`std::time::Instant` panics on
/// `wasm32-unknown-unknown`); transports pass the current time in as a
/// `Millis`. Values must be monotonic: a later call never passes an earlier
/// time.
///
/// # Example
///
/// ```
/// use memcrab_core::Millis;
/// use core::time::Duration;
///
/// let now = Millis(1_000);
/// assert_eq!(now + Duration::from_millis(250), Millis(1_250));
/// assert!(Millis(5) < Millis(6));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// Returns the time `d` after the origin.
    #[must_use]
    pub fn from_duration(d: Duration) -> Self {
        Millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Returns the time elapsed since `earlier`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Millis {
    type Output = Millis;

    fn add(self, d: Duration) -> Millis {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Millis(self.0.saturating_add(ms))
    }
}
