//! Open-loop send schedule: each connection sends at a fixed period with its
//! own random phase, so the aggregate rate is constant and sends are spread
//! evenly instead of arriving in bursts.

use std::time::Duration;

/// splitmix64: a tiny deterministic PRNG for the phases (seeded, reproducible).
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub period: Duration,
    pub phase: Duration,
}

impl Schedule {
    /// `connections` sharing an aggregate `rate_per_s`: each sends every
    /// connections / rate seconds, first at its phase in [0, period).
    pub fn for_connection(connections: usize, rate_per_s: f64, rng: &mut SplitMix) -> Schedule {
        let period = Duration::from_secs_f64(connections as f64 / rate_per_s);
        let phase = period.mul_f64(rng.next_f64());
        Schedule { period, phase }
    }

    /// Offset of the j-th intended send from the stage start.
    pub fn intended(&self, j: u64) -> Duration {
        self.phase + self.period.mul_f64(j as f64)
    }

    /// How many sends fall inside a stage of `length`.
    pub fn sends_within(&self, length: Duration) -> u64 {
        if self.phase >= length {
            return 0;
        }
        ((length - self.phase).as_secs_f64() / self.period.as_secs_f64()).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_lie_within_one_period_and_sends_are_evenly_spaced() {
        let mut rng = SplitMix::new(42);
        for _ in 0..1000 {
            let s = Schedule::for_connection(1000, 2000.0, &mut rng);
            assert_eq!(s.period, Duration::from_millis(500));
            assert!(s.phase < s.period);
            assert_eq!(s.intended(3) - s.intended(2), s.period);
        }
    }

    #[test]
    fn aggregate_rate_matches_target() {
        // 1,000 connections at 2,000 req/s for 10 s: 20,000 sends in total (+/- one per connection).
        let mut rng = SplitMix::new(7);
        let total: u64 = (0..1000)
            .map(|_| Schedule::for_connection(1000, 2000.0, &mut rng).sends_within(Duration::from_secs(10)))
            .sum();
        assert!((19_000..=21_000).contains(&total), "{total}");
    }

    #[test]
    fn phases_are_spread_not_bunched() {
        let mut rng = SplitMix::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let s = Schedule::for_connection(100, 100.0, &mut rng);
            buckets[(s.phase.as_secs_f64() / s.period.as_secs_f64() * 10.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|&b| (800..1200).contains(&b)), "{buckets:?}");
    }
}
