//! What the harness needs done on the engine's own machine when that engine is
//! remote (DOCKER_HOST=ssh://... or tcp://...): there, the server's loopback and
//! its cgroup are not the harness's.
//!
//! `verify`: GET / on the server, once, over a plain socket; prints the status,
//! headers and body as JSON for the harness to check (the same checks as a local run).
//! `sample`: reads a container's cgroup (memory, CPU) every few milliseconds and
//! prints a JSON line per sample; when the container's cgroup goes away (it
//! exited), prints the CPU time its parent cgroup kept (exact) and ends.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::clock::now_ns;
use crate::http1::{parse_response, Parsed};

pub fn verify(host: &str, port: u16) -> Result<Value, String> {
    let mut s = TcpStream::connect((host, port)).map_err(|e| format!("GET / failed: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    s.write_all(crate::http1::request(&format!("{host}:{port}")).as_slice()).map_err(|e| format!("GET / failed: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let len = loop {
        if let Parsed::Complete { len, .. } = parse_response(&buf) {
            break len;
        }
        if let Parsed::Invalid(why) = parse_response(&buf) {
            return Err(format!("GET / failed: {why}"));
        }
        let n = s.read(&mut chunk).map_err(|e| format!("GET / failed: {e}"))?;
        if n == 0 {
            return Err("GET / failed: connection closed before the response ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(&buf) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err("GET / failed: unparseable head".into()),
    };
    let mut map = BTreeMap::new();
    for h in resp.headers.iter() {
        map.insert(h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned());
    }
    Ok(json!({"type": "result", "mode": "verify", "status": resp.code.unwrap_or(0), "headers": map,
              "body": String::from_utf8_lossy(&buf[head..len])}))
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.split_whitespace().next()?.parse().ok()
}

fn stat_field(p: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(p).ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then(|| it.next()?.parse().ok()).flatten()
    })
}

/// Paths of one container's cgroup under the mounted hierarchy `root`, v1 or v2.
struct Cgroup {
    v2: bool,
    root: PathBuf,
    rel: String, // e.g. "cbh-ab12-3/<container id>"
}

impl Cgroup {
    fn dir(&self, controller: &str, rel: &str) -> PathBuf {
        if self.v2 {
            self.root.join(rel)
        } else {
            self.root.join(controller).join(rel)
        }
    }

    fn exists(&self) -> bool {
        self.dir("memory", &self.rel).is_dir()
    }

    /// The container's processes have all exited (its cgroup may stay until the container is removed).
    fn empty(&self) -> bool {
        match std::fs::read_to_string(self.dir("memory", &self.rel).join("cgroup.procs")) {
            Ok(text) => text.trim().is_empty(),
            Err(_) => true,
        }
    }

    /// (usage, cache, peak, cpu ns) of the container now.
    fn read(&self) -> Option<(u64, u64, Option<u64>, Option<u64>)> {
        if self.v2 {
            let d = self.dir("", &self.rel);
            let usage = read_u64(&d.join("memory.current"))?;
            let cache = stat_field(&d.join("memory.stat"), "file").unwrap_or(0);
            let cpu = stat_field(&d.join("cpu.stat"), "usage_usec").map(|u| u * 1000);
            Some((usage, cache, read_u64(&d.join("memory.peak")), cpu))
        } else {
            let d = self.dir("memory", &self.rel);
            let usage = read_u64(&d.join("memory.usage_in_bytes"))?;
            let cache = stat_field(&d.join("memory.stat"), "total_cache").unwrap_or(0);
            let cpu = read_u64(&self.dir("cpuacct", &self.rel).join("cpuacct.usage"));
            Some((usage, cache, read_u64(&d.join("memory.max_usage_in_bytes")), cpu))
        }
    }

    /// (user ns, system ns) the parent cgroup kept of its exited child.
    fn parent_cpu(&self) -> Option<(u64, u64)> {
        let parent = self.rel.rsplit_once('/').map(|(p, _)| p.to_string())?;
        if self.v2 {
            let d = self.dir("", &parent);
            Some((stat_field(&d.join("cpu.stat"), "user_usec")? * 1000, stat_field(&d.join("cpu.stat"), "system_usec")? * 1000))
        } else {
            let d = self.dir("cpuacct", &parent);
            Some((read_u64(&d.join("cpuacct.usage_user"))?, read_u64(&d.join("cpuacct.usage_sys"))?))
        }
    }
}

pub fn sample(root: &str, rel: &str, interval_ms: u64, wait_s: f64) -> Result<Value, String> {
    let root = PathBuf::from(root);
    let v2 = root.join("cgroup.controllers").exists();
    let cg = Cgroup { v2, root, rel: rel.trim_matches('/').to_string() };
    let origin = now_ns();
    // the container may not have its cgroup yet when this starts
    while !cg.exists() {
        if (now_ns() - origin) as f64 / 1e9 > wait_s {
            return Err(format!("no cgroup {} appeared within {wait_s} s", cg.rel));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut out = std::io::stdout().lock();
    let mut samples = 0u64;
    let mut seen_running = false; // the cgroup exists a moment before its first process is in it
    while let Some((usage, cache, peak, cpu)) = cg.read() {
        let line = json!({"type": "sample", "t_ns": now_ns() - origin, "usage": usage, "cache": cache,
                          "peak": peak, "cpu_ns": cpu});
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        samples += 1;
        let empty = cg.empty();
        if empty && seen_running {
            break; // every process of it has exited: its CPU account is final
        }
        seen_running |= !empty;
        std::thread::sleep(Duration::from_millis(interval_ms));
    }
    // the container's own cgroup is gone with it: its parent keeps the whole CPU account
    let mut cpu = None;
    for _ in 0..200 {
        cpu = cg.parent_cpu();
        if cpu.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(json!({"type": "result", "mode": "sample", "samples": samples,
              "exit_cpu_user_ns": cpu.map(|c| c.0), "exit_cpu_system_ns": cpu.map(|c| c.1)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_v1_cgroup_and_its_parent() {
        let root = std::env::temp_dir().join(format!("lg-cg-{}", std::process::id()));
        let mem = root.join("memory/p/c");
        let acct = root.join("cpuacct/p/c");
        std::fs::create_dir_all(&mem).unwrap();
        std::fs::create_dir_all(&acct).unwrap();
        std::fs::write(mem.join("memory.usage_in_bytes"), "1000\n").unwrap();
        std::fs::write(mem.join("memory.stat"), "cache 10\ntotal_cache 300\n").unwrap();
        std::fs::write(acct.join("cpuacct.usage"), "5000\n").unwrap();
        std::fs::write(root.join("cpuacct/p/cpuacct.usage_user"), "7\n").unwrap();
        std::fs::write(root.join("cpuacct/p/cpuacct.usage_sys"), "3\n").unwrap();
        std::fs::write(mem.join("cgroup.procs"), "42\n").unwrap();
        let cg = Cgroup { v2: false, root: root.clone(), rel: "p/c".into() };
        assert!(cg.exists() && !cg.empty());
        std::fs::write(mem.join("cgroup.procs"), "").unwrap();
        assert!(cg.empty());
        assert_eq!(cg.read(), Some((1000, 300, None, Some(5000))));
        assert_eq!(cg.parent_cpu(), Some((7, 3)));
        std::fs::remove_dir_all(root).unwrap();
    }
}
