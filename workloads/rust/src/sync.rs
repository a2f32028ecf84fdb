//! The synchronisation primitives (PROTOCOL.md, "Synchronisation primitives"):
//! the protocol's choice for every point, and the idiomatic alternatives the
//! audit (scripts/primitives_audit.py) measures against it, chosen with
//! WORKLOAD_SYNC=point=choice,... Unset, every point uses the first choice.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub const CHOICES: &[(&str, &[&str])] = &[
    ("accumulate", &["atomic", "slots"]),                    // spawn, live: the checksum
    ("join", &["counter", "joinset", "channel", "handles"]), // spawn: wait for all N tasks
    ("release", &["notify", "watch", "semaphore"]),          // live: wake every parked task
];

#[derive(Debug, Clone)]
pub struct Primitives {
    pub join: String,
    pub release: String,
    pub accumulate: String,
}

pub fn parse(text: &str) -> Result<Primitives, String> {
    let mut cfg = Primitives {
        join: "counter".into(),
        release: "notify".into(),
        accumulate: "atomic".into(),
    };
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let points = CHOICES.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(", ");
        let (point, choice) = item
            .split_once('=')
            .ok_or_else(|| format!("WORKLOAD_SYNC: {item:?} is not point=choice with a point of {points}"))?;
        let Some((_, choices)) = CHOICES.iter().find(|(p, _)| *p == point) else {
            return Err(format!("WORKLOAD_SYNC: {item:?} is not point=choice with a point of {points}"));
        };
        if !choices.contains(&choice) {
            return Err(format!("WORKLOAD_SYNC: {point}={choice}: choose one of {}", choices.join(", ")));
        }
        let slot = match point {
            "join" => &mut cfg.join,
            "release" => &mut cfg.release,
            _ => &mut cfg.accumulate,
        };
        *slot = choice.to_string();
    }
    Ok(cfg)
}

/// The effective choices (the program checked WORKLOAD_SYNC at start: exit 2 if bad).
pub fn chosen() -> Primitives {
    parse(&std::env::var("WORKLOAD_SYNC").unwrap_or_default()).expect("checked at start")
}

/// Where each task's work(i, K) goes; `sum` is read after the join.
pub enum Accumulator {
    /// One shared word, one atomic add per task.
    Atomic(AtomicU64),
    /// One slot per task, written only by that task, summed after the join.
    Slots(Vec<AtomicU64>),
}

impl Accumulator {
    pub fn new(kind: &str, n: usize) -> Self {
        if kind == "slots" {
            Accumulator::Slots((0..n).map(|_| AtomicU64::new(0)).collect())
        } else {
            Accumulator::Atomic(AtomicU64::new(0))
        }
    }

    pub fn reset(&self) {
        match self {
            Accumulator::Atomic(v) => v.store(0, Relaxed),
            Accumulator::Slots(s) => s.iter().for_each(|v| v.store(0, Relaxed)),
        }
    }

    pub fn add(&self, index: usize, v: u64) {
        match self {
            Accumulator::Atomic(a) => {
                a.fetch_add(v, Relaxed);
            }
            Accumulator::Slots(s) => s[index].store(v, Relaxed),
        }
    }

    pub fn sum(&self) -> u64 {
        match self {
            Accumulator::Atomic(a) => a.load(Relaxed),
            Accumulator::Slots(s) => s.iter().fold(0u64, |acc, v| acc.wrapping_add(v.load(Relaxed))),
        }
    }
}
