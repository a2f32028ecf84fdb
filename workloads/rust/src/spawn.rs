use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

use crate::stats::{cpu_time_ns, proc_status_bytes, summarise};
use crate::sync::{chosen, with_accumulator, Accumulate, WithAccumulator};
use crate::work::work;

/// Shared state lives in one leaked allocation so that each task captures a
/// plain `&'static` reference, as a Go closure captures a pointer: no Arc
/// reference count is bumped per task.
struct Shared<A> {
    latency: Vec<AtomicU64>,
    checksum: A,
    remaining: AtomicUsize,
    all_done: Notify,
}

/// Warm-up rounds then measured rounds in this one process (as JMH does), each
/// reported as it ends; the result carries them all.
pub async fn run(tasks: usize, rounds: u64, warmup: i64, measured: i64) -> Value {
    let primitives = chosen();
    let join: &'static str = Box::leak(primitives.join.into_boxed_str());
    // the accumulator's type chosen once: every task is monomorphised for it (sync.rs)
    with_accumulator(
        &primitives.accumulate,
        Job {
            tasks,
            rounds,
            warmup,
            measured,
            join,
        },
    )
    .await
}

struct Job {
    tasks: usize,
    rounds: u64,
    warmup: i64,
    measured: i64,
    join: &'static str,
}

impl WithAccumulator for Job {
    type Output = std::pin::Pin<Box<dyn std::future::Future<Output = Value>>>;
    fn run<A: Accumulate>(self) -> Self::Output {
        Box::pin(rounds_with::<A>(
            self.tasks,
            self.rounds,
            self.warmup,
            self.measured,
            self.join,
        ))
    }
}

async fn rounds_with<A: Accumulate>(
    tasks: usize,
    rounds: u64,
    warmup: i64,
    measured: i64,
    join: &'static str,
) -> Value {
    // One allocation for every round, leaked so that tasks capture a plain
    // reference; each round resets it (Go and Java get theirs back from their GC).
    let shared: &'static Shared<A> = Box::leak(Box::new(Shared {
        latency: (0..tasks).map(|_| AtomicU64::new(0)).collect(),
        checksum: A::new(tasks),
        remaining: AtomicUsize::new(tasks),
        all_done: Notify::new(),
    }));
    let mut iterations = Vec::new();
    for index in 0..warmup + measured {
        // tokio has no collector: --force-gc has nothing to force here (recorded as not applicable)
        let mut it = round(shared, tasks, rounds, join).await;
        let obj = it.as_object_mut().expect("an object");
        obj.insert("type".into(), json!("iteration"));
        obj.insert("index".into(), json!(index));
        obj.insert("warmup".into(), json!(index < warmup));
        crate::emit(&it);
        iterations.push(it);
    }
    let last = iterations.last().expect("at least one round").clone();
    let mut result = json!({"iterations": iterations, "peak_rss_bytes": proc_status_bytes("VmHWM")});
    for k in [
        "tasks",
        "work",
        "checksum",
        "total_ns",
        "spawn_ns",
        "tasks_per_sec",
        "latency_ns",
    ] {
        result[k] = last[k].clone();
    }
    result
}

/// What task `index` does, whatever waits for it: its latency, then its work into the checksum.
fn task_body<A: Accumulate>(shared: &'static Shared<A>, origin: Instant, index: usize, spawned_at: u64, rounds: u64) {
    let started = origin.elapsed().as_nanos() as u64;
    shared.latency[index].store(started - spawned_at, Relaxed);
    shared.checksum.add(index, work(index as u64, rounds));
}

/// One round: N tokio tasks, each its own `tokio::spawn`, each doing `rounds` of work.
/// The spawner is itself a task on the runtime so it competes for the same
/// W workers as the tasks, as it does in Go and Java (PROTOCOL.md).
async fn round<A: Accumulate>(shared: &'static Shared<A>, tasks: usize, rounds: u64, join: &'static str) -> Value {
    shared.checksum.reset();
    shared.remaining.store(tasks, Relaxed);
    let cpu_before = cpu_time_ns();
    let spawner = tokio::spawn(async move {
        let origin = Instant::now();
        let spawn_ns;
        match join {
            // one shared countdown whose last decrement wakes the one waiter (as Go's WaitGroup, Java's latch)
            "counter" => {
                for index in 0..tasks {
                    let spawned_at = origin.elapsed().as_nanos() as u64;
                    tokio::spawn(async move {
                        task_body(shared, origin, index, spawned_at, rounds);
                        if shared.remaining.fetch_sub(1, Relaxed) == 1 {
                            shared.all_done.notify_one(); // stores a permit if nobody waits yet
                        }
                    });
                }
                spawn_ns = origin.elapsed().as_nanos() as u64;
                shared.all_done.notified().await;
            }
            "joinset" => {
                let mut set = JoinSet::new();
                for index in 0..tasks {
                    let spawned_at = origin.elapsed().as_nanos() as u64;
                    set.spawn(async move { task_body(shared, origin, index, spawned_at, rounds) });
                }
                spawn_ns = origin.elapsed().as_nanos() as u64;
                while set.join_next().await.is_some() {}
            }
            "channel" => {
                let (tx, mut rx) = mpsc::unbounded_channel::<()>();
                for index in 0..tasks {
                    let spawned_at = origin.elapsed().as_nanos() as u64;
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        task_body(shared, origin, index, spawned_at, rounds);
                        let _ = tx.send(());
                    });
                }
                spawn_ns = origin.elapsed().as_nanos() as u64;
                for _ in 0..tasks {
                    rx.recv().await;
                }
            }
            _ => {
                // "handles": every JoinHandle awaited in spawn order (what the protocol forbids as its choice)
                let mut handles = Vec::with_capacity(tasks);
                for index in 0..tasks {
                    let spawned_at = origin.elapsed().as_nanos() as u64;
                    handles.push(tokio::spawn(async move {
                        task_body(shared, origin, index, spawned_at, rounds)
                    }));
                }
                spawn_ns = origin.elapsed().as_nanos() as u64;
                for h in handles {
                    h.await.expect("task panicked");
                }
            }
        }
        (spawn_ns, origin.elapsed().as_nanos() as u64)
    });
    let (spawn_ns, total_ns) = spawner.await.expect("spawner task panicked");
    let cpu_ns = cpu_time_ns() - cpu_before;
    let mut latency: Vec<u64> = shared.latency.iter().map(|v| v.load(Relaxed)).collect();
    json!({
        "tasks": tasks,
        "work": rounds,
        "checksum": format!("{:016x}", shared.checksum.sum()),
        "total_ns": total_ns,
        "spawn_ns": spawn_ns,
        "tasks_per_sec": tasks as f64 / (total_ns as f64 / 1e9),
        "latency_ns": summarise(&mut latency),
        "cpu_ns": cpu_ns,
    })
}
