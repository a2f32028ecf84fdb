//! Per-stage bookkeeping: counters and three HdrHistograms — latency from the
//! intended send time (corrected for coordinated omission), latency from the
//! actual send (uncorrected), and the send lag itself (actual - intended send
//! time: the instrument's own lateness) — reported as percentiles and in
//! HdrHistogram's standard compressed V2 encoding (base64) so the harness can
//! merge and plot them.

use base64::Engine;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Microseconds, 1 us .. 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Record `ns` at microsecond resolution; anything under 1 us counts as 1 us, never dropped.
pub fn record_ns(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record((ns / 1000).max(1));
}

pub fn encode(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut buf).expect("serialising to memory cannot fail");
    base64::engine::general_purpose::STANDARD.encode(buf)
}

pub fn summary(h: &Histogram<u64>) -> Value {
    json!({
        "count": h.len(),
        "mean_us": if h.is_empty() { 0.0 } else { h.mean() },
        "p50_us": h.value_at_quantile(0.50),
        "p90_us": h.value_at_quantile(0.90),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
        "hdr": encode(h),
    })
}

#[derive(Default, Debug, Clone)]
pub struct Counters {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub late: u64,
    /// Scheduled sends abandoned because the stage ran out of drain time (an overloaded server).
    pub unsent: u64,
    /// Exact sum of send lags, for a mean finer than the histogram's microsecond.
    pub lag_sum_ns: u128,
}

pub struct StageStats {
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
    pub lag: Histogram<u64>,
    pub counters: Counters,
}

impl Default for StageStats {
    fn default() -> Self {
        StageStats {
            corrected: new_histogram(),
            uncorrected: new_histogram(),
            lag: new_histogram(),
            counters: Counters::default(),
        }
    }
}

impl StageStats {
    /// A request went out `lag_ns` after its intended time.
    pub fn record_send(&mut self, lag_ns: u64, late_threshold_ns: u64) {
        self.counters.sent += 1;
        self.counters.lag_sum_ns += lag_ns as u128;
        record_ns(&mut self.lag, lag_ns);
        if lag_ns > late_threshold_ns {
            self.counters.late += 1;
        }
    }

    /// Its answer: `corrected_ns` from the intended send time, `uncorrected_ns` from the actual one.
    pub fn record_response(&mut self, ok: bool, corrected_ns: u64, uncorrected_ns: u64) {
        if ok {
            self.counters.ok += 1;
            record_ns(&mut self.corrected, corrected_ns);
            record_ns(&mut self.uncorrected, uncorrected_ns);
        } else {
            self.counters.failed += 1;
        }
    }

    /// A scheduled request that could not be sent (its connection is dead): sent and failed at once.
    pub fn record_dead_send(&mut self) {
        self.counters.sent += 1;
        self.counters.failed += 1;
    }

    pub fn merge(&mut self, other: &StageStats) {
        self.corrected.add(&other.corrected).expect("same bounds");
        self.uncorrected.add(&other.uncorrected).expect("same bounds");
        self.lag.add(&other.lag).expect("same bounds");
        let (a, b) = (&mut self.counters, &other.counters);
        a.sent += b.sent;
        a.ok += b.ok;
        a.failed += b.failed;
        a.late += b.late;
        a.unsent += b.unsent;
        a.lag_sum_ns += b.lag_sum_ns;
    }

    pub fn lag_summary(&self) -> Value {
        let mut s = summary(&self.lag);
        let n = self.lag.len();
        s["mean_us"] = json!(if n > 0 { self.counters.lag_sum_ns as f64 / n as f64 / 1000.0 } else { 0.0 });
        s
    }
}

/// Connections to add before each stage: `stages` are cumulative targets.
pub fn stage_deltas(stages: &[usize]) -> Vec<usize> {
    let mut prev = 0;
    stages
        .iter()
        .map(|&s| {
            let d = s.saturating_sub(prev);
            prev = prev.max(s);
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;

    #[test]
    fn histogram_records_percentiles_and_round_trips() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            record_ns(&mut h, v * 1000);
        }
        let s = summary(&h);
        assert_eq!(s["count"], 1000);
        let p50 = s["p50_us"].as_u64().unwrap();
        assert!((499..=501).contains(&p50), "{p50}");
        let p999 = s["p999_us"].as_u64().unwrap();
        assert!((998..=1000).contains(&p999), "{p999}");
        let bytes = base64::engine::general_purpose::STANDARD.decode(encode(&h)).unwrap();
        let back: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
        assert_eq!(back.len(), 1000);
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
    }

    #[test]
    fn zero_is_recorded_as_one_microsecond_not_dropped() {
        let mut h = new_histogram();
        record_ns(&mut h, 0);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn corrected_latency_includes_the_wait_for_a_late_send() {
        let mut st = StageStats::default();
        // sent 40 ms late, answered 1 ms after the actual send
        st.record_send(40_000_000, 5_000_000);
        st.record_response(true, 41_000_000, 1_000_000);
        st.record_send(0, 5_000_000);
        st.record_response(true, 1_000_000, 1_000_000);
        st.record_dead_send();
        assert_eq!((st.counters.sent, st.counters.ok, st.counters.failed, st.counters.late), (3, 2, 1, 1));
        assert!(st.corrected.max() >= 40_000 && st.uncorrected.max() < 2_000);
    }

    #[test]
    fn send_lag_has_its_own_histogram_and_an_exact_mean() {
        let mut st = StageStats::default();
        for lag in [200u64, 400, 3_000, 7_000_000] {
            st.record_send(lag, 5_000_000);
        }
        let s = st.lag_summary();
        assert_eq!(s["count"], 4);
        assert_eq!(s["p50_us"], 1); // 200 ns and 400 ns are under a microsecond: counted as 1 us
        assert!(s["max_us"].as_u64().unwrap() >= 6_990);
        let mean = s["mean_us"].as_f64().unwrap();
        assert!((mean - 1750.9).abs() < 0.01, "{mean}"); // (200 + 400 + 3000 + 7e6) / 4 ns
        assert_eq!(st.counters.late, 1);
        let mut other = StageStats::default();
        other.record_send(1_000, 5_000_000);
        st.merge(&other);
        assert_eq!(st.lag.len(), 5);
    }

    #[test]
    fn stage_deltas_open_only_the_new_connections() {
        assert_eq!(stage_deltas(&[1000, 2000, 5000, 10000]), vec![1000, 1000, 3000, 5000]);
        assert_eq!(stage_deltas(&[5]), vec![5]);
    }
}
