use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::stats::proc_status_bytes;
use crate::sync::{chosen, with_accumulator, with_release, Accumulate, Release, WithAccumulator, WithRelease};
use crate::work::work;

struct Shared<A, R> {
    alive: AtomicI64,
    max_alive: AtomicI64,
    released: AtomicI64,
    checksum: A,
    remaining: AtomicUsize,
    gate: R,
    plateau: Notify,
    all_done: Notify,
}

impl<A: Accumulate, R: Release> Shared<A, R> {
    fn count_alive(&self, n: i64) {
        let now = self.alive.fetch_add(1, SeqCst) + 1;
        if now == n {
            self.max_alive.store(now, SeqCst);
            self.plateau.notify_one();
        }
    }
}

struct Job<'a> {
    rt: &'a Runtime,
    tasks: usize,
    rounds: u64,
    hold_ms: i64,
    release: String,
}

impl WithAccumulator for Job<'_> {
    type Output = Result<Value, String>;
    fn run<A: Accumulate>(self) -> Self::Output {
        let release = self.release.clone();
        with_release(
            &release,
            WithGate::<A> {
                job: self,
                accumulator: PhantomData,
            },
        )
    }
}

struct WithGate<'a, A> {
    job: Job<'a>,
    accumulator: PhantomData<A>,
}

impl<A: Accumulate> WithRelease for WithGate<'_, A> {
    type Output = Result<Value, String>;
    fn run<R: Release>(self) -> Self::Output {
        run_with::<A, R>(self.job.rt, self.job.tasks, self.job.rounds, self.job.hold_ms)
    }
}

/// The choices made once, here: every task below is monomorphised for its own (sync.rs).
pub fn run(rt: &Runtime, tasks: usize, rounds: u64, hold_ms: i64) -> Result<Value, String> {
    let primitives = chosen();
    let job = Job {
        rt,
        tasks,
        rounds,
        hold_ms,
        release: primitives.release,
    };
    with_accumulator(&primitives.accumulate, job)
}

/// Holds N tokio tasks parked on one gate (the protocol's: a `Notify`) at the same time; no timers are involved.
fn run_with<A: Accumulate, R: Release>(rt: &Runtime, tasks: usize, rounds: u64, hold_ms: i64) -> Result<Value, String> {
    let n = tasks as i64;
    let shared: &'static Shared<A, R> = Box::leak(Box::new(Shared {
        alive: AtomicI64::new(0),
        max_alive: AtomicI64::new(0),
        released: AtomicI64::new(0),
        checksum: A::new(tasks),
        remaining: AtomicUsize::new(tasks),
        gate: R::new(),
        plateau: Notify::new(),
        all_done: Notify::new(),
    }));
    let baseline = proc_status_bytes("VmRSS");
    let origin = Instant::now();
    let to_plateau = rt.block_on(async move {
        tokio::spawn(async move {
            for index in 0..tasks {
                // the task's body is the gate's own future, monomorphised for it (sync.rs)
                tokio::spawn(shared.gate.parked(
                    move || shared.count_alive(n),
                    move || {
                        shared.released.fetch_add(1, SeqCst);
                        shared.checksum.add(index, work(index as u64, rounds));
                        shared.alive.fetch_sub(1, SeqCst);
                        if shared.remaining.fetch_sub(1, SeqCst) == 1 {
                            shared.all_done.notify_one();
                        }
                    },
                ));
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
        shared.gate.release_all(tasks);
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
