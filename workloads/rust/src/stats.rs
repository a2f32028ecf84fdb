use serde_json::{json, Value};

/// Nearest-rank percentile: the smallest value with at least p% at or below it.
pub fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64 + 0.999_999_999) as usize;
    sorted[rank.clamp(1, n) - 1]
}

pub fn summarise(lat: &mut [u64]) -> Value {
    lat.sort_unstable();
    let sum: f64 = lat.iter().map(|&v| v as f64).sum();
    json!({
        "mean": sum / lat.len() as f64,
        "p50": nearest_rank(lat, 50.0),
        "p99": nearest_rank(lat, 99.0),
        "max": lat[lat.len() - 1],
    })
}

/// Reads a `VmRSS:`/`VmHWM:` line of /proc/self/status in bytes (-1 if absent);
/// every runtime reads the same file so the self-reports agree in kind.
pub fn proc_status_bytes(field: &str) -> i64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/status") else { return -1 };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            if let Some(kib) = rest.split_whitespace().next().and_then(|v| v.parse::<i64>().ok()) {
                return kib * 1024;
            }
        }
    }
    -1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_protocol() {
        let s: Vec<u64> = (1..=10).collect();
        assert_eq!(nearest_rank(&s, 50.0), 5);
        assert_eq!(nearest_rank(&s, 99.0), 10);
        assert_eq!(nearest_rank(&s, 10.0), 1);
    }
}
