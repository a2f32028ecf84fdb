//! CPU profile on demand: with WORKLOAD_CPUPROFILE=DIR the whole run is sampled
//! 100 times a second of CPU time (SIGPROF, as Go's runtime/pprof does) and
//! written as folded stacks to DIR/cpu.folded (PROTOCOL.md).

use std::io::Write;

pub const PROFILE_ENV: &str = "WORKLOAD_CPUPROFILE";

pub struct Profile {
    dir: std::path::PathBuf,
    guard: pprof::ProfilerGuard<'static>,
}

/// None when no profile was asked for; Err when one was and cannot be taken.
pub fn start() -> Result<Option<Profile>, String> {
    let Some(dir) = std::env::var_os(PROFILE_ENV).filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{PROFILE_ENV}: {e}"))?;
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(100)
        .build()
        .map_err(|e| format!("cannot start the CPU profile: {e}"))?;
    Ok(Some(Profile { dir, guard }))
}

impl Profile {
    /// Stop sampling and write the folded stacks, root first, one "a;b;c count" per line.
    pub fn finish(self) -> Result<(), String> {
        let report = self.guard.report().build().map_err(|e| format!("profile report: {e}"))?;
        drop(self.guard);
        let path = self.dir.join("cpu.folded");
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
            writeln!(out, "{} {}", names.join(";"), count)
                .map_err(|e| format!("{path:?}: {e}"))?;
        }
        out.flush().map_err(|e| format!("{path:?}: {e}"))
    }
}
