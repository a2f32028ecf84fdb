//! The protocol's flag grammar (`--name value` or `--name=value`, integers
//! only), parsed by hand so that all three runtimes print the same one-line
//! errors; clap would print multi-line usage.

pub const MAX_TASKS: i64 = 100_000_000;
pub const MAX_WORKERS: i64 = 1024;
pub const MAX_WORK: i64 = 1_000_000;
pub const MAX_HOLD_MS: i64 = 86_400_000;
pub const MAX_ITERATIONS: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    Spawn,
    Live,
    Http,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub sub: Sub,
    pub tasks: i64,
    pub workers: i64,
    pub work: i64,
    /// live: -1 means "wait for a line on stdin".
    pub hold_ms: i64,
    pub port: i64,
    /// http: accepted for protocol symmetry; hyper has no idle scanner.
    pub idle_check_ms: i64,
    /// spawn: measured rounds in this process, and warm-up rounds before them.
    pub iterations: i64,
    pub warmup_iterations: i64,
    /// spawn, live: 1 asks for a forced full collection (tokio has no collector: recorded as not applicable).
    pub force_gc: i64,
}

pub fn parse(argv: &[String]) -> Result<Options, String> {
    let sub = match argv.first().map(String::as_str) {
        Some("spawn") => Sub::Spawn,
        Some("live") => Sub::Live,
        Some("http") => Sub::Http,
        Some(other) => return Err(format!("unknown subcommand \"{other}\": use spawn, live or http")),
        None => return Err("missing subcommand: use spawn, live or http".into()),
    };
    let mut o = Options {
        sub,
        tasks: 1_000_000,
        workers: 1,
        // http: no work per request unless asked (a planted cost, for calibrating the gate)
        work: if matches!(sub, Sub::Http) { 0 } else { 100 },
        hold_ms: -1,
        port: 8080,
        idle_check_ms: 0,
        iterations: 1,
        warmup_iterations: 0,
        force_gc: 0,
    };
    let sub_name = &argv[0];
    let mut i = 1;
    while i < argv.len() {
        let arg = &argv[i];
        let Some(body) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument \"{arg}\": flags look like --name value"));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (body.to_string(), None),
        };
        let (min, max) = match (sub, name.as_str()) {
            (_, "workers") => (1, MAX_WORKERS),
            (Sub::Spawn | Sub::Live, "tasks") => (1, MAX_TASKS),
            (_, "work") => (0, MAX_WORK),
            (Sub::Live, "hold-ms") => (0, MAX_HOLD_MS),
            (Sub::Spawn, "iterations") => (1, MAX_ITERATIONS),
            (Sub::Spawn, "warmup-iterations") => (0, MAX_ITERATIONS),
            (Sub::Spawn | Sub::Live, "force-gc") => (0, 1),
            (Sub::Http, "port") => (0, 65535),
            (Sub::Http, "idle-check-ms") => (0, MAX_HOLD_MS),
            _ => return Err(format!("unknown flag --{name} for {sub_name}")),
        };
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                match argv.get(i) {
                    Some(v) => v.clone(),
                    None => return Err(format!("flag --{name} needs a value")),
                }
            }
        };
        let n: i64 = value.parse().map_err(|_| format!("flag --{name}: \"{value}\" is not an integer"))?;
        if n < min || n > max {
            return Err(format!("flag --{name}: {n} is outside [{min}, {max}]"));
        }
        match name.as_str() {
            "workers" => o.workers = n,
            "tasks" => o.tasks = n,
            "work" => o.work = n,
            "hold-ms" => o.hold_ms = n,
            "port" => o.port = n,
            "idle-check-ms" => o.idle_check_ms = n,
            "iterations" => o.iterations = n,
            "warmup-iterations" => o.warmup_iterations = n,
            "force-gc" => o.force_gc = n,
            _ => unreachable!(),
        }
        i += 1;
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_and_both_flag_forms() {
        let o = parse(&args(&["spawn", "--tasks", "10", "--workers=2"])).unwrap();
        assert_eq!((o.tasks, o.workers, o.work), (10, 2, 100));
        let o = parse(&args(&["live", "--hold-ms", "0"])).unwrap();
        assert_eq!(o.hold_ms, 0);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            vec!["spawn", "--tasks", "-1"],
            vec!["spawn", "--tasks", "100000001"],
            vec!["spawn", "--bogus", "1"],
            vec!["spawn", "--tasks"],
            vec!["spawn", "--tasks", "x"],
            vec!["spawn", "tasks"],
            vec!["spawn", "--port", "80"],
            vec!["dance"],
            vec![],
        ] {
            assert!(parse(&args(&bad)).is_err(), "accepted {bad:?}");
        }
    }
}
