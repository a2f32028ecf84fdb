use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::stats::{proc_status_bytes, summarise};
use crate::work::work;

/// Shared state lives in one leaked allocation so that each task captures a
/// plain `&'static` reference, as a Go closure captures a pointer: no Arc
/// reference count is bumped per task.
struct Shared {
    latency: Vec<AtomicU64>,
    checksum: AtomicU64,
    remaining: AtomicUsize,
    all_done: Notify,
}

/// N tokio tasks, each its own `tokio::spawn`, each doing `rounds` of work.
/// The spawner is itself a task on the runtime so it competes for the same
/// W workers as the tasks, as it does in Go and Java (PROTOCOL.md).
pub async fn run(tasks: usize, rounds: u64) -> Value {
    let shared: &'static Shared = Box::leak(Box::new(Shared {
        latency: (0..tasks).map(|_| AtomicU64::new(0)).collect(),
        checksum: AtomicU64::new(0),
        remaining: AtomicUsize::new(tasks),
        all_done: Notify::new(),
    }));
    let spawner = tokio::spawn(async move {
        let origin = Instant::now();
        for index in 0..tasks {
            let spawned_at = origin.elapsed().as_nanos() as u64;
            tokio::spawn(async move {
                let started = origin.elapsed().as_nanos() as u64;
                shared.latency[index].store(started - spawned_at, Relaxed);
                shared.checksum.fetch_add(work(index as u64, rounds), Relaxed);
                if shared.remaining.fetch_sub(1, Relaxed) == 1 {
                    shared.all_done.notify_one(); // stores a permit if nobody waits yet
                }
            });
        }
        let spawn_ns = origin.elapsed().as_nanos() as u64;
        shared.all_done.notified().await;
        (spawn_ns, origin.elapsed().as_nanos() as u64)
    });
    let (spawn_ns, total_ns) = spawner.await.expect("spawner task panicked");
    let mut latency: Vec<u64> = shared.latency.iter().map(|v| v.load(Relaxed)).collect();
    json!({
        "tasks": tasks,
        "work": rounds,
        "checksum": format!("{:016x}", shared.checksum.load(Relaxed)),
        "total_ns": total_ns,
        "spawn_ns": spawn_ns,
        "tasks_per_sec": tasks as f64 / (total_ns as f64 / 1e9),
        "latency_ns": summarise(&mut latency),
        "peak_rss_bytes": proc_status_bytes("VmHWM"),
    })
}

