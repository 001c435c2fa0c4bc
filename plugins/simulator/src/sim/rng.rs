//! The simulation's only source of randomness: a seeded, portable pseudo-random generator.

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014; the
/// generator Vigna recommends for seeding xoshiro). Tiny, fast, and every output is a pure
/// function of the seed on every platform, which is all a reproducible simulation needs.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// An independent generator seeded from this one, so each simulated process draws from its
    /// own stream and one process drawing more numbers does not shift another's.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        Rng::scale(self.next_u64(), n)
    }

    /// Maps 64 random bits to `0..n` by Lemire's multiply-shift: no division, a bias of at most
    /// n / 2^64 (far below anything a simulation could notice), and the result comes from the
    /// high bits, so for small `n` the low bits of the same draw can decide something else.
    pub fn scale(bits: u64, n: u64) -> u64 {
        match u32::try_from(n) {
            // The simulation's ranges all fit in 32 bits: on wasm32 a 128-bit product is a
            // library call, a 64-bit one a single instruction.
            Ok(n) => ((bits >> 32) * u64::from(n)) >> 32,
            Err(_) => ((u128::from(bits) * u128::from(n)) >> 64) as u64,
        }
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi, "empty range {lo}..={hi}");
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// True with the probability that an event happening on average once every `mean` happens
    /// within `span` (same unit), capped at certainty: a Poisson process seen through one short
    /// window, without floating point so that results are bit-identical on every target.
    pub fn happens_within(&mut self, span: u64, mean: u64) -> bool {
        self.below(mean) < span
    }

    /// An index into `weights`, each index drawn in proportion to its weight.
    pub fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u64 = weights.clone().map(u64::from).sum();
        let mut roll = self.below(total);
        for (index, weight) in weights.enumerate() {
            if roll < u64::from(weight) {
                return index;
            }
            roll -= u64::from(weight);
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64() {
        // First outputs of the reference C implementation (prng.di.unimi.it/splitmix64.c)
        // seeded with 0.
        let mut rng = Rng::new(0);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                0xE220_A839_7B1D_CDAF,
                0x6E78_9E6A_A1B9_65F4,
                0x06C4_5D18_8009_454F
            ]
        );
    }

    #[test]
    fn ranges_stay_inside_their_bounds() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            assert!(rng.below(10) < 10);
            assert!((5..=9).contains(&rng.between(5, 9)));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(3, 3), 3);
    }

    #[test]
    fn weighted_choice_never_picks_a_zero_weight() {
        let mut rng = Rng::new(3);
        for _ in 0..1_000 {
            assert_ne!(rng.weighted([5, 0, 2].into_iter()), 1);
        }
    }
}
