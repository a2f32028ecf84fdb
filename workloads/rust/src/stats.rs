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

/// The process's own user and system CPU time from the kernel (getrusage), in ns.
pub fn cpu_times() -> (i64, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into a valid, owned rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (-1, -1);
    }
    let ns = |t: libc::timeval| t.tv_sec as i64 * 1_000_000_000 + t.tv_usec as i64 * 1000;
    (ns(ru.ru_utime), ns(ru.ru_stime))
}

pub fn cpu_time_ns() -> i64 {
    let (u, s) = cpu_times();
    u + s
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
