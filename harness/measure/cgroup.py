"""A container's memory cgroup, read from the host (local engines): usage,
high-water mark and the socket buffers' share, in the sampler's own tick."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CgroupMemory:
    """The container's memory cgroup, read from the host: usage, peak and the
    socket share (v2: memory.stat sock; v1: memory.kmem.tcp.usage_in_bytes)."""

    path: Path
    v2: bool

    @classmethod
    def of_pid(cls, pid: int | None) -> CgroupMemory | None:
        if not pid:
            return None
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, controllers, rel = line.split(":", 2)
            if "memory" in controllers.split(","):
                return cls(Path("/sys/fs/cgroup/memory") / rel.lstrip("/"), False)
        for line in lines:
            if line.startswith("0::"):
                return cls(Path("/sys/fs/cgroup") / line[3:].lstrip("/"), True)
        return None

    def with_socket_accounting(self) -> CgroupMemory | None:
        """cgroup v1 accounts socket buffers only once a tcp limit has been written
        (v2 always does): write the unlimited value it already has."""
        if not self.v2:
            try:
                limit = self.path / "memory.kmem.tcp.limit_in_bytes"
                limit.write_text(limit.read_text())
            except OSError:
                pass
        return self

    def _int(self, name: str) -> int | None:
        try:
            return int((self.path / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def read(self) -> tuple[int | None, int | None, int | None]:
        """(usage, peak, sock) in bytes; None where the kernel does not say."""
        if self.v2:
            sock = None
            try:
                for line in (self.path / "memory.stat").read_text().splitlines():
                    if line.startswith("sock "):
                        sock = int(line.split()[1])
            except OSError:
                pass
            return self._int("memory.current"), self._int("memory.peak"), sock
        return (
            self._int("memory.usage_in_bytes"),
            self._int("memory.max_usage_in_bytes"),
            self._int("memory.kmem.tcp.usage_in_bytes"),
        )


@dataclass
class CpuAccount:
    """A cgroup the harness makes the parent of one trial's container. The kernel
    charges the container's CPU time to every ancestor and keeps it there when
    the container's own cgroup goes away at its exit, so the whole container's
    user and system time can be read exactly afterwards (the cgroup-v1 cpuacct
    or v2 cpu.stat counters: in nanoseconds or microseconds, immune to steal)."""

    name: str  # docker creates <hierarchy>/<name>/<container id> with cgroup_parent="/<name>" (cgroupfs driver)
    v2: bool

    @property
    def docker_parent(self) -> str:
        return f"/{self.name}"

    def read(self) -> tuple[float, float] | None:
        """(user_s, system_s), or None where the kernel does not say."""
        try:
            if self.v2:
                stat = dict(
                    line.split() for line in (Path("/sys/fs/cgroup") / self.name / "cpu.stat").read_text().splitlines()
                )
                return int(stat["user_usec"]) / 1e6, int(stat["system_usec"]) / 1e6
            base = Path("/sys/fs/cgroup/cpuacct") / self.name
            if (base / "cpuacct.usage_user").exists():
                return (
                    int((base / "cpuacct.usage_user").read_text()) / 1e9,
                    int((base / "cpuacct.usage_sys").read_text()) / 1e9,
                )
            ticks = dict(line.split() for line in (base / "cpuacct.stat").read_text().splitlines())
            return int(ticks["user"]) / 100, int(ticks["system"]) / 100  # USER_HZ
        except (OSError, ValueError, KeyError):
            return None

    def remove(self) -> None:
        """rmdir the parent in every hierarchy docker made it in, once the container's own
        cgroup inside it is gone (removing a container takes the engine a moment)."""
        roots = [Path("/sys/fs/cgroup")] if self.v2 else [p for p in Path("/sys/fs/cgroup").iterdir() if p.is_dir()]
        left = [root / self.name for root in roots if (root / self.name).is_dir()]
        deadline = time.monotonic() + 2.0
        while left and time.monotonic() < deadline:
            for d in list(left):
                try:
                    d.rmdir()
                    left.remove(d)
                except OSError:
                    pass
            if left:
                time.sleep(0.05)

    @staticmethod
    def remove_empty_leftovers() -> int:
        """Parents left by a harness that was killed: rmdir succeeds only on an empty cgroup."""
        removed = 0
        for d in (
            Path("/sys/fs/cgroup").glob("*/cbh-*")
            if Path("/sys/fs/cgroup/cpuacct").exists()
            else Path("/sys/fs/cgroup").glob("cbh-*")
        ):
            try:
                d.rmdir()
                removed += 1
            except OSError:
                pass
        return removed


@dataclass
class MemoryLimit:
    """A memory cgroup of the harness's own for one native trial (v1 or v2), so that a workload over
    its limit dies alone instead of handing the kernel's OOM killer the choice of victim (the
    harness, sshd, a CI runner); its OOM kills are counted, so that a death can be named."""

    path: Path
    v2: bool
    limit_bytes: int
    pinned_at_limit: bool = False  # the harness killed it: it stayed at its limit, thrashing

    # At its limit with nothing left to reclaim but its own program text, a workload (no swap) may
    # thrash in the kernel's reclaim instead of being killed (seen here: Go's live held in D state at
    # a 100 MiB cgroup v1 limit for the whole trial); this long at the limit ends it as an OOM would.
    THRASH_S = 2.0

    @classmethod
    def make(cls, name: str, limit_bytes: int) -> MemoryLimit | None:
        """A cgroup nested in the one this harness runs in, so that every enclosing limit (a CI job's
        container, a systemd slice) still holds over the trial. None where this host gives no memory
        cgroup there (not root, no memory controller, a cgroup-v2 parent that holds processes and so
        cannot hand the controller down): the trial then runs in the harness's own cgroup, still inside
        every enclosing limit."""
        own = own_memory_cgroup()
        if own is None:
            return None
        parent, v2 = own
        path = parent / name
        try:
            if v2:
                controllers = (parent / "cgroup.subtree_control").read_text().split()
                if "memory" not in controllers:
                    (parent / "cgroup.subtree_control").write_text("+memory")
            path.mkdir(exist_ok=True)
            (path / ("memory.max" if v2 else "memory.limit_in_bytes")).write_text(str(limit_bytes))
            if v2:
                (path / "memory.swap.max").write_text("0")
        except OSError:
            try:
                path.rmdir()
            except OSError:
                pass
            return None
        return cls(path, v2, limit_bytes)

    def wrap(self, argv: list[str]) -> list[str]:
        """The command, entering the cgroup before it execs (so nothing it allocates escapes the limit)."""
        return ["sh", "-c", f'echo $$ > "{self.path / "cgroup.procs"}" && exec "$@"', "sh", *argv]

    def usage(self) -> int | None:
        try:
            return int((self.path / ("memory.current" if self.v2 else "memory.usage_in_bytes")).read_text())
        except (OSError, ValueError):
            return None

    def watch(self, pid: int, stop: threading.Event) -> None:
        """Kill the program (SIGKILL, its process group) once it has stayed at its limit THRASH_S seconds."""
        at_limit_since = None
        while not stop.wait(0.1):
            used = self.usage()
            if used is None:
                return
            if used >= 0.98 * self.limit_bytes:
                at_limit_since = at_limit_since or time.monotonic()
                if time.monotonic() - at_limit_since >= self.THRASH_S:
                    self.pinned_at_limit = True
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                    return
            else:
                at_limit_since = None

    def oom_kills(self) -> int:
        try:
            text = (self.path / ("memory.events" if self.v2 else "memory.oom_control")).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        if not self.v2 and "under_oom 1" in text:
            return 1
        return 0

    def remove(self) -> None:
        deadline = time.monotonic() + 2.0
        while self.path.exists() and time.monotonic() < deadline:
            try:
                self.path.rmdir()
            except OSError:
                time.sleep(0.02)


UNLIMITED = 1 << 62  # cgroup v1 writes "no limit" as a number near 2^63


def own_memory_cgroup(pid: int | str = "self") -> tuple[Path, bool] | None:
    """The memory cgroup directory a process is in (v1's memory hierarchy, else v2's unified one)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    v1 = Path("/sys/fs/cgroup/memory")
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if "memory" in controllers.split(",") and v1.is_dir():
            return v1 / rel.lstrip("/"), False
    for line in lines:
        if line.startswith("0::") and (Path("/sys/fs/cgroup") / "cgroup.controllers").exists():
            return Path("/sys/fs/cgroup") / line[3:].lstrip("/"), True
    return None


@dataclass(frozen=True)
class EnclosingLimit:
    path: Path
    limit_bytes: int
    usage_bytes: int

    @property
    def headroom_bytes(self) -> int:
        return max(0, self.limit_bytes - self.usage_bytes)


def enclosing_limits(pid: int | str = "self") -> list[EnclosingLimit]:
    """Every memory limit set on the way from this process's cgroup up to the root (usage counts the
    whole subtree: v1 with use_hierarchy, which kernels since 5.x always have, and v2)."""
    own = own_memory_cgroup(pid)
    if own is None:
        return []
    path, v2 = own
    root = Path("/sys/fs/cgroup") if v2 else Path("/sys/fs/cgroup/memory")
    out = []
    while True:
        limit, usage = _read_limit(path, v2)
        if limit is not None and usage is not None and limit < UNLIMITED:
            out.append(EnclosingLimit(path, limit, usage))
        if path == root or root not in path.parents:
            return out
        path = path.parent


def _read_limit(path: Path, v2: bool) -> tuple[int | None, int | None]:
    try:
        if v2:
            text = (path / "memory.max").read_text().strip()
            limit = None if text == "max" else int(text)
            return limit, int((path / "memory.current").read_text())
        return int((path / "memory.limit_in_bytes").read_text()), int((path / "memory.usage_in_bytes").read_text())
    except (OSError, ValueError):
        return None, None
