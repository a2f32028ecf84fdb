"""A container's memory cgroup, read from the host (local engines): usage,
high-water mark and the socket buffers' share, in the sampler's own tick."""

from __future__ import annotations

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
