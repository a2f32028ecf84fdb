//! loadgen: the harness's HTTP/1.1 keep-alive load generator and its reference responder.
//!
//! `ramp`: open connections in cumulative stages, keep them all open, and in
//! each stage send at a constant aggregate rate (each connection on its own
//! period with a random phase). Latency is recorded from the intended send
//! time (corrected for coordinated omission) and from the actual send
//! (uncorrected), and the send lag (actual - intended) in a third histogram.
//! `saturate`: closed loop, C connections, D seconds: maximum requests/s.
//! `respond`: the reference responder the harness measures the floor against.
//!
//! Output: one JSON object per stdout line (`stage_start`, `stage_end`, `ready`,
//! `result`); errors: one line on stderr, exit 2 (usage) or 3 (environment).

mod client;
mod clock;
mod control;
mod http1;
mod remote;
mod respond;
mod schedule;
mod stats;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use client::Shard;
use clock::{now_ns, process_cpu_s, realtime_ns, set_nice, set_timer_slack_ns};
use control::Control;

/// The niceness every event-loop thread takes (set once from --nice).
static NICE: AtomicI32 = AtomicI32::new(0);
use schedule::{Schedule, SplitMix};
use stats::StageStats;

#[derive(Parser)]
#[command(name = "loadgen", version, about = "Open-loop HTTP/1.1 keep-alive load generator and reference responder")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Open loop: cumulative stages of kept-alive connections at a constant aggregate rate
    Ramp(RampArgs),
    /// Closed loop: C connections, one request in flight each, as fast as the server answers
    Saturate(SaturateArgs),
    /// Answer like the servers do and nothing else: what the harness measures the floor against
    Respond(RespondArgs),
    /// GET / once and print the answer's status, headers and body (verification on a remote engine)
    Verify(VerifyArgs),
    /// Print a container's cgroup memory and CPU every few ms, then its exact CPU time once it exits
    Sample(SampleArgs),
}

#[derive(Args)]
struct VerifyArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
}

#[derive(Args)]
struct SampleArgs {
    /// Where the host's cgroup hierarchy is mounted in this container
    #[arg(long, default_value = "/host/cgroup")]
    root: String,
    /// The container's cgroup below it, e.g. cbh-ab12-3/<container id>
    #[arg(long)]
    cgroup: String,
    #[arg(long = "interval-ms", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    interval_ms: u64,
    /// How long to wait for the cgroup to appear
    #[arg(long = "wait-s", default_value_t = 30.0, value_parser = positive)]
    wait_s: f64,
}

#[derive(Args)]
struct Target {
    /// The server's address
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The server's port
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// Worker threads, one event loop each (the harness passes its CPU count)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: u16,
    /// Scheduling niceness of the event loops: negative wins the CPU from a harness sharing it (needs privilege)
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = clap::value_parser!(i32).range(-20..=19))]
    nice: i32,
    /// Local addresses to connect from, in turn (e.g. 127.0.0.1,127.0.0.2): each has the whole local
    /// port range to itself, so n of them open n times the ~28k connections one address can
    #[arg(long, value_delimiter = ',')]
    sources: Vec<IpAddr>,
    /// Wait on stdin before each stage's sends (`go STAGE REALTIME_NS`) and answer `clock`:
    /// how a harness starts several generators' stages together
    #[arg(long = "start-on-command")]
    start_on_command: bool,
}

#[derive(Args)]
struct RampArgs {
    #[command(flatten)]
    target: Target,
    /// Cumulative connection counts, strictly increasing: 1000,2000,5000
    #[arg(long, value_delimiter = ',', required = true)]
    stages: Vec<usize>,
    /// Aggregate requests per second in every stage
    #[arg(long, value_parser = positive)]
    rate: f64,
    /// Length of each stage
    #[arg(long = "stage-duration-s", default_value_t = 10.0, value_parser = positive)]
    stage_s: f64,
    /// Seed of the random phases
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A send later than this counts as late
    #[arg(long = "late-threshold-ms", default_value_t = 5.0, value_parser = positive)]
    late_ms: f64,
    /// Sleep until this long before an intended send, then spin (the wake-up's own lateness)
    #[arg(long = "spin-us", default_value_t = 150)]
    spin_us: u64,
    /// How long a stage may overrun with late sends before the rest are abandoned (default: its length)
    #[arg(long = "drain-s", value_parser = positive)]
    drain_s: Option<f64>,
}

#[derive(Args)]
struct SaturateArgs {
    #[command(flatten)]
    target: Target,
    /// Connections, each with one request in flight
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    connections: u32,
    /// How long to drive them, per window
    #[arg(long = "duration-s", default_value_t = 10.0, value_parser = positive)]
    duration_s: f64,
    /// Measured windows of --duration-s each, back to back on the same connections
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    iterations: u32,
    /// Windows before them, reported as warm-up
    #[arg(long = "warmup-iterations", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1000))]
    warmup_iterations: u32,
}

#[derive(Args)]
struct RespondArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// 0: any free port (the ready line says which)
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: u16,
}

fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("\"{text}\" is not a positive number")),
    }
}

fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("loadgen: {msg}");
    ExitCode::from(code)
}

/// Raise the soft open-file limit to the hard one; fail clearly if even that is too low.
fn ensure_open_files(needed: u64) -> Result<u64, String> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err("cannot read the open-file limit".into());
        }
        if (needed == 0 || lim.rlim_cur < needed) && lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    if lim.rlim_cur < needed {
        return Err(format!(
            "needs {needed} open files but the limit is {} (hard {}): raise it, e.g. `ulimit -n {needed}` as root or LimitNOFILE",
            lim.rlim_cur, lim.rlim_max
        ));
    }
    Ok(lim.rlim_cur)
}

fn resolve(t: &Target) -> Result<SocketAddr, String> {
    (t.host.as_str(), t.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("cannot resolve {}:{}", t.host, t.port))
}

fn shards(t: &Target, spin_us: u64) -> Result<Vec<Shard>, String> {
    let req = http1::request(&format!("{}:{}", t.host, t.port));
    (0..t.workers).map(|_| Shard::new(req.clone(), spin_us * 1000).map_err(|e| format!("cannot start: {e}"))).collect()
}

/// Open `count` more connections spread over the shards (and over the source addresses, in turn).
fn open_all(shards: &mut [Shard], addr: SocketAddr, count: usize, sources: &[IpAddr]) {
    let w = shards.len();
    on_all(shards, |i, shard| {
        let first = i + shard.len() * w; // every shard walks the sources from its own place
        shard.open(addr, count / w + usize::from(i < count % w), sources, first)
    });
}

/// When stage `stage`'s sends begin (monotonic), the realtime asked for, and how late it was taken up.
fn stage_start(control: &Option<Arc<Control>>, stage: usize) -> Result<(u64, Option<u64>, u64), String> {
    match control {
        // every thread in its loop before the first send is due
        None => Ok((now_ns() + 20_000_000, None, 0)),
        Some(c) => {
            let (mono, at, late) = c.wait_go(stage, Duration::from_secs(3600))?;
            Ok((mono.max(now_ns() + 1_000_000), Some(at), late))
        }
    }
}

/// Run `f` on every shard at once, one thread each (inline when there is one).
fn on_all<R: Send>(shards: &mut [Shard], f: impl Fn(usize, &mut Shard) -> R + Sync) -> Vec<R> {
    if shards.len() == 1 {
        return vec![f(0, &mut shards[0])];
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter_mut()
            .enumerate()
            .map(|(k, shard)| {
                let f = &f;
                s.spawn(move || {
                    set_timer_slack_ns(1);
                    set_nice(NICE.load(Relaxed));
                    f(k, shard)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker thread panicked")).collect()
    })
}

fn ramp(a: &RampArgs) -> Result<Value, String> {
    let stages = &a.stages;
    if stages.is_empty() || stages[0] == 0 || stages.windows(2).any(|w| w[1] <= w[0]) {
        return Err("flag --stages must be strictly increasing positive counts".into());
    }
    let addr = resolve(&a.target)?;
    let mut shards = shards(&a.target, a.spin_us)?;
    let control = a.target.start_on_command.then(Control::listen);
    let w = shards.len();
    let mut rng = SplitMix::new(a.seed);
    let late_ns = (a.late_ms * 1e6) as u64;
    let len_ns = (a.stage_s * 1e9) as u64;
    let drain_ns = (a.drain_s.unwrap_or(a.stage_s) * 1e9) as u64;
    let mut results = Vec::new();
    for (k, delta) in stats::stage_deltas(stages).into_iter().enumerate() {
        let failures_before: u64 = shards.iter().map(|s| s.connect_failures).sum();
        let closed_before: u64 = shards.iter().map(|s| s.closed_by_server).sum();
        let open_started = now_ns();
        open_all(&mut shards, addr, delta, &a.target.sources);
        let open_s = (now_ns() - open_started) as f64 / 1e9;
        let n: usize = shards.iter().map(|s| s.open_connections()).sum();
        emit(&json!({"type": "stage_start", "stage": k, "connections_target": stages[k], "connections_open": n,
                     "realtime_ns": realtime_ns()}));
        // every connection its own period and random phase; the aggregate rate is constant
        let total: usize = shards.iter().map(|s| s.len()).sum();
        let mut all: Vec<Schedule> = (0..total).map(|_| Schedule::for_connection(total, a.rate, &mut rng)).collect();
        for shard in shards.iter_mut() {
            let mine: Vec<Schedule> = all.drain(..shard.len()).collect();
            shard.set_schedules(&mine, len_ns);
        }
        let (start, start_realtime_ns, start_late_ns) = stage_start(&control, k)?;
        let cpu_before = process_cpu_s();
        let parts = on_all(&mut shards, |_, shard| {
            let mut st = StageStats::default();
            let end = shard.run_stage(start, len_ns, drain_ns, late_ns, &mut st);
            (st, end)
        });
        let cpu_s = process_cpu_s() - cpu_before;
        let end = parts.iter().map(|(_, e)| *e).max().unwrap_or(start);
        let mut st = StageStats::default();
        for (part, _) in &parts {
            st.merge(part);
        }
        let elapsed = (end.saturating_sub(start)) as f64 / 1e9;
        let c = &st.counters;
        let result = json!({
            "type": "stage_end",
            "stage": k,
            "connections_target": stages[k],
            "connections_open": shards.iter().map(|s| s.open_connections()).sum::<usize>(),
            "connect_failures": shards.iter().map(|s| s.connect_failures).sum::<u64>() - failures_before,
            "open_s": open_s,
            "closed_by_server": shards.iter().map(|s| s.closed_by_server).sum::<u64>() - closed_before,
            "requests_sent": c.sent,
            "requests_ok": c.ok,
            "requests_failed": c.failed,
            "requests_unsent": c.unsent,
            "late_sends": c.late,
            "late_threshold_ms": a.late_ms,
            "target_rate": a.rate,
            // measured over the stage's real length (it runs over when the server is late)
            "achieved_rate": c.sent as f64 / elapsed.max(1e-9),
            "duration_s": elapsed,
            "corrected": stats::summary(&st.corrected),
            "uncorrected": stats::summary(&st.uncorrected),
            "lag": st.lag_summary(),
            "loadgen_cpu_s": cpu_s,
            "loadgen_busy": cpu_s / (elapsed.max(1e-9) * w as f64),
            "spin_us": a.spin_us,
            "nice": set_nice(NICE.load(Relaxed)),
            "workers": w,
            "sources": a.target.sources.len().max(1),
            "start_realtime_ns": start_realtime_ns,
            "start_late_ns": start_late_ns,
        });
        emit(&result);
        results.push(result);
    }
    for shard in shards.iter_mut() {
        shard.closing = true;
    }
    let closed: u64 = shards.iter().map(|s| s.closed_by_server).sum();
    Ok(json!({"type": "result", "mode": "ramp", "stages": results, "closed_by_server": closed}))
}

fn saturate(a: &SaturateArgs) -> Result<Value, String> {
    let addr = resolve(&a.target)?;
    let mut shards = shards(&a.target, 0)?;
    let w = shards.len();
    let c = a.connections as usize;
    let control = a.target.start_on_command.then(Control::listen);
    open_all(&mut shards, addr, c, &a.target.sources);
    let connect_failures: u64 = shards.iter().map(|s| s.connect_failures).sum();
    let open: usize = shards.iter().map(|s| s.open_connections()).sum();
    emit(&json!({"type": "connected", "connections_open": open, "realtime_ns": realtime_ns()}));
    let (started, _, start_late_ns) = match &control {
        None => (now_ns(), None, 0),
        Some(_) => stage_start(&control, 0)?,
    };
    // a shared start: sleep until just before it, then spin the rest (a generator sharing a CPU must not spin long)
    let lead = started.saturating_sub(now_ns());
    if lead > 2_000_000 {
        std::thread::sleep(Duration::from_nanos(lead - 1_000_000));
    }
    while now_ns() < started {
        std::hint::spin_loop();
    }
    let cpu_before = process_cpu_s();
    let window_ns = (a.duration_s * 1e9) as u64;
    let rounds = (a.warmup_iterations + a.iterations) as usize;
    let windows: Vec<u64> = (1..=rounds as u64).map(|k| started + k * window_ns).collect();
    let warmup = a.warmup_iterations as usize;
    let parts = on_all(&mut shards, |k, shard| {
        let mut st = StageStats::default();
        // the first event loop announces each window's end, as it happens
        let announce = |index: usize| {
            if k == 0 {
                emit(&json!({"type": "iteration_end", "index": index, "warmup": index < warmup}));
            }
        };
        let per_window = shard.run_saturate(&windows, &mut st, &announce);
        shard.closing = true; // what closes after the deadline is our doing
        (st, per_window)
    });
    let elapsed = (now_ns() - started) as f64 / 1e9;
    let cpu_s = process_cpu_s() - cpu_before;
    let mut total = StageStats::default();
    let mut ok_per_window = vec![0u64; rounds];
    for (p, per_window) in &parts {
        total.merge(p);
        for (sum, n) in ok_per_window.iter_mut().zip(per_window) {
            *sum += n;
        }
    }
    let iterations: Vec<Value> = ok_per_window
        .iter()
        .enumerate()
        .map(|(k, ok)| {
            json!({"index": k, "warmup": k < warmup, "requests_ok": ok, "duration_s": a.duration_s,
                   "requests_per_sec": *ok as f64 / a.duration_s})
        })
        .collect();
    let measured: Vec<f64> =
        iterations.iter().filter(|i| i["warmup"] == false).map(|i| i["requests_per_sec"].as_f64().unwrap_or(0.0)).collect();
    Ok(json!({
        "type": "result", "mode": "saturate",
        "connections": c, "connect_failures": connect_failures, "start_late_ns": start_late_ns,
        "duration_s": elapsed,
        "requests_ok": total.counters.ok, "requests_failed": total.counters.failed,
        // over the measured windows only (all of them when there are none to leave out)
        "requests_per_sec": if measured.is_empty() { total.counters.ok as f64 / elapsed } else { measured.iter().sum::<f64>() / measured.len() as f64 },
        "iterations": iterations,
        "closed_by_server": shards.iter().map(|s| s.closed_by_server).sum::<u64>(),
        "latency": stats::summary(&total.corrected),
        "loadgen_cpu_s": cpu_s,
        "loadgen_busy": cpu_s / (elapsed * w as f64),
        "workers": w,
    }))
}

fn respond(a: &RespondArgs) -> Result<Value, String> {
    let workers = a.workers as usize;
    let (listeners, port) =
        respond::listeners(&a.host, a.port, workers).map_err(|e| format!("cannot listen on port {}: {e}", a.port))?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let served = Arc::new(AtomicU64::new(0));
    let settings = json!({
        "runtime_version": concat!("loadgen ", env!("CARGO_PKG_VERSION"), " respond"),
        "workers": workers,
        "event_loop": "mio (epoll), one per worker thread",
    });
    emit(&json!({"type": "ready", "runtime": "floor", "port": port, "settings": settings}));
    let started = now_ns();
    std::thread::scope(|s| {
        for l in listeners {
            let (stop, served) = (stop.clone(), served.clone());
            s.spawn(move || respond::serve(l, stop, served));
        }
    });
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok()))
        .map(|kib| kib * 1024)
        .unwrap_or(-1);
    let (user, system) = clock::process_cpu_ns();
    Ok(json!({
        "type": "result", "protocol": 3, "runtime": "floor", "scenario": "http", "workers": workers,
        "cpu_user_ns": user, "cpu_system_ns": system,
        "port": port, "requests_served": served.load(Relaxed), "uptime_ns": now_ns() - started,
        "peak_rss_bytes": rss, "settings": settings,
    }))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // one line, as every program the harness drives says what went wrong
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments").trim_start_matches("error: ");
            return fail(2, first);
        }
    };
    let peak = match &cli.mode {
        Mode::Ramp(a) => *a.stages.last().unwrap_or(&0) as u64 + 256,
        Mode::Saturate(a) => a.connections as u64 + 256,
        Mode::Respond(_) => 0, // as many as its clients open: the soft limit is raised to the hard one
        Mode::Verify(_) | Mode::Sample(_) => 64,
    };
    if let Err(e) = ensure_open_files(peak) {
        return fail(3, &e);
    }
    set_timer_slack_ns(1);
    let asked = match &cli.mode {
        Mode::Ramp(a) => a.target.nice,
        Mode::Saturate(a) => a.target.nice,
        _ => 0,
    };
    NICE.store(asked, Relaxed);
    set_nice(asked);
    let outcome = match &cli.mode {
        Mode::Ramp(a) => ramp(a),
        Mode::Saturate(a) => saturate(a),
        Mode::Respond(a) => respond(a),
        Mode::Verify(a) => remote::verify(&a.host, a.port),
        Mode::Sample(a) => remote::sample(&a.root, &a.cgroup, a.interval_ms, a.wait_s),
    };
    match outcome {
        Ok(v) => {
            emit(&v);
            ExitCode::SUCCESS
        }
        Err(e) if e.starts_with("flag ") => fail(2, &e),
        Err(e) => fail(3, &e),
    }
}
