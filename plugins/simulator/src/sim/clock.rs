//! The simulated clock: maps real time to simulated time since the simulation started.

/// Simulated time runs `speed` times faster than real time from the moment the driver opened.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    opened_at: i64,
    speed: f64,
}

/// The clock never reads more than ~146 years past the start, so adding durations to a simulated
/// time cannot overflow whatever the speed.
const LATEST: i64 = i64::MAX / 2;

impl Clock {
    /// A clock that starts at simulated offset 0 at real time `opened_at` (ns since the epoch).
    pub fn new(opened_at: i64, speed: f64) -> Self {
        Clock { opened_at, speed }
    }

    /// Simulated nanoseconds since the simulation started, at real time `now`. Never negative,
    /// so a real clock stepping backwards cannot move the simulation back.
    pub fn offset_at(&self, now: i64) -> i64 {
        let elapsed = now.saturating_sub(self.opened_at).max(0);
        // `as` saturates (and maps NaN to 0): exactness beyond 2^53 ns (104 days) of real time
        // does not matter, monotonicity does, and the product is monotonic in `elapsed`.
        ((elapsed as f64 * self.speed) as i64).min(LATEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_speed_times_faster_than_real_time() {
        let clock = Clock::new(1_000, 60.0);
        assert_eq!(clock.offset_at(1_000), 0);
        assert_eq!(clock.offset_at(1_000 + 1_000_000_000), 60_000_000_000);
    }

    #[test]
    fn never_goes_negative_nor_overflows() {
        let clock = Clock::new(1_000, 1e12);
        assert_eq!(clock.offset_at(0), 0);
        assert_eq!(clock.offset_at(i64::MAX), LATEST);
    }
}
