//! Per-stage bookkeeping: counters and two HdrHistograms (latency from the
//! intended send time, corrected for coordinated omission, and from the actual
//! send, uncorrected), reported as percentiles and in HdrHistogram's standard
//! compressed V2 encoding (base64) so the harness can merge and plot them.

use base64::Engine;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Microseconds, 1 us .. 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub fn record(h: &mut Histogram<u64>, micros: u64) {
    h.saturating_record(micros.max(1));
}

pub fn encode(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut buf).expect("serialising to memory cannot fail");
    base64::engine::general_purpose::STANDARD.encode(buf)
}

pub fn summary(h: &Histogram<u64>) -> Value {
    json!({
        "count": h.len(),
        "mean_us": if h.len() > 0 { h.mean() } else { 0.0 },
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
}

pub struct StageStats {
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
    pub counters: Counters,
}

impl Default for StageStats {
    fn default() -> Self {
        StageStats { corrected: new_histogram(), uncorrected: new_histogram(), counters: Counters::default() }
    }
}

impl StageStats {
    /// One request's outcome. `lag_us` is how late it went out against its schedule.
    pub fn record_response(&mut self, ok: bool, corrected_us: u64, uncorrected_us: u64, lag_us: u64, late_threshold_us: u64) {
        self.counters.sent += 1;
        if lag_us > late_threshold_us {
            self.counters.late += 1;
        }
        if ok {
            self.counters.ok += 1;
            record(&mut self.corrected, corrected_us);
            record(&mut self.uncorrected, uncorrected_us);
        } else {
            self.counters.failed += 1;
        }
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
            record(&mut h, v);
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
        record(&mut h, 0);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn corrected_latency_includes_the_wait_for_a_late_send() {
        let mut st = StageStats::default();
        // sent 40 ms late, answered 1 ms after the actual send
        st.record_response(true, 41_000, 1_000, 40_000, 5_000);
        st.record_response(true, 1_000, 1_000, 0, 5_000);
        st.record_response(false, 0, 0, 0, 5_000);
        assert_eq!((st.counters.sent, st.counters.ok, st.counters.failed, st.counters.late), (3, 2, 1, 1));
        assert!(st.corrected.max() >= 40_000 && st.uncorrected.max() < 2_000);
    }

    #[test]
    fn stage_deltas_open_only_the_new_connections() {
        assert_eq!(stage_deltas(&[1000, 2000, 5000, 10000]), vec![1000, 1000, 3000, 5000]);
        assert_eq!(stage_deltas(&[5]), vec![5]);
    }
}
