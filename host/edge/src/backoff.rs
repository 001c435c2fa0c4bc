//! The retry schedule: exponential from an initial delay to a ceiling, with jitter so that many
//! edges cut off by the same outage do not all come back in the same instant.

use std::time::Duration;

/// Exponential backoff with "equal jitter": each delay is between half and all of the nominal
/// one, which doubles from `initial` up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    /// Failures since the last success.
    attempts: u32,
}

impl Backoff {
    /// A schedule starting at `initial` and never above `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            attempts: 0,
        }
    }

    /// The nominal (jitter-free) delay after `attempt` consecutive failures (0-based).
    pub fn nominal(&self, attempt: u32) -> Duration {
        // 2^20 × initial exceeds any sensible ceiling; stop doubling to avoid overflow.
        let factor = 1u32 << attempt.min(20);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay before the next retry, given a uniformly random `unit` in `[0, 1)`, and counts
    /// the failure.
    pub fn next_with(&mut self, unit: f64) -> Duration {
        let nominal = self.nominal(self.attempts);
        self.attempts = self.attempts.saturating_add(1);
        let half = nominal / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The delay before the next retry, with jitter from the OS, and counts the failure.
    pub fn next_delay(&mut self) -> Duration {
        self.next_with(random_unit())
    }

    /// Consecutive failures counted since the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// The ceiling.
    pub fn max(&self) -> Duration {
        self.max
    }
}

/// A uniformly random number in `[0, 1)`; 0.5 if the OS has no randomness to give (jitter is
/// an optimisation, not a correctness matter).
pub fn random_unit() -> f64 {
    match getrandom::u64() {
        // The top 53 bits fill an f64's mantissa exactly.
        Ok(bits) => (bits >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nominal_delay_doubles_up_to_the_ceiling() {
        let backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        let delays: Vec<u128> = (0..10).map(|a| backoff.nominal(a).as_millis()).collect();
        assert_eq!(
            delays,
            [
                250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000
            ]
        );
        assert_eq!(backoff.nominal(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn jitter_keeps_delays_between_half_and_all_of_the_nominal_one() {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(1));
        assert_eq!(backoff.next_with(0.0), Duration::from_millis(100));
        assert_eq!(backoff.next_with(0.999_999_999), Duration::from_millis(400));
        assert_eq!(backoff.attempts(), 2);
        for _ in 0..50 {
            let nominal = backoff.nominal(backoff.attempts());
            let delay = backoff.next_delay();
            assert!(
                delay >= nominal / 2 && delay <= nominal,
                "{delay:?} for {nominal:?}"
            );
            assert!(delay <= Duration::from_secs(1));
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(200));
    }

    #[test]
    fn random_units_are_in_range() {
        for _ in 0..100 {
            let unit = random_unit();
            assert!((0.0..1.0).contains(&unit));
        }
    }
}
