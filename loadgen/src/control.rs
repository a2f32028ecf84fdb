//! Commands on stdin, for a harness that drives several generators as one load
//! (`--start-on-command`): `clock` is answered at once with this host's realtime
//! clock (the harness estimates each generator's clock offset from the round
//! trip, as NTP does), and `go K T` starts stage K's sends at realtime T (ns),
//! so that generators on different hosts start their stages together.

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::clock::{now_ns, realtime_ns};

#[derive(Default)]
struct State {
    go: HashMap<usize, u64>,
    closed: bool,
}

#[derive(Default)]
pub struct Control {
    state: Mutex<State>,
    changed: Condvar,
}

impl Control {
    /// Read commands from stdin on a thread of their own until it closes.
    pub fn listen() -> Arc<Control> {
        let control = Arc::new(Control::default());
        let shared = control.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["clock"] => crate::emit(&json!({"type": "clock", "realtime_ns": realtime_ns()})),
                    ["go", stage, at] => match (stage.parse::<usize>(), at.parse::<u64>()) {
                        (Ok(stage), Ok(at)) => {
                            shared.state.lock().expect("control lock").go.insert(stage, at);
                            shared.changed.notify_all();
                        }
                        _ => eprintln!("loadgen: ignored command {line:?} (go STAGE REALTIME_NS)"),
                    },
                    _ => eprintln!("loadgen: ignored command {line:?}"),
                }
            }
            shared.state.lock().expect("control lock").closed = true;
            shared.changed.notify_all();
        });
        control
    }

    /// Block until stage `stage` has its start; returns it on the monotonic clock and the
    /// realtime it was asked for. A start already past begins at once (the lateness shows
    /// in the stage's `start_late_ns`).
    pub fn wait_go(&self, stage: usize, timeout: Duration) -> Result<(u64, u64, u64), String> {
        let mut state = self.state.lock().expect("control lock");
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(&at) = state.go.get(&stage) {
                let (mono, real) = (now_ns(), realtime_ns());
                let late = real.saturating_sub(at);
                return Ok((mono + at.saturating_sub(real), at, late));
            }
            if state.closed {
                return Err(format!("stdin closed before the start of stage {stage}"));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(format!("no start for stage {stage} within {} s", timeout.as_secs()));
            }
            state = self.changed.wait_timeout(state, left).expect("control lock").0;
        }
    }
}
