// Records the versions that move the numbers (rustc, tokio, hyper) from the
// real toolchain and the committed Cargo.lock, so the result line never
// carries a hand-typed version.
use std::process::Command;

fn locked_version(lock: &str, name: &str) -> String {
    let needle = format!("name = \"{name}\"\nversion = \"");
    match lock.find(&needle) {
        Some(at) => {
            let rest = &lock[at + needle.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_string()
        }
        None => "unknown".to_string(),
    }
}

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    println!("cargo:rustc-env=WORKLOAD_TOKIO_VERSION={}", locked_version(&lock, "tokio"));
    println!("cargo:rustc-env=WORKLOAD_HYPER_VERSION={}", locked_version(&lock, "hyper"));
    println!("cargo:rustc-env=WORKLOAD_MIMALLOC_VERSION={}", locked_version(&lock, "mimalloc"));
    println!("cargo:rustc-env=WORKLOAD_JEMALLOC_VERSION={}", locked_version(&lock, "tikv-jemallocator"));
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=WORKLOAD_RUSTC_VERSION={version}");
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=WORKLOAD_PROFILE={profile}");
}
