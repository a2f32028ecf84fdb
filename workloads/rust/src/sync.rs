//! The synchronisation primitives (PROTOCOL.md, "Synchronisation primitives"):
//! the protocol's choice for every point, and the idiomatic alternatives the
//! audit (scripts/primitives_audit.py) measures against it, chosen with
//! WORKLOAD_SYNC=point=choice,... Unset, every point uses the first choice.
//!
//! Each choice is its own type behind a trait, and the scenarios are generic over
//! them: the choice is made once, before the first task, and every task's future is
//! monomorphised for its own choice. A `match` inside the task body would make every
//! parked task as large as the largest choice's state (measured: 565 B per live task
//! instead of 439 B). With the cargo feature `protocol-only` the alternatives are not
//! compiled at all: the build the tests compare the protocol's choice against.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tokio::sync::Notify;
#[cfg(not(feature = "protocol-only"))]
use tokio::sync::{watch, Semaphore};

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
            return Err(format!(
                "WORKLOAD_SYNC: {item:?} is not point=choice with a point of {points}"
            ));
        };
        if !choices.contains(&choice) {
            return Err(format!(
                "WORKLOAD_SYNC: {point}={choice}: choose one of {}",
                choices.join(", ")
            ));
        }
        if cfg!(feature = "protocol-only") && choice != choices[0] {
            return Err(format!(
                "WORKLOAD_SYNC: {point}={choice}: this build has the protocol's choice ({}) only (feature protocol-only)",
                choices[0]
            ));
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
pub trait Accumulate: Send + Sync + Sized + 'static {
    fn new(n: usize) -> Self;
    fn reset(&self);
    fn add(&self, index: usize, v: u64);
    fn sum(&self) -> u64;
}

/// One shared word, one atomic add per task (the protocol's choice).
pub struct Atomic(AtomicU64);

impl Accumulate for Atomic {
    fn new(_n: usize) -> Self {
        Atomic(AtomicU64::new(0))
    }
    fn reset(&self) {
        self.0.store(0, Relaxed)
    }
    fn add(&self, _index: usize, v: u64) {
        self.0.fetch_add(v, Relaxed);
    }
    fn sum(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// One slot per task, written only by that task, summed after the join.
#[cfg(not(feature = "protocol-only"))]
pub struct Slots(Vec<AtomicU64>);

#[cfg(not(feature = "protocol-only"))]
impl Accumulate for Slots {
    fn new(n: usize) -> Self {
        Slots((0..n).map(|_| AtomicU64::new(0)).collect())
    }
    fn reset(&self) {
        self.0.iter().for_each(|v| v.store(0, Relaxed))
    }
    fn add(&self, index: usize, v: u64) {
        self.0[index].store(v, Relaxed)
    }
    fn sum(&self) -> u64 {
        self.0.iter().fold(0u64, |acc, v| acc.wrapping_add(v.load(Relaxed)))
    }
}

/// What a generic scenario does once its choices are types.
pub trait WithAccumulator {
    type Output;
    fn run<A: Accumulate>(self) -> Self::Output;
}

/// Call `job` with the accumulator type named by `kind` (checked at start).
pub fn with_accumulator<J: WithAccumulator>(kind: &str, job: J) -> J::Output {
    match kind {
        #[cfg(not(feature = "protocol-only"))]
        "slots" => job.run::<Slots>(),
        _ => job.run::<Atomic>(),
    }
}

/// live's gate: every task registers, is counted alive, then parks until the releaser wakes all.
pub trait Release: Send + Sync + Sized + 'static {
    fn new() -> Self;
    /// One task's whole body: register with the gate *before* `counted` runs (so the release cannot miss
    /// this task), park until released, then `then`. The gate lives as long as the program (leaked, as every
    /// task's shared state), and the task's own steps come in as closures: the future holds no borrowed
    /// generic reference, which rustc 1.85 cannot prove Send (rust-lang/rust#100013).
    fn parked<C, F>(&'static self, counted: C, then: F) -> impl Future<Output = ()> + Send + 'static
    where
        C: FnOnce() + Send + 'static,
        F: FnOnce() + Send + 'static;
    /// Wake every parked task, from the releaser (a broadcast in every choice).
    fn release_all(&self, tasks: usize);
}

/// tokio's `Notify`: an enabled `Notified` per task, `notify_waiters` (the protocol's choice).
pub struct NotifyGate(Notify);

impl Release for NotifyGate {
    fn new() -> Self {
        NotifyGate(Notify::new())
    }
    fn parked<C, F>(&'static self, counted: C, then: F) -> impl Future<Output = ()> + Send + 'static
    where
        C: FnOnce() + Send + 'static,
        F: FnOnce() + Send + 'static,
    {
        async move {
            let released = self.0.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            counted();
            released.await;
            then();
        }
    }
    fn release_all(&self, _tasks: usize) {
        self.0.notify_waiters()
    }
}

/// A `watch` channel: each task holds a receiver and waits for `true`.
#[cfg(not(feature = "protocol-only"))]
pub struct WatchGate(watch::Sender<bool>, watch::Receiver<bool>);

#[cfg(not(feature = "protocol-only"))]
impl Release for WatchGate {
    fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        WatchGate(tx, rx)
    }
    fn parked<C, F>(&'static self, counted: C, then: F) -> impl Future<Output = ()> + Send + 'static
    where
        C: FnOnce() + Send + 'static,
        F: FnOnce() + Send + 'static,
    {
        async move {
            let mut rx = self.1.clone();
            counted();
            let _ = rx.wait_for(|released| *released).await;
            then();
        }
    }
    fn release_all(&self, _tasks: usize) {
        let _ = self.0.send(true);
    }
}

/// A semaphore with no permits: the release adds one per task (permits outlast it).
#[cfg(not(feature = "protocol-only"))]
pub struct SemaphoreGate(Semaphore);

#[cfg(not(feature = "protocol-only"))]
impl Release for SemaphoreGate {
    fn new() -> Self {
        SemaphoreGate(Semaphore::new(0))
    }
    fn parked<C, F>(&'static self, counted: C, then: F) -> impl Future<Output = ()> + Send + 'static
    where
        C: FnOnce() + Send + 'static,
        F: FnOnce() + Send + 'static,
    {
        async move {
            counted();
            let _ = self.0.acquire().await;
            then();
        }
    }
    fn release_all(&self, tasks: usize) {
        self.0.add_permits(tasks)
    }
}

pub trait WithRelease {
    type Output;
    fn run<R: Release>(self) -> Self::Output;
}

/// Call `job` with the gate type named by `kind` (checked at start).
pub fn with_release<J: WithRelease>(kind: &str, job: J) -> J::Output {
    match kind {
        #[cfg(not(feature = "protocol-only"))]
        "watch" => job.run::<WatchGate>(),
        #[cfg(not(feature = "protocol-only"))]
        "semaphore" => job.run::<SemaphoreGate>(),
        _ => job.run::<NotifyGate>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_choice_is_the_default_and_alternatives_parse() {
        let p = parse("").unwrap();
        assert_eq!(
            (p.join.as_str(), p.release.as_str(), p.accumulate.as_str()),
            ("counter", "notify", "atomic")
        );
        assert!(parse("release=nope").is_err());
        assert!(parse("nope=1").is_err());
        if cfg!(feature = "protocol-only") {
            assert!(parse("release=watch").unwrap_err().contains("protocol-only"));
        } else {
            assert_eq!(parse("release=watch").unwrap().release, "watch");
        }
    }
}
