"""Go goroutines: the workload in workloads/go (stdlib only), built with the
host's Go toolchain or in the toolchain-go image."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

from harness.errors import HarnessError
from harness.subjects.runtimes.profile_formats import pprof_reader
from harness.subjects.runtimes.runtime import (
    RUNTIME_BASE,
    WORKLOADS,
    BaseImageSpec,
    BuildStep,
    ImageRecipe,
    Runtime,
    Toolchain,
    first_line,
)
from harness.suitekeys import Key, env_key

TOOLCHAIN_IMAGE = BaseImageSpec(
    "toolchain-go", "toolchain", "apt", lambda a: ["ca-certificates", "golang-go"], host_cas=True
)


def find_toolchain(spec: str = "") -> Toolchain:
    """The host's `go`; or, by version (1.24.5), that release through Go's own toolchain
    download (GOTOOLCHAIN, via the module proxy, cached after); or the `go` at a path."""
    go: str | None
    if "/" in spec:
        go = spec if Path(spec).is_file() else str(Path(spec) / "bin" / "go")
        if not Path(go).is_file():
            raise HarnessError(f"Go toolchain {spec}: no go binary there (give the go binary or a GOROOT)")
    else:
        go = shutil.which("go")
    if not go:
        raise HarnessError(
            "Go toolchain not found on PATH: install Go 1.22 or newer (https://go.dev/dl) or the Debian package golang"
        )
    env = {}
    if spec and "/" not in spec:
        version = spec if spec.startswith("go") else f"go{spec}"
        env["GOTOOLCHAIN"] = version
        try:
            out = subprocess.run(
                [go, "version"], capture_output=True, text=True, timeout=600, env={**os.environ, **env}
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise HarnessError(f"Go toolchain {version}: {e}") from None
        last = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        if out.returncode != 0 or version not in out.stdout:
            raise HarnessError(
                f"Go toolchain {version} cannot be had (GOTOOLCHAIN={version} go version: {last[0]}): "
                "give a released version such as 1.24.5, or the path of a go binary"
            )
        return Toolchain("go", out.stdout.strip(), {"go": go}, env=env, where=f"GOTOOLCHAIN={version}")
    return Toolchain("go", first_line([go, "version"]), {"go": go})


def build_args(settings: dict) -> list[str]:
    """`go build`'s flags for these settings (the defaults add none beyond -trimpath)."""
    args = ["-trimpath"]
    for flag in ("ldflags", "gcflags"):
        if settings.get(flag):
            args.append(f"-{flag}={settings[flag]}")
    if settings.get("tags"):
        args.append(f"-tags={','.join(settings['tags'])}")
    return args


def build_steps(tc: Toolchain, out: Path, src: Path, settings: dict | None = None) -> list[BuildStep]:
    s = settings or {}
    env = {**tc.env, "CGO_ENABLED": "1" if s.get("cgo") else "0"}
    if s.get("experiment"):
        env["GOEXPERIMENT"] = s["experiment"]
    return [BuildStep([tc.paths["go"], "build", *build_args(s), "-o", str(out / "workload"), "."], src, env)]


def unit_tests(tc: Toolchain, src: Path) -> list[BuildStep]:
    env = {**tc.env, "CGO_ENABLED": "0"}
    return [BuildStep([tc.paths["go"], verb, "./..."], src, env) for verb in ("vet", "test")]


def flags_of(settings: dict) -> dict:
    """What a subject's build sets beyond the defaults (recorded beside its sizes and figures)."""
    out = {k: settings[k] for k in ("toolchain", "ldflags", "gcflags", "tags") if settings.get(k)}
    if settings.get("experiment"):
        out["GOEXPERIMENT"] = settings["experiment"]
    out["CGO_ENABLED"] = "1" if settings.get("cgo") else "0"
    return out


def configure(rt: Runtime, subject: str, settings: dict) -> Runtime:
    spec = settings.get("toolchain", "")
    gotoolchain = f"go{spec.removeprefix('go')}" if spec else "local"
    image = rt.image
    if image is not None:
        if "/" in spec or settings.get("cgo"):
            image = None  # a toolchain by path is this host's, cgo would need a cross C compiler: said in one line
        else:
            image = dataclasses.replace(
                image,
                build_args=lambda arch: {
                    "TARGETARCH": arch,
                    "GOTOOLCHAIN": gotoolchain,  # downloaded in the toolchain stage through the module proxy
                    "GO_LDFLAGS": settings.get("ldflags", ""),
                    "GO_GCFLAGS": settings.get("gcflags", ""),
                    "GO_TAGS": ",".join(settings.get("tags", [])),
                    "GOEXPERIMENT": settings.get("experiment", ""),
                },
                version_argv=("sh", "-c", f"GOTOOLCHAIN={gotoolchain} go version"),
            )
    return rt.as_subject(
        subject,
        find_toolchain=lambda: find_toolchain(spec),
        build_steps=lambda tc, out, src: build_steps(tc, out, src, settings),
        build_flags=flags_of(settings),
        image=image,
    )


def clean_caches(tree: Path) -> dict[str, str]:
    """A clean build: an empty build cache of its own (the standard library too is rebuilt)."""
    return {"GOCACHE": str(tree / ".gocache")}


RUNTIME = Runtime(
    name="go",
    colour="#0072B2",  # Okabe-Ito blue
    find_toolchain=find_toolchain,
    source=WORKLOADS / "go",
    source_globs=("*.go", "go.mod", "go.sum"),
    build_steps=build_steps,
    unit_tests=unit_tests,
    artifacts=(),
    launch=lambda art, w, s, tc: [str(art / "workload")],
    workers_setting="GOMAXPROCS (set by the program from --workers)",
    suite_keys={
        "env": env_key(),  # the program's environment: GOGC, GOMEMLIMIT, GODEBUG, ...
        # a released version (1.24.5: Go downloads it through the module proxy) or the path of a go binary
        "toolchain": Key(str, "", rule="a Go version such as 1.24.5, or a path"),
        "ldflags": Key(str, "", rule="go build -ldflags, e.g. -s -w"),
        "gcflags": Key(str, "", rule="go build -gcflags"),
        "tags": Key(list, [], lambda v: all(isinstance(x, str) for x in v), "a list of build tags"),
        "cgo": Key(bool, False),  # CGO_ENABLED (0: a static binary)
        # GOEXPERIMENT at build time, e.g. nogreenteagc (1.26 without its new collector) or greenteagc (1.25)
        "experiment": Key(str, "", rule="a GOEXPERIMENT value such as nogreenteagc"),
    },
    image=ImageRecipe(
        {"TOOLCHAIN_IMAGE": TOOLCHAIN_IMAGE, "RUNTIME_IMAGE": RUNTIME_BASE},
        lambda arch: {"TARGETARCH": arch},
        ("go", "version"),
    ),
    profile_reader=pprof_reader,
    configure=configure,
    # measured here at 1,000,000 tasks / 10,000 connections (W = 1), rounded up: the guard's first guess
    memory_base=64 << 20,
    memory_per_unit={"spawn": 200, "live": 3_000, "http": 30 * 1024},
    incremental_file="work.go",
    clean_caches=clean_caches,
    toolchain_keys=("toolchain",),
)
