use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tokio::sync::{watch, Notify, Semaphore};

use crate::stats::proc_status_bytes;
use crate::sync::{chosen, Accumulator};
use crate::work::work;

struct Shared {
    alive: AtomicI64,
    max_alive: AtomicI64,
    released: AtomicI64,
    checksum: Accumulator,
    remaining: AtomicUsize,
    release: &'static str,
    gate: Notify,
    gate_watch: (watch::Sender<bool>, watch::Receiver<bool>),
    gate_semaphore: Semaphore,
    plateau: Notify,
    all_done: Notify,
}

impl Shared {
    /// Park until released. Each task registers with the gate *before* it counts itself
    /// alive (Notify: an enabled `Notified`; watch: its receiver; semaphore: permits
    /// outlast the release), so the release cannot miss it.
    async fn park_counted(&self, n: i64) {
        match self.release {
            "watch" => {
                let mut rx = self.gate_watch.1.clone();
                self.count_alive(n);
                let _ = rx.wait_for(|released| *released).await;
            }
            "semaphore" => {
                self.count_alive(n);
                let _ = self.gate_semaphore.acquire().await;
            }
            _ => {
                let released = self.gate.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                self.count_alive(n);
                released.await;
            }
        }
    }

    fn count_alive(&self, n: i64) {
        let now = self.alive.fetch_add(1, SeqCst) + 1;
        if now == n {
            self.max_alive.store(now, SeqCst);
            self.plateau.notify_one();
        }
    }

    /// Wake every parked task, from the releaser (a broadcast in every choice).
    fn release_all(&self, tasks: usize) {
        match self.release {
            "watch" => {
                let _ = self.gate_watch.0.send(true);
            }
            "semaphore" => self.gate_semaphore.add_permits(tasks),
            _ => self.gate.notify_waiters(),
        }
    }
}

/// Holds N tokio tasks parked on one gate (a `Notify`) at the same time; no timers are involved.
pub fn run(rt: &Runtime, tasks: usize, rounds: u64, hold_ms: i64) -> Result<Value, String> {
    let n = tasks as i64;
    let primitives = chosen();
    let shared: &'static Shared = Box::leak(Box::new(Shared {
        alive: AtomicI64::new(0),
        max_alive: AtomicI64::new(0),
        released: AtomicI64::new(0),
        checksum: Accumulator::new(&primitives.accumulate, tasks),
        remaining: AtomicUsize::new(tasks),
        release: Box::leak(primitives.release.into_boxed_str()),
        gate: Notify::new(),
        gate_watch: watch::channel(false),
        gate_semaphore: Semaphore::new(0),
        plateau: Notify::new(),
        all_done: Notify::new(),
    }));
    let baseline = proc_status_bytes("VmRSS");
    let origin = Instant::now();
    let to_plateau = rt.block_on(async move {
        tokio::spawn(async move {
            for index in 0..tasks {
                tokio::spawn(async move {
                    shared.park_counted(n).await;
                    shared.released.fetch_add(1, SeqCst);
                    shared.checksum.add(index, work(index as u64, rounds));
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
        shared.release_all(tasks);
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
        "checksum": format!("{:016x}", shared.checksum.sum()),
        "time_to_plateau_ns": to_plateau,
        "release_ns": release_ns,
        "baseline_rss_bytes": baseline,
        "plateau_rss_bytes": plateau_rss,
        "bytes_per_task": (plateau_rss - baseline) as f64 / n as f64,
        "peak_rss_bytes": proc_status_bytes("VmHWM"),
    }))
}
