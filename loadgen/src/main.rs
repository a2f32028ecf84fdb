//! loadgen: an open-loop HTTP/1.1 keep-alive load generator for the harness.
//!
//! `ramp`: open connections in cumulative stages, keep them all open, and in
//! each stage send at a constant aggregate rate (each connection on its own
//! period with a random phase); latency is recorded from the intended send
//! time (corrected) and from the actual send (uncorrected).
//! `saturate`: closed-loop, C connections, D seconds: maximum requests/s.
//!
//! Output: one JSON object per stdout line (`stage_start`, `stage_end`,
//! `result`); errors: one line on stderr, exit 2 (usage) or 3 (environment).

mod schedule;
mod stats;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

use schedule::{Schedule, SplitMix};
use stats::StageStats;

struct Opts {
    mode: String,
    host: String,
    port: u16,
    stages: Vec<usize>,
    rate: f64,
    stage_s: f64,
    connections: usize,
    duration_s: f64,
    workers: usize,
    seed: u64,
    late_ms: f64,
}

fn parse(argv: &[String]) -> Result<Opts, String> {
    let mode = argv.first().cloned().ok_or("missing mode: use ramp or saturate")?;
    if mode != "ramp" && mode != "saturate" {
        return Err(format!("unknown mode \"{mode}\": use ramp or saturate"));
    }
    let mut o = Opts { mode, host: "127.0.0.1".into(), port: 0, stages: vec![1000, 2000, 5000, 10000], rate: 10000.0,
                       stage_s: 10.0, connections: 256, duration_s: 10.0, workers: 1, seed: 1, late_ms: 5.0 };
    let mut i = 1;
    while i < argv.len() {
        let name = argv[i].strip_prefix("--").ok_or_else(|| format!("unexpected argument \"{}\"", argv[i]))?;
        let value = argv.get(i + 1).ok_or_else(|| format!("flag --{name} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| format!("flag --{name}: \"{v}\" is not a number"));
        match name {
            "host" => o.host = value.clone(),
            "port" => o.port = value.parse().map_err(|_| format!("flag --port: \"{value}\" is not a port"))?,
            "stages" => {
                o.stages = value
                    .split(',')
                    .map(|s| s.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("flag --stages: \"{value}\" is not a comma list of counts"))?
            }
            "rate" => o.rate = num(value)?,
            "stage-duration-s" => o.stage_s = num(value)?,
            "connections" => o.connections = num(value)? as usize,
            "duration-s" => o.duration_s = num(value)?,
            "workers" => o.workers = num(value)? as usize,
            "seed" => o.seed = num(value)? as u64,
            "late-threshold-ms" => o.late_ms = num(value)?,
            _ => return Err(format!("unknown flag --{name}")),
        }
        i += 2;
    }
    if o.port == 0 {
        return Err("flag --port is required (the server's port)".into());
    }
    if o.stages.is_empty() || o.stages.windows(2).any(|w| w[1] <= w[0]) || o.stages[0] == 0 {
        return Err("flag --stages must be strictly increasing positive counts".into());
    }
    if o.rate <= 0.0 || o.stage_s <= 0.0 || o.duration_s <= 0.0 || o.connections == 0 || o.workers == 0 {
        return Err("--rate, --stage-duration-s, --duration-s, --connections and --workers must be positive".into());
    }
    Ok(o)
}

fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Raise the soft open-file limit to the hard one; fail clearly if even that is too low.
fn ensure_open_files(needed: u64) -> Result<u64, String> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err("cannot read the open-file limit".into());
        }
        if lim.rlim_cur < needed && lim.rlim_cur < lim.rlim_max {
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

struct Conns {
    senders: Vec<SendRequest<Empty<Bytes>>>,
    closing: Arc<AtomicBool>,
    closed_by_server: Arc<AtomicU64>,
    connect_failures: u64,
}

/// One TCP connection with its HTTP/1 handshake done; None if either failed.
async fn connect(addr: String) -> Option<Handshake> {
    let tcp = TcpStream::connect(addr).await.ok()?;
    let _ = tcp.set_nodelay(true);
    http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tcp)).await.ok()
}

async fn open(conns: &mut Conns, host: &str, port: u16, count: usize) {
    // Connect in modest parallel batches so the accept queue is not flooded.
    let mut pending = Vec::new();
    for _ in 0..count {
        pending.push(tokio::spawn(connect(format!("{host}:{port}"))));
        if pending.len() == 256 {
            collect(conns, &mut pending).await;
        }
    }
    collect(conns, &mut pending).await;
}

type Handshake = (SendRequest<Empty<Bytes>>, http1::Connection<TokioIo<TcpStream>, Empty<Bytes>>);

async fn collect(conns: &mut Conns, pending: &mut Vec<tokio::task::JoinHandle<Option<Handshake>>>) {
    for h in pending.drain(..) {
        match h.await.ok().flatten() {
            Some((sender, conn)) => {
                let closing = conns.closing.clone();
                let closed = conns.closed_by_server.clone();
                tokio::spawn(async move {
                    let _ = conn.await;
                    if !closing.load(Relaxed) {
                        closed.fetch_add(1, Relaxed); // the server ended a connection we kept
                    }
                });
                conns.senders.push(sender);
            }
            None => conns.connect_failures += 1,
        }
    }
}

fn request(host: &str) -> Request<Empty<Bytes>> {
    Request::get("/").header(hyper::header::HOST, host).body(Empty::new()).expect("static request is valid")
}

/// One request on one connection; Ok(true) for a 200 with the whole body read.
async fn exchange(sender: &mut SendRequest<Empty<Bytes>>, host: &str) -> bool {
    if sender.ready().await.is_err() {
        return false;
    }
    match sender.send_request(request(host)).await {
        Ok(resp) => {
            let ok = resp.status() == 200;
            ok && resp.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

async fn ramp(o: &Opts) -> Result<Value, String> {
    let mut conns = Conns { senders: Vec::new(), closing: Arc::new(AtomicBool::new(false)),
                            closed_by_server: Arc::new(AtomicU64::new(0)), connect_failures: 0 };
    let mut rng = SplitMix::new(o.seed);
    let host = format!("{}:{}", o.host, o.port);
    let late_us = (o.late_ms * 1000.0) as u64;
    let stage_len = Duration::from_secs_f64(o.stage_s);
    let mut stage_results = Vec::new();
    for (k, delta) in stats::stage_deltas(&o.stages).into_iter().enumerate() {
        let failures_before = conns.connect_failures;
        let closed_before = conns.closed_by_server.load(Relaxed);
        let open_started = Instant::now();
        open(&mut conns, &o.host, o.port, delta).await;
        let open_s = open_started.elapsed().as_secs_f64();
        let n = conns.senders.len();
        emit(&json!({"type": "stage_start", "stage": k, "connections_target": o.stages[k], "connections_open": n}));

        let shared = Arc::new(Mutex::new(StageStats::default()));
        let start = tokio::time::Instant::now() + Duration::from_millis(20);
        let mut tasks = Vec::with_capacity(n);
        for mut sender in conns.senders.drain(..) {
            let sched = Schedule::for_connection(n, o.rate, &mut rng);
            let shared = shared.clone();
            let host = host.clone();
            tasks.push(tokio::spawn(async move {
                let sends = sched.sends_within(stage_len);
                for j in 0..sends {
                    let intended = start + sched.intended(j);
                    tokio::time::sleep_until(intended).await;
                    let sent = tokio::time::Instant::now();
                    let ok = exchange(&mut sender, &host).await;
                    let done = tokio::time::Instant::now();
                    let corrected = (done - intended).as_micros() as u64;
                    let uncorrected = (done - sent).as_micros() as u64;
                    let lag = (sent - intended).as_micros() as u64;
                    shared.lock().unwrap().record_response(ok, corrected, uncorrected, lag, late_us);
                }
                sender
            }));
        }
        for t in tasks {
            if let Ok(sender) = t.await {
                conns.senders.push(sender);
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        let st = shared.lock().unwrap();
        let c = &st.counters;
        let result = json!({
            "type": "stage_end",
            "stage": k,
            "connections_target": o.stages[k],
            "connections_open": n,
            "connect_failures": conns.connect_failures - failures_before,
            "open_s": open_s,
            "closed_by_server": conns.closed_by_server.load(Relaxed) - closed_before,
            "requests_sent": c.sent,
            "requests_ok": c.ok,
            "requests_failed": c.failed,
            "late_sends": c.late,
            "late_threshold_ms": o.late_ms,
            "target_rate": o.rate,
            // measured over the stage's real length, not the schedule's
            "achieved_rate": c.sent as f64 / elapsed,
            "duration_s": elapsed,
            "corrected": stats::summary(&st.corrected),
            "uncorrected": stats::summary(&st.uncorrected),
        });
        emit(&result);
        stage_results.push(result);
    }
    conns.closing.store(true, Relaxed);
    let total_closed = conns.closed_by_server.load(Relaxed);
    drop(conns.senders);
    Ok(json!({"type": "result", "mode": "ramp", "stages": stage_results, "closed_by_server": total_closed}))
}

async fn saturate(o: &Opts) -> Result<Value, String> {
    // Each connection's task drives its own hyper Connection future next to
    // its request loop: no hop to a separate connection task per request,
    // which is what keeps a single-threaded loadgen ahead of the server.
    let addr = format!("{}:{}", o.host, o.port);
    let pending: Vec<_> = (0..o.connections).map(|_| tokio::spawn(connect(addr.clone()))).collect();
    let mut handshakes = Vec::new();
    let mut connect_failures = 0u64;
    for h in pending {
        match h.await.ok().flatten() {
            Some(hs) => handshakes.push(hs),
            None => connect_failures += 1,
        }
    }
    let host = format!("{}:{}", o.host, o.port);
    let until = Instant::now() + Duration::from_secs_f64(o.duration_s);
    let started = Instant::now();
    let closed_by_server = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (mut sender, conn) in handshakes {
        let host = host.clone();
        let closed_by_server = closed_by_server.clone();
        tasks.push(tokio::spawn(async move {
            let mut local = StageStats::default();
            tokio::pin!(conn);
            while Instant::now() < until {
                let sent = Instant::now();
                let ok = tokio::select! {
                    ok = exchange(&mut sender, &host) => ok,
                    _ = &mut conn => {
                        closed_by_server.fetch_add(1, Relaxed);
                        break;
                    }
                };
                let us = sent.elapsed().as_micros() as u64;
                local.record_response(ok, us, us, 0, u64::MAX);
            }
            local // sender and connection drop here, after the deadline: our close
        }));
    }
    let mut total = StageStats::default();
    for t in tasks {
        if let Ok(local) = t.await {
            total.corrected.add(&local.corrected).expect("same bounds");
            total.counters.sent += local.counters.sent;
            total.counters.ok += local.counters.ok;
            total.counters.failed += local.counters.failed;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(json!({
        "type": "result", "mode": "saturate",
        "connections": o.connections, "connect_failures": connect_failures,
        "duration_s": elapsed,
        "requests_ok": total.counters.ok, "requests_failed": total.counters.failed,
        "requests_per_sec": total.counters.ok as f64 / elapsed,
        "closed_by_server": closed_by_server.load(Relaxed),
        "latency": stats::summary(&total.corrected),
    }))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let peak = if o.mode == "ramp" { *o.stages.last().unwrap() } else { o.connections };
    if let Err(e) = ensure_open_files(peak as u64 + 256) {
        eprintln!("loadgen: {e}");
        return ExitCode::from(3);
    }
    // One worker: tokio's current-thread scheduler, which skips the cross-thread
    // wake-up machinery the multi-thread one pays for on every request.
    let rt = if o.workers == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(o.workers).enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start tokio: {e}");
            return ExitCode::from(3);
        }
    };
    let outcome = rt.block_on(async { if o.mode == "ramp" { ramp(&o).await } else { saturate(&o).await } });
    match outcome {
        Ok(v) => {
            emit(&v);
            rt.shutdown_background();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(1)
        }
    }
}
