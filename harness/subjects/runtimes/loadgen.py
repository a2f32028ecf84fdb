"""The load generator (loadgen/): part of the instrument, built like a runtime
but never measured. In docker it always runs at the engine's own architecture."""

from __future__ import annotations

import dataclasses

from harness.paths import ROOT
from harness.subjects.runtimes import rust
from harness.subjects.runtimes.runtime import Runtime

LOADGEN = Runtime(
    name="loadgen",
    colour="#777777",
    find_toolchain=rust.find_toolchain,
    source=ROOT / "loadgen",
    source_globs=("src/**/*.rs", "Cargo.toml", "Cargo.lock"),
    build_steps=rust.cargo_build,
    unit_tests=rust.cargo_test,
    artifacts=("target/release/loadgen",),
    launch=lambda art, w, s, tc: [str(art / "loadgen")],
    workers_setting="--workers (threads, one event loop each)",
    image=dataclasses.replace(rust.IMAGE, engine_arch_only=True),
)
