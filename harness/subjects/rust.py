"""Rust tokio tasks: the workload in workloads/rust (tokio + hyper 1.x), built
with the host's cargo or cross-compiled in the toolchain-rust image."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.runtime import (
    RUNTIME_BASE,
    WORKLOADS,
    BaseImageSpec,
    BuildStep,
    ImageRecipe,
    Runtime,
    Toolchain,
    first_line,
)

RUST_TARGETS = {"amd64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}
GNU_TRIPLES = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}


def _other(arch: str) -> str:
    return "arm64" if arch == "amd64" else "amd64"


def _toolchain_packages(arch: str) -> list[str]:
    """rustc and cargo, with the other architecture's std and cross gcc: the image cross-compiles."""
    other = _other(arch)
    return [
        "ca-certificates",
        "rustc",
        "cargo",
        "gcc",
        "libc6-dev",
        f"libstd-rust-dev:{other}",
        f"gcc-{GNU_TRIPLES[other].replace('_', '-')}",
        f"libc6-dev-{other}-cross",
    ]


def _linkers(arch: str) -> dict[str, str]:
    # cargo links each target with that target's gcc (both are installed)
    return {
        f"CARGO_TARGET_{RUST_TARGETS[a].upper().replace('-', '_')}_LINKER": f"{GNU_TRIPLES[a]}-gcc" for a in GNU_TRIPLES
    }


TOOLCHAIN_IMAGE = BaseImageSpec(
    "toolchain-rust",
    "toolchain",
    "apt",
    _toolchain_packages,
    env=_linkers,
    extra_arches=lambda a: [_other(a)],
    host_cas=True,
)


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
    {"TOOLCHAIN_IMAGE": TOOLCHAIN_IMAGE, "RUNTIME_IMAGE": RUNTIME_BASE},
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
