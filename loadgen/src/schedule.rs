//! Open-loop send schedule: each connection sends at a fixed period with its
//! own random phase, so the aggregate rate is constant and sends are spread
//! evenly instead of arriving in bursts. Intended times are computed from the
//! stage start for every send (never by adding periods), so they cannot drift.

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
    pub period_ns: f64,
    pub phase_ns: f64,
}

impl Schedule {
    /// `connections` sharing an aggregate `rate_per_s`: each sends every
    /// connections / rate seconds, first at its phase in [0, period).
    pub fn for_connection(connections: usize, rate_per_s: f64, rng: &mut SplitMix) -> Schedule {
        let period_ns = connections as f64 / rate_per_s * 1e9;
        Schedule { period_ns, phase_ns: period_ns * rng.next_f64() }
    }

    /// Offset in ns of the j-th intended send from the stage start.
    pub fn intended(&self, j: u64) -> u64 {
        (self.phase_ns + self.period_ns * j as f64).round() as u64
    }

    /// How many sends fall inside a stage of `length_ns`.
    pub fn sends_within(&self, length_ns: u64) -> u64 {
        let length = length_ns as f64;
        if self.phase_ns >= length {
            return 0;
        }
        ((length - self.phase_ns) / self.period_ns).ceil() as u64
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
            assert_eq!(s.period_ns, 500_000_000.0);
            assert!(s.phase_ns < s.period_ns);
            assert_eq!(s.intended(3) - s.intended(2), 500_000_000);
        }
    }

    #[test]
    fn aggregate_rate_matches_target() {
        // 1,000 connections at 2,000 req/s for 10 s: 20,000 sends in total (+/- one per connection).
        let mut rng = SplitMix::new(7);
        let total: u64 = (0..1000)
            .map(|_| Schedule::for_connection(1000, 2000.0, &mut rng).sends_within(10_000_000_000))
            .sum();
        assert!((19_000..=21_000).contains(&total), "{total}");
    }

    #[test]
    fn phases_are_spread_not_bunched() {
        let mut rng = SplitMix::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let s = Schedule::for_connection(100, 100.0, &mut rng);
            buckets[(s.phase_ns / s.period_ns * 10.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|&b| (800..1200).contains(&b)), "{buckets:?}");
    }

    #[test]
    fn no_drift_over_a_hundred_thousand_sends() {
        // A period that is not a whole number of nanoseconds (3 connections at 7 req/s):
        // the 100,000th send is exactly where phase + j * period puts it, to the nanosecond.
        let mut rng = SplitMix::new(3);
        let s = Schedule::for_connection(3, 7.0, &mut rng);
        for j in [0u64, 1, 99_999, 100_000] {
            let exact = s.phase_ns + s.period_ns * j as f64;
            assert!((s.intended(j) as f64 - exact).abs() <= 1.0, "send {j}: {} vs {exact}", s.intended(j));
        }
        // and successive gaps never wander more than a rounding step from the period
        let gaps: Vec<i64> = (1..100_000u64).map(|j| s.intended(j) as i64 - s.intended(j - 1) as i64).collect();
        let p = s.period_ns.round() as i64;
        assert!(gaps.iter().all(|g| (g - p).abs() <= 1), "a gap drifted");
    }
}
