"""What a runtime descriptor holds: everything the harness knows about one
runtime — its suite keys, how to find its toolchain, how to build it, how to
launch it with W workers, how to build its container image and the base images
that image stands on, how to read its profiler's files, and its colour in
every plot. The rest of the harness is runtime-agnostic, so adding a runtime
means one descriptor module (see go.py) plus its workload folder."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.paths import ROOT
from harness.subjects.runtimes.profile_formats import folded_reader
from harness.suitekeys import Key, env_key

WORKLOADS = ROOT / "workloads"


@dataclass
class Toolchain:
    name: str  # "go", "cargo", "jdk"
    version: str  # what the tool says of itself, one line
    paths: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # environment a build or run needs
    where: str = ""  # where it lives, when that says more than the version (a JDK's home)

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "paths": self.paths}


@dataclass(frozen=True)
class BuildStep:
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BaseImageSpec:
    """A Debian base image the docker backend builds where no registry is reachable
    (mmdebstrap | docker import): a toolchain image (the engine's own architecture, it
    cross-compiles) or a runtime image (the target's)."""

    name: str
    role: str  # "toolchain" or "runtime"
    variant: str  # mmdebstrap variant: "apt" (maintainer scripts run) or "extract" (files only)
    packages: Callable[[str], list[str]]  # arch -> Debian packages
    env: Callable[[str], dict[str, str]] = lambda arch: {}
    extra_arches: Callable[[str], list[str]] = lambda arch: []
    host_cas: bool = False  # copy the host's added CA certificates (TLS-intercepting proxies)


# What every natively compiled program runs on (Go's and Rust's, the load generator's).
RUNTIME_BASE = BaseImageSpec("runtime-base", "runtime", "extract", lambda a: ["base-files", "libc6", "libgcc-s1"])


@dataclass(frozen=True)
class ImageRecipe:
    """How the docker backend builds this runtime from the Dockerfile in its source dir."""

    bases: dict[str, BaseImageSpec]  # Dockerfile build arg -> the base image it names
    build_args: Callable[[str], dict[str, str]]  # target arch -> build args
    version_argv: tuple[str, ...]  # run in the toolchain image to record its version
    engine_arch_only: bool = False  # the loadgen: never emulated, it is not what is measured
    toolchain_paths: dict[str, str] = field(default_factory=dict)  # inside the image (Java: {"java": "java"})


Launch = Callable[[Path, int, dict, "Toolchain | None"], list[str]]


@dataclass(frozen=True)
class Runtime:
    name: str
    colour: str  # one colour per runtime in every plot (colour-blind-safe palette)
    find_toolchain: Callable[[], Toolchain] | None  # None: prebuilt
    source: Path | None  # hashed for the build cache
    source_globs: tuple[str, ...]
    build_steps: Callable[[Toolchain, Path, Path], list[BuildStep]]  # (toolchain, out dir, source dir)
    # the workload's own unit tests (make test runs them for every registered runtime): (toolchain, source dir)
    artifacts: tuple[str, ...]  # copied from the source tree into the cache dir after the build
    launch: Launch  # argv prefix that starts the program with W workers, given the artifact dir
    workers_setting: str  # how the runtime names W (recorded)
    suite_keys: dict[str, Key] = field(default_factory=lambda: {"env": env_key()})  # [runtime.NAME] keys
    image: ImageRecipe | None = None  # docker backend; None: native only
    unit_tests: Callable[[Toolchain, Path], list[BuildStep]] = lambda tc, src: []
    # what the program needs installed beside it to run (Java: the JDK/JRE home); None: nothing
    # beyond the C library (Go and Rust link their runtimes into the binary)
    shipped_runtime: Callable[[Toolchain, Path], Path | None] = lambda tc, artifact_dir: None
    # the profiler's files -> (format, folded stacks) (PROTOCOL.md, "CPU profile on demand")
    profile_reader: Callable[[Path], tuple[str, dict[str, int]]] = folded_reader("folded")
    # The settings of one subject applied (a variant's toolchain, pins, flags, profile): the
    # descriptor alone knows how; the result is the subject's own Runtime, named by its id.
    configure: Callable[[Runtime, str, dict], Runtime] = lambda rt, subject, settings: dataclasses.replace(
        rt, name=subject
    )
    base: str = ""  # the runtime a configured subject is (its name when it is the runtime itself)
    build_flags: dict = field(default_factory=dict)  # what this subject's build sets beyond the defaults (recorded)
    own_tree: bool = False  # builds in a copy of its sources (a lockfile pinned there, never in the working tree)
    # the build scenario: a source file whose one-line change makes an incremental build, and the
    # environment that gives a clean build empty caches of its own under a scratch directory
    incremental_file: str = ""
    clean_caches: Callable[[Path], dict[str, str]] = lambda scratch: {}
    # The memory guard's priors before a run has learnt its own: bytes the program holds at start, and
    # per unit of each scenario's size (a task, a connection), generous, from this harness's own runs.
    memory_base: int = 64 << 20
    memory_per_unit: dict[str, float] = field(default_factory=dict)
    # OS threads its http server holds per open connection (Zig's thread per connection: 1): what the host's
    # thread, pid and memory-mapping limits must allow before a ramp to many connections
    os_threads_per_connection: int = 0
    # Of its suite keys: those that choose what builds or runs it (two sides that differ in one compare
    # toolchains, which the gate refuses unless asked), and the run settings a reader shows beside it.
    toolchain_keys: tuple[str, ...] = ()
    shown_settings: tuple[str, ...] = ("env",)
    # What this runtime cannot measure honestly, scenario -> why in one line (the plan leaves it out and every
    # reader says why instead of a blank), and what it measures differently, scenario -> a label every reader
    # carries beside its figures (a labelled subject is ranked apart: never starred against the others).
    not_measured: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    no_profiler: str = ""  # why it has no profiled trial (harness run --profile), if it has none

    def as_subject(self, subject: str, **changes) -> Runtime:
        """This runtime as the subject `subject` (a variant's id, or itself) with its settings applied: what a
        descriptor's `configure` returns."""
        return dataclasses.replace(self, name=subject, base=self.name, **changes)

    @property
    def runtime(self) -> str:
        """The runtime this subject is (go for go@1.24)."""
        return self.base or self.name

    @property
    def run_keys(self) -> tuple[str, ...]:
        """The settings it runs with (not built with): a scenario may set these for itself."""
        return (*self.shown_settings, "layout")

    def identity(self, settings: dict) -> dict:
        """What readers need of this subject's settings (the results file's `subjects`): which of its keys
        choose its toolchain and their values where set, and the run settings it shows, where set."""
        shown = (*self.shown_settings, "per_scenario")
        run = {k: settings[k] for k in shown if settings.get(k)}
        if settings.get("layout", "default") != "default":
            run["layout"] = settings["layout"]
        return {
            "toolchain_keys": list(self.toolchain_keys),
            "toolchain_settings": {k: settings[k] for k in self.toolchain_keys if settings.get(k)},
            "run_settings": run,
        }

    def toolchain(self) -> Toolchain:
        """Its toolchain on this host (HarnessError naming what to install when missing)."""
        if self.find_toolchain is None:
            raise HarnessError(f"runtime '{self.name}' is prebuilt: it has no toolchain to find")
        return self.find_toolchain()

    def default_settings(self) -> dict:
        """Its [runtime.NAME] settings when a suite sets none (scripts and tests launch with these)."""
        return {k: copy.deepcopy(key.default) for k, key in self.suite_keys.items()}

    def source_files(self, extra: tuple[str, ...] = ()) -> list[Path]:
        """The files whose content decides the build (and, with the Dockerfile, the image)."""
        assert self.source is not None
        return sorted({p for g in (*self.source_globs, *extra) for p in self.source.glob(g) if p.is_file()})

    def source_digest(self, h: hashlib._Hash, extra: tuple[str, ...] = ()) -> None:
        """Feed every source file (relative name and bytes) into `h`: the one routine
        both the native build cache and the docker image key use."""
        assert self.source is not None
        for f in self.source_files(extra):
            h.update(str(f.relative_to(self.source)).encode() + b"\0")
            h.update(f.read_bytes())

    def footprint(self, artifact_dir: Path, tc: Toolchain | None) -> dict:
        """Bytes of what ships natively: the built program (with its libraries), and the runtime it needs."""
        runtime_dir = self.shipped_runtime(tc, artifact_dir) if tc else None
        needs = tree_bytes(runtime_dir) if runtime_dir and runtime_dir.exists() else 0
        inside = runtime_dir is not None and runtime_dir.is_relative_to(artifact_dir)  # a jlink'd runtime
        program = tree_bytes(artifact_dir, skip={"build.json"}) - (needs if inside else 0)
        return {
            "program_bytes": program,
            "runtime_bytes": needs,
            "runtime_path": str(runtime_dir) if runtime_dir else None,
            "total_bytes": program + needs,
        }

    def copy_artifacts(self, out: Path, tree: Path | None = None) -> None:
        """Its artifacts from the tree it was built in (its sources, or a copy of them) into `out`."""
        assert self.source is not None
        for rel in self.artifacts:
            src = (tree or self.source) / rel
            dst = out / Path(rel).name
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)

    def at_tree(self, tree: Path) -> Runtime:
        """The same runtime built from another checkout (harness ab's base side)."""
        if self.source is None:
            return self
        return dataclasses.replace(self, source=tree / self.source.relative_to(ROOT))


def external(name: str, command: list[str]) -> Runtime:
    """A prebuilt workload declared in a suite ([runtime.NAME] command = [...])."""
    return Runtime(
        name=name,
        colour="#999999",
        find_toolchain=None,
        source=None,
        source_globs=(),
        build_steps=lambda tc, out, src: [],
        artifacts=(),
        launch=lambda art, w, s, tc: list(command),
        workers_setting="--workers (external program)",
        suite_keys=EXTERNAL_KEYS,
    )


EXTERNAL_KEYS: dict[str, Key] = {
    "env": env_key(),
    "command": Key(
        list,
        [],
        lambda v: bool(v) and all(isinstance(x, str) for x in v),
        "a non-empty list of strings (the program and its leading arguments)",
    ),
}


def first_line(cmd: list[str], env: dict | None = None) -> str:
    """The first line a tool prints about itself (stdout, else stderr)."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"cannot run {' '.join(cmd)}: {e}") from None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def tree_bytes(path: Path, skip: set[str] | frozenset[str] = frozenset()) -> int:
    """Apparent size of a file or of every regular file under a directory (symlinks not followed)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink() and p.name not in skip)
