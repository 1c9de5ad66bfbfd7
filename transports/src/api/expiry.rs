//! When an item expires, as memcached wants it said.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest relative expiry memcached takes: 30 days, in seconds. A
/// larger `exptime` is read by the server as an absolute Unix time.
const MAX_RELATIVE_SECS: u64 = 60 * 60 * 24 * 30;

/// When an item expires: never, after a [`Duration`], or at a
/// [`SystemTime`].
///
/// Every command that takes an expiry takes `impl Into<Expiry>`, so a
/// `Duration` or a `SystemTime` can be passed as it is. The encoding is
/// memcached's `exptime`:
///
/// - [`Expiry::Never`] and `Duration::ZERO` are `0`, never (as pymemcache's
///   `expire=0`).
/// - A `Duration` up to 30 days is its seconds, rounded up: a sub-second
///   duration becomes 1 s rather than `0`, which would mean never.
/// - A `Duration` over 30 days becomes the absolute Unix time it ends at,
///   since memcached reads any larger number as one.
/// - A `SystemTime` is its Unix time, rounded up; at or before the Unix
///   epoch, or already past, it is `-1`: expired at once.
///
/// memcached keeps times in 32 bits: an absolute time after
/// 2038-01-19T03:14:07Z is sent as that instant.
///
/// # Example
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use memcrab_transport::Expiry;
///
/// assert_eq!(Expiry::from(Duration::from_millis(500)).exptime(), 1);
/// assert_eq!(Expiry::from(Duration::ZERO), Expiry::Never);
/// assert_eq!(Expiry::from(UNIX_EPOCH).exptime(), -1);
/// let tomorrow = SystemTime::now() + Duration::from_secs(86_400);
/// assert!(Expiry::from(tomorrow).exptime() > 1_700_000_000);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// The item never expires (it may still be evicted).
    #[default]
    Never,
    /// The item expires this long after the server stores it.
    After(Duration),
    /// The item expires at this instant.
    At(SystemTime),
}

impl Expiry {
    /// Returns memcached's `exptime` for this expiry, as of now.
    #[must_use]
    pub fn exptime(self) -> i64 {
        self.exptime_at(SystemTime::now())
    }

    /// Returns memcached's `exptime` for this expiry as of `now` (which
    /// only matters for a `Duration` over 30 days and for a `SystemTime`).
    #[must_use]
    pub fn exptime_at(self, now: SystemTime) -> i64 {
        match self {
            Expiry::Never => 0,
            Expiry::After(d) if d.is_zero() => 0,
            Expiry::After(d) => {
                let secs = ceil_secs(d);
                if secs <= MAX_RELATIVE_SECS {
                    // At most 30 days: fits.
                    secs as i64
                } else {
                    let end = now.checked_add(d).unwrap_or(UNIX_EPOCH + MAX_ABSOLUTE);
                    absolute(end, now)
                }
            }
            Expiry::At(t) => absolute(t, now),
        }
    }
}

/// The last instant memcached can hold, past the epoch (`i32::MAX` s).
const MAX_ABSOLUTE: Duration = Duration::from_secs(i32::MAX as u64);

/// A duration's seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// The Unix time `t`, rounded up and clamped to memcached's 32 bits; `-1`
/// when it is not after the epoch and `now`.
fn absolute(t: SystemTime, now: SystemTime) -> i64 {
    if t <= now {
        return -1;
    }
    match t.duration_since(UNIX_EPOCH) {
        Ok(since) if !since.is_zero() => ceil_secs(since.min(MAX_ABSOLUTE)) as i64,
        _ => -1,
    }
}

impl From<Duration> for Expiry {
    /// `Duration::ZERO` is [`Expiry::Never`]; any other is [`Expiry::After`].
    fn from(d: Duration) -> Expiry {
        if d.is_zero() {
            Expiry::Never
        } else {
            Expiry::After(d)
        }
    }
}

impl From<SystemTime> for Expiry {
    fn from(t: SystemTime) -> Expiry {
        Expiry::At(t)
    }
}

impl From<Option<Duration>> for Expiry {
    /// `None` is [`Expiry::Never`].
    fn from(d: Option<Duration>) -> Expiry {
        d.map_or(Expiry::Never, Expiry::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn zero_and_never_are_0() {
        assert_eq!(Expiry::from(Duration::ZERO), Expiry::Never);
        assert_eq!(Expiry::from(Duration::ZERO).exptime(), 0);
        assert_eq!(Expiry::After(Duration::ZERO).exptime(), 0);
        assert_eq!(Expiry::Never.exptime(), 0);
        assert_eq!(Expiry::from(None::<Duration>), Expiry::Never);
    }

    #[test]
    fn sub_seconds_round_up() {
        assert_eq!(Expiry::from(Duration::from_millis(500)).exptime(), 1);
        assert_eq!(Expiry::from(Duration::from_nanos(1)).exptime(), 1);
        assert_eq!(Expiry::from(Duration::from_millis(1500)).exptime(), 2);
        assert_eq!(Expiry::from(Duration::from_secs(60)).exptime(), 60);
    }

    #[test]
    fn over_30_days_becomes_absolute() {
        let now = at(1_800_000_000);
        let thirty = Duration::from_secs(MAX_RELATIVE_SECS);
        assert_eq!(Expiry::from(thirty).exptime_at(now), 2_592_000);
        let more = thirty + Duration::from_secs(1);
        assert_eq!(
            Expiry::from(more).exptime_at(now),
            1_800_000_000 + 2_592_001
        );
        // Clamped to memcached's 32 bits.
        let forever = Expiry::from(Duration::MAX).exptime_at(now);
        assert_eq!(forever, i64::from(i32::MAX));
    }

    #[test]
    fn system_times_past_and_epoch_are_minus_1() {
        let now = at(1_800_000_000);
        assert_eq!(Expiry::from(UNIX_EPOCH).exptime_at(now), -1);
        assert_eq!(Expiry::from(at(1_799_999_999)).exptime_at(now), -1);
        assert_eq!(Expiry::from(now).exptime_at(now), -1);
        let before_epoch = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Expiry::from(before_epoch).exptime_at(now), -1);
        assert_eq!(
            Expiry::from(at(1_800_000_060)).exptime_at(now),
            1_800_000_060
        );
        let soon = now + Duration::from_millis(300);
        assert_eq!(Expiry::from(soon).exptime_at(now), 1_800_000_001);
    }
}
