"""Rust tokio tasks: the workload in workloads/rust (tokio + hyper 1.x), built
with the host's cargo or cross-compiled in the toolchain-rust image."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.runtime import WORKLOADS, BuildStep, ImageRecipe, Runtime, Toolchain, first_line

RUST_TARGETS = {"amd64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}


def find_toolchain() -> Toolchain:
    cargo, rustc = shutil.which("cargo"), shutil.which("rustc")
    if not cargo or not rustc:
        raise HarnessError(
            "Rust toolchain (cargo, rustc) not found on PATH: install it with rustup (https://rustup.rs)"
        )
    version = f"{first_line([rustc, '--version'])}; {first_line([cargo, '--version'])}"
    return Toolchain("cargo", version, {"cargo": cargo, "rustc": rustc})


def cargo_build(tc: Toolchain, out: Path, src: Path) -> list[BuildStep]:
    return [BuildStep([tc.paths["cargo"], "build", "--release", "--locked", "--quiet"], src)]


# Shared with the load generator, which is a Rust program too.
IMAGE = ImageRecipe(
    {"TOOLCHAIN_IMAGE": "toolchain-rust", "RUNTIME_IMAGE": "runtime-base"},
    lambda arch: {"RUST_TARGET": RUST_TARGETS[arch]},
    ("sh", "-c", "rustc --version; cargo --version"),
)

RUNTIME = Runtime(
    name="rust",
    colour="#D55E00",  # Okabe-Ito vermillion
    find_toolchain=find_toolchain,
    source=WORKLOADS / "rust",
    source_globs=("src/**/*.rs", "Cargo.toml", "Cargo.lock", "build.rs"),
    build_steps=cargo_build,
    artifacts=("target/release/workload",),
    launch=lambda art, w, s, tc: [str(art / "workload")],
    workers_setting="tokio worker_threads (set by the program from --workers)",
    image=IMAGE,
)
