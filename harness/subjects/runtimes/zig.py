"""Zig 0.17: the workload in workloads/zig (standard library only), built by the Zig compiler the
harness installs from PyPI (`ziglang`, a pinned dependency: `pip` brings it with the harness, on any
machine), or in the toolchain-zig image, which installs the same wheel and cross-compiles.

What Zig measures here, and what it does not (workloads/PROTOCOL.md, "Zig"): Zig 0.17's std has no
green threads (`Io.Threaded` is a thread pool; the fibre implementation does not compile), so `http`
is a thread per connection, `spawn` is a pool (`Io.Group.async`: W-1 threads beside the spawner,
inline when they are busy) — labelled, and ranked apart from a task per unit — and `live` is not
measured: a million parked units would be a million OS threads."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from harness.errors import HarnessError
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

PINNED = "0.17.1"  # pyproject.toml pins ziglang to this version (a test holds the two together)
OPTIMIZE_MODES = ("ReleaseFast", "ReleaseSafe", "ReleaseSmall", "Debug")
ZIG_TARGETS = {"amd64": "x86_64-linux", "arm64": "aarch64-linux"}  # no libc: a static program
VERSIONS_HOME = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cbh" / "zig"

TOOLCHAIN_IMAGE = BaseImageSpec(
    "toolchain-zig", "toolchain", "apt", lambda a: ["ca-certificates", "python3", "python3-pip"], host_cas=True
)


def _zig_in(site: Path | None) -> Path | None:
    """The compiler the `ziglang` wheel carries, in the harness's Python (site None) or under a --target dir."""
    if site is not None:
        zig = site / "ziglang" / "zig"
        return zig if zig.is_file() else None
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return None
    zig = Path(list(spec.submodule_search_locations)[0]) / "zig"
    return zig if zig.is_file() else None


def _toolchain(zig: Path, where: str) -> Toolchain:
    version = first_line([str(zig), "version"])
    return Toolchain("zig", f"zig {version}", {"zig": str(zig)}, where=where)


def install(version: str) -> Path:
    """Zig `version` from PyPI into the harness's cache (once), by pip into a folder of its own."""
    site = VERSIONS_HOME / version
    if (zig := _zig_in(site)) is not None:
        return zig
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        str(site),
        f"ziglang=={version}",
    ]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"Zig {version} cannot be installed from PyPI: {e}") from None
    zig = _zig_in(site)
    if out.returncode != 0 or zig is None:
        last = ((out.stderr or out.stdout).strip().splitlines() or ["no output"])[-1]
        raise HarnessError(
            f"Zig {version} cannot be installed from PyPI (pip: {last}): give a version PyPI's ziglang has "
            f"(such as {PINNED}) or the path of a zig binary"
        )
    return zig


def find_toolchain(spec: str = "") -> Toolchain:
    """The pinned Zig in the harness's own Python; or, by version (0.16.0), that release of PyPI's
    ziglang installed into the harness's cache; or the zig binary at a path."""
    if "/" in spec:
        if not Path(spec).is_file():
            raise HarnessError(f"Zig toolchain {spec}: no zig binary there (give the path of a zig binary)")
        return _toolchain(Path(spec), spec)
    if spec and spec != PINNED:
        return _toolchain(install(spec), f"PyPI ziglang=={spec} in {VERSIONS_HOME / spec}")
    zig = _zig_in(None)
    if zig is None:
        raise HarnessError(
            f"Zig {PINNED} is not installed in the harness's Python ({sys.executable}): it is a pinned "
            "dependency of the harness, so make setup (or pip install -e .) installs it"
        )
    tc = _toolchain(zig, f"PyPI ziglang=={PINNED} in the harness's Python")
    if tc.version != f"zig {PINNED}":
        raise HarnessError(f"the harness pins Zig {PINNED} but its Python has {tc.version}: run make setup")
    return tc


def build_args(settings: dict, target: str = "") -> list[str]:
    args = [f"-Doptimize={settings.get('optimize') or 'ReleaseFast'}"]
    if settings.get("strip"):
        args.append("-Dstrip=true")
    if target:
        args.append(f"-Dtarget={target}")
    return args


def build_steps(tc: Toolchain, out: Path, src: Path, settings: dict | None = None) -> list[BuildStep]:
    # --prefix: the program lands in the cache dir itself (out/bin/workload), whatever tree it was built in
    return [BuildStep([tc.paths["zig"], "build", *build_args(settings or {}), "--prefix", str(out)], src)]


def unit_tests(tc: Toolchain, src: Path) -> list[BuildStep]:
    return [BuildStep([tc.paths["zig"], "build", "test"], src)]


def flags_of(settings: dict) -> dict:
    """The optimize mode and strip, recorded beside every size and figure (the paper's 3.1 MB is unstripped)."""
    out: dict = {"optimize": settings.get("optimize") or "ReleaseFast", "strip": bool(settings.get("strip"))}
    if settings.get("toolchain"):
        out["toolchain"] = settings["toolchain"]
    return out


def image_recipe(settings: dict) -> ImageRecipe:
    """The docker build of these settings: the pinned (or asked) ziglang wheel installed in the toolchain stage,
    which cross-compiles for the target (its version is the wheel's, not probed: the base image has no zig)."""
    version = settings.get("toolchain") or PINNED
    return ImageRecipe(
        {"TOOLCHAIN_IMAGE": TOOLCHAIN_IMAGE, "RUNTIME_IMAGE": RUNTIME_BASE},
        lambda arch: {
            "ZIG_VERSION": version,
            "ZIG_TARGET": ZIG_TARGETS[arch],
            "ZIG_FLAGS": " ".join(build_args(settings)),
        },
        ("echo", f"zig {version} (PyPI ziglang, installed in the build stage)"),
    )


def configure(rt: Runtime, subject: str, settings: dict) -> Runtime:
    spec = settings.get("toolchain", "")
    # a compiler by path is this host's: no image (the docker backend says so in one line)
    image = None if "/" in spec else image_recipe(settings)
    return rt.as_subject(
        subject,
        find_toolchain=lambda: find_toolchain(spec),
        build_steps=lambda tc, out, src: build_steps(tc, out, src, settings),
        build_flags=flags_of(settings),
        image=image,
    )


def clean_caches(tree: Path) -> dict[str, str]:
    """A clean build: Zig's local and global caches both empty (the global one holds the compiled std)."""
    return {"ZIG_LOCAL_CACHE_DIR": str(tree / ".zig-cache"), "ZIG_GLOBAL_CACHE_DIR": str(tree / ".zig-global-cache")}


RUNTIME = Runtime(
    name="zig",
    colour="#CC79A7",  # Okabe-Ito reddish purple (Go blue, Rust vermillion, Java green stay apart)
    find_toolchain=find_toolchain,
    source=WORKLOADS / "zig",
    source_globs=("src/**/*.zig", "build.zig"),
    build_steps=build_steps,
    unit_tests=unit_tests,
    artifacts=(),  # the build installs into the cache dir (--prefix)
    launch=lambda art, w, s, tc: [str(art / "bin" / "workload")],
    workers_setting="Io.Threaded async_limit = W-1 beside the spawner (spawn); http: a thread per connection",
    suite_keys={
        "env": env_key(),
        # a ziglang version on PyPI (0.16.0: installed into the harness's cache) or the path of a zig binary
        "toolchain": Key(str, "", rule="a Zig version on PyPI such as 0.16.0, or a path"),
        "optimize": Key(str, "ReleaseFast", lambda v: v in OPTIMIZE_MODES, f"one of {', '.join(OPTIMIZE_MODES)}"),
        "strip": Key(bool, False),  # strip symbols (the size variant)
    },
    image=image_recipe({}),
    configure=configure,
    # WORKLOAD_CPUPROFILE is refused in one line (exit 3): no profiled trial is planned for Zig
    no_profiler="Zig's standard library has no sampling profiler (profile the process with perf)",
    # a parked connection is a thread: ~16 KiB RSS, plus the kernel's stack and socket buffers
    memory_base=8 << 20,
    memory_per_unit={"spawn": 64, "http": 64 * 1024},
    os_threads_per_connection=1,
    incremental_file="src/work.zig",
    clean_caches=clean_caches,
    toolchain_keys=("toolchain", "optimize", "strip"),
    not_measured={"live": "Zig 0.17's standard library has no green threads; a parked unit is an OS thread"},
    labels={"spawn": "pool, not a task per unit"},
)
