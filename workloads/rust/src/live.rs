use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::stats::proc_status_bytes;
use crate::work::work;

struct Shared {
    alive: AtomicI64,
    max_alive: AtomicI64,
    released: AtomicI64,
    checksum: AtomicU64,
    remaining: AtomicUsize,
    gate: Notify,
    plateau: Notify,
    all_done: Notify,
}

/// Holds N tokio tasks parked on one `Notify` at the same time. Each task
/// registers as a waiter *before* counting itself alive, so the release
/// (`notify_waiters`) cannot miss it; no timers are involved.
pub fn run(rt: &Runtime, tasks: usize, rounds: u64, hold_ms: i64) -> Result<Value, String> {
    let n = tasks as i64;
    let shared: &'static Shared = Box::leak(Box::new(Shared {
        alive: AtomicI64::new(0),
        max_alive: AtomicI64::new(0),
        released: AtomicI64::new(0),
        checksum: AtomicU64::new(0),
        remaining: AtomicUsize::new(tasks),
        gate: Notify::new(),
        plateau: Notify::new(),
        all_done: Notify::new(),
    }));
    let baseline = proc_status_bytes("VmRSS");
    let origin = Instant::now();
    let to_plateau = rt.block_on(async move {
        tokio::spawn(async move {
            for index in 0..tasks {
                tokio::spawn(async move {
                    let released = shared.gate.notified();
                    tokio::pin!(released);
                    released.as_mut().enable();
                    let now = shared.alive.fetch_add(1, SeqCst) + 1;
                    if now == n {
                        shared.max_alive.store(now, SeqCst);
                        shared.plateau.notify_one();
                    }
                    released.await;
                    shared.released.fetch_add(1, SeqCst);
                    shared.checksum.fetch_add(work(index as u64, rounds), SeqCst);
                    shared.alive.fetch_sub(1, SeqCst);
                    if shared.remaining.fetch_sub(1, SeqCst) == 1 {
                        shared.all_done.notify_one();
                    }
                });
            }
        });
        shared.plateau.notified().await;
        origin.elapsed().as_nanos() as u64
    });
    let plateau_rss = proc_status_bytes("VmRSS");
    crate::emit(&json!({
        "type": "plateau",
        "alive": shared.max_alive.load(SeqCst),
        "time_to_plateau_ns": to_plateau,
        "rss_bytes": plateau_rss,
    }));
    crate::wait_for_release(hold_ms);
    let release_start = Instant::now();
    rt.block_on(async move {
        shared.gate.notify_waiters();
        shared.all_done.notified().await;
    });
    let release_ns = release_start.elapsed().as_nanos() as u64;
    let released = shared.released.load(SeqCst);
    if released != n {
        return Err(format!("live: {released} of {n} tasks were released"));
    }
    Ok(json!({
        "tasks": tasks,
        "work": rounds,
        "alive_max": shared.max_alive.load(SeqCst),
        "completed": released,
        "checksum": format!("{:016x}", shared.checksum.load(SeqCst)),
        "time_to_plateau_ns": to_plateau,
        "release_ns": release_ns,
        "baseline_rss_bytes": baseline,
        "plateau_rss_bytes": plateau_rss,
        "bytes_per_task": (plateau_rss - baseline) as f64 / n as f64,
        "peak_rss_bytes": proc_status_bytes("VmHWM"),
    }))
}
