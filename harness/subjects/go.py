"""Go goroutines: the workload in workloads/go (stdlib only), built with the
host's Go toolchain or in the toolchain-go image."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.profile_formats import pprof_reader
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

TOOLCHAIN_IMAGE = BaseImageSpec(
    "toolchain-go", "toolchain", "apt", lambda a: ["ca-certificates", "golang-go"], host_cas=True
)


def find_toolchain() -> Toolchain:
    go = shutil.which("go")
    if not go:
        raise HarnessError(
            "Go toolchain not found on PATH: install Go 1.22 or newer (https://go.dev/dl) or the Debian package golang"
        )
    return Toolchain("go", first_line([go, "version"]), {"go": go})


def build_steps(tc: Toolchain, out: Path, src: Path) -> list[BuildStep]:
    return [
        BuildStep([tc.paths["go"], "build", "-trimpath", "-o", str(out / "workload"), "."], src, {"CGO_ENABLED": "0"})
    ]


RUNTIME = Runtime(
    name="go",
    colour="#0072B2",  # Okabe-Ito blue
    find_toolchain=find_toolchain,
    source=WORKLOADS / "go",
    source_globs=("*.go", "go.mod", "go.sum"),
    build_steps=build_steps,
    artifacts=(),
    launch=lambda art, w, s, tc: [str(art / "workload")],
    workers_setting="GOMAXPROCS (set by the program from --workers)",
    image=ImageRecipe(
        {"TOOLCHAIN_IMAGE": TOOLCHAIN_IMAGE, "RUNTIME_IMAGE": RUNTIME_BASE},
        lambda arch: {"TARGETARCH": arch},
        ("go", "version"),
    ),
    profile_reader=pprof_reader,
)
