//! The Rust/tokio implementation of workloads/PROTOCOL.md.
mod args;
mod http;
mod live;
mod profile;
mod spawn;
mod stats;
mod sync;
mod work;

use std::io::{BufRead, Write};
use std::process::ExitCode;

use serde_json::{json, Value};

use args::Sub;

// The allocator a variant asks for (Cargo features); glibc's malloc (musl's, on musl) without one.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn allocator() -> &'static str {
    if cfg!(feature = "mimalloc") {
        concat!("mimalloc ", env!("WORKLOAD_MIMALLOC_VERSION"))
    } else if cfg!(feature = "jemalloc") {
        concat!("jemalloc (tikv-jemallocator ", env!("WORKLOAD_JEMALLOC_VERSION"), ")")
    } else if cfg!(target_env = "musl") {
        "system (musl malloc)"
    } else {
        "system (glibc malloc)"
    }
}

const PROTOCOL_VERSION: u32 = 3;
// Exit codes (PROTOCOL.md, "Exit codes").
const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_ENV: u8 = 3;

pub enum Failure {
    Run(String),
    Env(String),
}

/// Every setting of this build and runtime that moves the numbers.
pub fn settings() -> Value {
    let workers = std::env::var("WORKLOAD_WORKERS").unwrap_or_default();
    let sync = sync::chosen(); // the synchronisation primitives used (PROTOCOL.md)
    json!({
        "runtime_version": env!("WORKLOAD_RUSTC_VERSION"),
        "tokio_version": env!("WORKLOAD_TOKIO_VERSION"),
        "hyper_version": env!("WORKLOAD_HYPER_VERSION"),
        "tokio_flavor": "multi_thread",
        "worker_threads": workers,
        "allocator": allocator(),
        "static": cfg!(target_feature = "crt-static"),
        "build_profile": env!("WORKLOAD_PROFILE"),
        "target_arch": std::env::consts::ARCH,
        "sync_join": sync.join,
        "sync_release": sync.release,
        "sync_accumulate": sync.accumulate,
    })
}

/// One JSON object per line on stdout, flushed at once (the harness waits on it).
pub fn emit(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// Holds the plateau for `hold_ms`, or (hold_ms < 0) until a line or EOF on stdin.
pub fn wait_for_release(hold_ms: i64) {
    if hold_ms >= 0 {
        std::thread::sleep(std::time::Duration::from_millis(hold_ms as u64));
    } else {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
    }
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("workload-rust: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let opts = match args::parse(&argv) {
        Ok(o) => o,
        Err(msg) => return fail(EXIT_USAGE, &msg),
    };
    if let Err(msg) = sync::parse(&std::env::var("WORKLOAD_SYNC").unwrap_or_default()) {
        return fail(EXIT_USAGE, &msg);
    }
    std::env::set_var("WORKLOAD_WORKERS", opts.workers.to_string());
    let profile = match profile::start(matches!(opts.sub, Sub::Http)) {
        Ok(p) => p,
        Err(msg) => return fail(EXIT_ENV, &msg),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.workers as usize)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(EXIT_ENV, &format!("cannot start tokio: {e}")),
    };
    let outcome: Result<Value, Failure> = match opts.sub {
        Sub::Spawn => Ok(rt.block_on(spawn::run(
            opts.tasks as usize,
            opts.work as u64,
            opts.warmup_iterations,
            opts.iterations,
        ))),
        Sub::Live => live::run(&rt, opts.tasks as usize, opts.work as u64, opts.hold_ms).map_err(Failure::Run),
        Sub::Http => rt.block_on(http::run(opts.port as u16, opts.work as u64)),
    };
    let mut result = match outcome {
        Ok(v) => v,
        Err(Failure::Env(msg)) => return fail(EXIT_ENV, &msg),
        Err(Failure::Run(msg)) => return fail(EXIT_FAILURE, &msg),
    };
    let scenario = match opts.sub {
        Sub::Spawn => "spawn",
        Sub::Live => "live",
        Sub::Http => "http",
    };
    if let Some(p) = profile {
        // the profile is whole before the result line says the run is over
        if let Err(msg) = p.finish() {
            return fail(EXIT_ENV, &msg);
        }
    }
    let obj = result.as_object_mut().expect("results are objects");
    let (user, system) = stats::cpu_times();
    obj.insert("cpu_user_ns".into(), json!(user));
    obj.insert("cpu_system_ns".into(), json!(system));
    let forced = if opts.force_gc == 1 { "not applicable (tokio has no collector)" } else { "" };
    obj.insert("forced_gc".into(), json!(forced));
    obj.insert("type".into(), json!("result"));
    obj.insert("protocol".into(), json!(PROTOCOL_VERSION));
    obj.insert("runtime".into(), json!("rust"));
    obj.insert("scenario".into(), json!(scenario));
    obj.insert("workers".into(), json!(opts.workers));
    obj.insert("settings".into(), settings());
    emit(&result);
    // Do not wait for parked or leaked tasks: the result is out.
    rt.shutdown_background();
    ExitCode::SUCCESS
}
