//! CPU profile on demand: with WORKLOAD_CPUPROFILE=DIR the run is sampled
//! 100 times a second of CPU time (SIGPROF, as Go's runtime/pprof does) and
//! written as folded stacks to DIR/cpu.folded (PROTOCOL.md). With
//! WORKLOAD_CPUPROFILE_WINDOW=commands an http server samples only between the
//! "profile start" and "profile stop" lines the harness writes on its stdin.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

pub const PROFILE_ENV: &str = "WORKLOAD_CPUPROFILE";
pub const WINDOW_ENV: &str = "WORKLOAD_CPUPROFILE_WINDOW";

struct State {
    dir: std::path::PathBuf,
    guard: Option<pprof::ProfilerGuard<'static>>, // Some while sampling
    done: bool,                                   // a profile covers one window
}

pub struct Profile(Arc<Mutex<State>>);

/// None when no profile was asked for; Err when one was and cannot be taken.
pub fn start(http: bool) -> Result<Option<Profile>, String> {
    let Some(dir) = std::env::var_os(PROFILE_ENV).filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let window = std::env::var(WINDOW_ENV).unwrap_or_default();
    if !window.is_empty() && window != "commands" {
        return Err(format!("{WINDOW_ENV}={window:?}: use \"commands\" or leave it unset"));
    }
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{PROFILE_ENV}: {e}"))?;
    let state = Arc::new(Mutex::new(State { dir, guard: None, done: false }));
    if window == "commands" && http {
        let shared = state.clone();
        std::thread::spawn(move || obey_commands(shared));
    } else {
        begin(&mut state.lock().unwrap())?;
    }
    Ok(Some(Profile(state)))
}

fn begin(state: &mut State) -> Result<(), String> {
    if state.guard.is_none() && !state.done {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(100)
            .build()
            .map_err(|e| format!("cannot start the CPU profile: {e}"))?;
        state.guard = Some(guard);
    }
    Ok(())
}

/// "profile start" / "profile stop" lines on stdin, each acknowledged once it took effect.
fn obey_commands(state: Arc<Mutex<State>>) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let outcome = match line.trim() {
            "profile start" => begin(&mut state.lock().unwrap()).map(|_| "started"),
            "profile stop" => end(&mut state.lock().unwrap()).map(|_| "stopped"),
            _ => continue,
        };
        match outcome {
            Ok(s) => crate::emit(&serde_json::json!({"type": "profile", "state": s})),
            Err(msg) => {
                eprintln!("workload-rust: {msg}");
                std::process::exit(3);
            }
        }
    }
}

/// Stop sampling and write the folded stacks, root first, one "a;b;c count" per line.
fn end(state: &mut State) -> Result<(), String> {
    let Some(guard) = state.guard.take() else { return Ok(()) };
    state.done = true;
    let report = guard.report().build().map_err(|e| format!("profile report: {e}"))?;
    drop(guard);
    let path = state.dir.join("cpu.folded");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| format!("{path:?}: {e}"))?);
    for (frames, count) in report.data.iter() {
        let mut names: Vec<String> = Vec::new();
        for frame in frames.frames.iter().rev() {
            // a frame holds its inlined functions innermost first
            for symbol in frame.iter().rev() {
                names.push(symbol.name().replace(';', ":"));
            }
        }
        if names.is_empty() {
            names.push("[unknown]".into());
        }
        writeln!(out, "{} {}", names.join(";"), count).map_err(|e| format!("{path:?}: {e}"))?;
    }
    out.flush().map_err(|e| format!("{path:?}: {e}"))
}

impl Profile {
    /// End the profile if it is still sampling (the whole run, or a window never stopped).
    pub fn finish(self) -> Result<(), String> {
        end(&mut self.0.lock().unwrap())
    }
}
