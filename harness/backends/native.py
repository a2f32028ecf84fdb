"""The native backend: each workload built with the host's toolchain into
build/<runtime>-<hash>/ (cached by content), and each trial run as a pinned
child process of the harness.

The cache key is a hash of the workload's sources, the toolchain's version and
the build commands, so a second `make bench` rebuilds nothing, and a new
toolchain or a changed source rebuilds exactly that runtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from harness.backends.base import Placement, Prepared
from harness.config import Suite
from harness.errors import HarnessError
from harness.measure.cgroup import CgroupMemory, MemoryLimit
from harness.measure.cpuplan import pinned_children
from harness.measure.sampler import Sampler
from harness.measure.trial import kill_tree
from harness.paths import ROOT
from harness.record.units import fmt_value
from harness.subjects.runtimes.runtime import Runtime, Toolchain

BUILD_DIR = ROOT / "build"
MARKER = "build.json"


@dataclass
class Built:
    runtime: str
    artifact_dir: Path
    cache_key: str
    cached: bool
    toolchain: Toolchain | None
    footprint: dict | None = None  # bytes of what ships (the descriptor knows what that is)
    flags: dict = field(default_factory=dict)  # what this subject's build sets beyond the defaults

    def to_json(self) -> dict:
        return {
            "artifact_dir": str(self.artifact_dir),
            "cache_key": self.cache_key,
            "cached": self.cached,
            "toolchain": self.toolchain.to_json() if self.toolchain else None,
            "flags": self.flags,
            "footprint": self.footprint,
        }


def cache_key(rt: Runtime, tc: Toolchain) -> str:
    """Sources, toolchain version and build commands (with their environment): a variant that builds
    the same as its runtime (only its run settings differ) shares the runtime's build."""
    h = hashlib.sha256()
    h.update(f"{rt.runtime}\0{tc.version}\0".encode())
    for step in rt.build_steps(tc, Path("/OUT"), Path("/SRC")):
        h.update(json.dumps([Path(step.argv[0]).name, *step.argv[1:], sorted(step.env.items())]).encode())
    rt.source_digest(h)
    return h.hexdigest()[:16]


def build(rt: Runtime, tc: Toolchain | None, log: Callable[[str], None] | None = None) -> Built:
    if rt.source is None:  # prebuilt external workload
        return Built(rt.name, ROOT, "external", True, None)
    assert tc is not None
    key = cache_key(rt, tc)
    out = BUILD_DIR / f"{rt.runtime}-{key}"
    if (out / MARKER).exists():
        return Built(rt.name, out, key, True, tc, rt.footprint(out, tc), rt.build_flags)
    tmp = BUILD_DIR / f".{rt.runtime}-{key}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tree = rt.source
    if rt.own_tree:  # e.g. dependency pins: its lockfile changes in a copy, never in the working tree
        tree = BUILD_DIR / f".{rt.runtime}-{key}.tree-{os.getpid()}"
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(rt.source, tree, ignore=shutil.ignore_patterns("target", "build"))
    try:
        for step in rt.build_steps(tc, tmp, tree):
            cwd = tree if step.cwd == rt.source else step.cwd
            env = {**os.environ, **step.env}
            # the build dies with the harness too (a compiler left running would hold the CPU a trial needs)
            proc = subprocess.run(die_with_harness(step.argv), cwd=cwd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
                if log:
                    log("\n".join(tail))
                raise HarnessError(
                    f"building {rt.name} failed ({' '.join(step.argv[:3])} ... exit {proc.returncode}); "
                    f"last line: {tail[-1] if tail else 'no output'}"
                )
        rt.copy_artifacts(tmp, tree)
        (tmp / MARKER).write_text(json.dumps({"runtime": rt.runtime, "key": key, "toolchain": tc.to_json()}))
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if tree != rt.source:
            shutil.rmtree(tree, ignore_errors=True)
    return Built(rt.name, out, key, False, tc, rt.footprint(out, tc), rt.build_flags)


# A child started through setpriv gets SIGKILL when the harness dies, even by
# SIGKILL (the kernel's parent-death signal): no workload or load generator
# outlives a killed harness. (preexec_fn could set it too, but it is unsafe in
# a process with threads, and the sampler runs in threads.) The signal follows
# the thread that forked the child, so trials are started from the main thread.
SETPRIV = shutil.which("setpriv")


def die_with_harness(argv: list[str]) -> list[str]:
    return [SETPRIV, "--pdeathsig", "KILL", "--", *argv] if SETPRIV else list(argv)


class ReapedPopen(subprocess.Popen):
    """A child reaped with wait4 rather than waitpid, so that the kernel's account
    of its user and system CPU time (its own and that of the children it
    waited for) is kept: exact, and immune to steal, unlike wall time."""

    rusage: resource.struct_rusage | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status, ru = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:
                return self.returncode
            if pid == self.pid:
                self.rusage = ru
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(0.002)
        return code


@dataclass
class NativeLauncher:
    """Starts a trial's program as a pinned child process in its own session, inside a memory
    cgroup of its own where the host gives one (memory_limit_bytes)."""

    env: dict[str, str] = field(default_factory=dict)  # the toolchain's (JAVA_HOME), under the trial's own
    memory_limit_bytes: int = 0  # 0: no limit of its own
    _limits: dict = field(default_factory=dict)  # pid -> MemoryLimit
    _made: ClassVar[int] = 0

    def start(
        self, argv: list[str], env: dict[str, str], cpus: list[int], sample_interval_s: float = 0
    ) -> subprocess.Popen:
        if not os.access(argv[0], os.X_OK) and not shutil.which(argv[0]):
            raise FileNotFoundError(2, "no such program", argv[0])  # setpriv would report it less plainly
        limit = None
        if self.memory_limit_bytes:
            NativeLauncher._made += 1
            limit = MemoryLimit.make(f"cbh-{os.getpid()}-{NativeLauncher._made}", self.memory_limit_bytes)
        with pinned_children(cpus):
            proc = ReapedPopen(
                die_with_harness(limit.wrap(argv) if limit else argv),
                env={**os.environ, **self.env, **env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        if limit:
            stop = threading.Event()
            self._limits[proc.pid] = (limit, stop)
            threading.Thread(target=limit.watch, args=(proc.pid, stop), daemon=True, name="memory-limit").start()
        return proc

    def died_of(self, proc: subprocess.Popen) -> str | None:
        """Why the program died, where the kernel says so (its memory cgroup's OOM kills)."""
        limit, _ = self._limits.get(proc.pid, (None, None))
        if limit is None:
            return None
        at = f"{fmt_value(limit.limit_bytes, 'B')}, the trial's memory limit (memory.limit_mib)"
        if limit.oom_kills():
            return f"killed by the kernel's OOM killer at {at}"
        if limit.pinned_at_limit:
            return f"killed by the harness after {limit.THRASH_S:g} s at {at}, thrashing instead of being OOM killed"
        return None

    def sampler(self, proc: subprocess.Popen, interval_s: float) -> Sampler:
        sampler = Sampler(proc.pid, interval_s)
        limit, _ = self._limits.get(proc.pid, (None, None))
        if limit is not None:  # the trial's own memory cgroup: what the kernel charges it, beside RSS
            sampler.cgroup = CgroupMemory(limit.path, limit.v2).with_socket_accounting()
        return sampler

    def destroy(self, proc: subprocess.Popen) -> None:
        kill_tree(proc)
        limit, stop = self._limits.pop(proc.pid, (None, None))
        if limit and stop:
            stop.set()
            limit.remove()

    def exit_cpu(self, proc: ReapedPopen) -> dict:
        ru = proc.rusage
        if ru is None:
            return {"user_s": None, "system_s": None, "source": "unavailable (not reaped by the harness)"}
        return {"user_s": ru.ru_utime, "system_s": ru.ru_stime, "source": "wait4 rusage"}

    def profile_target(self, host_dir: Path) -> str:
        return str(host_dir.resolve())  # the program writes there itself

    def copy_out(self, proc: subprocess.Popen, inside: str, host_dir: Path) -> None:
        pass


def memory_limit(suite: Suite) -> int:
    """A native trial's memory limit: memory.limit_mib, or three quarters of this harness's memory (the
    host's, or the smallest limit around it: what is left is the harness's, so that an over-limit trial
    dies alone inside its own cgroup rather than the enclosing one choosing a victim)."""
    from harness.measure.memory import total_bytes

    return suite["memory"]["limit_mib"] * 2**20 or int(total_bytes() * 3 / 4)


class NativeBackend:
    """Workloads built with the host's toolchains and run as pinned processes."""

    name = "native"

    def __init__(self, arch: str) -> None:
        from harness.measure.host import native_arch

        self.arch = arch
        self.arch_running = native_arch()
        self.notes: list[str] = []

    def placement(self, suite: Suite) -> Placement:
        import psutil

        from harness.measure.cgroup import own_memory_cgroup

        limited = own_memory_cgroup() is not None
        return Placement(
            engine="native",
            arch=self.arch_running,
            local=True,
            sampling="psutil on the trial's process tree, every sampling.interval_ms",
            memory_bytes=psutil.virtual_memory().total,
            trial_memory_limit_bytes=memory_limit(suite) if limited else 0,
            cpus=psutil.cpu_count(),
        )

    def available_cpus(self) -> list[int] | None:
        return None  # this process's own affinity

    def discover(self, found: dict[str, Runtime], suite: Suite) -> dict[str, tuple[Runtime, Toolchain | None]]:
        """Every runtime with its toolchain, found before anything is built."""
        return {name: (rt, rt.find_toolchain() if rt.find_toolchain else None) for name, rt in found.items()}

    def build_all(self, found, suite: Suite, log: Callable[[str], None]) -> dict[str, Prepared]:
        prepared = {}
        for name, (rt, tc) in found.items():
            log(f"building {name} ...")
            built = build(rt, tc, log=log)
            log(f"built {name}: {'cached' if built.cached else 'compiled'} {built.artifact_dir.name}")
            launcher = NativeLauncher(tc.env if tc else {}, memory_limit(suite))
            prepared[name] = Prepared(rt, tc, built, suite.runtime_settings.get(name, {}), launcher)
        return prepared

    def close(self) -> None:
        pass
