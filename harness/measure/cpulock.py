"""One harness per CPU set, on purpose: a host-wide lock on every CPU a run pins
(the workload's and the load generator's), taken before the first build or
trial, so that two runs (two terminals, two CI jobs on one self-hosted runner)
never measure each other. A run on overlapping CPUs is refused in one line
naming the other (pid, results file, since when), or waits (--wait-for-cpus);
runs on disjoint CPU sets proceed, each recording the other.

The locks are flock(2) locks on one file per CPU under /run/cbh-harness (or
the temporary directory): the kernel drops them when their process dies, by
SIGKILL too, so a killed harness never leaves a CPU locked. Beside each lock
file its holder writes who it is; a file whose lock is free is stale."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

_HELD: dict[int, int] = {}  # CPU -> the lock's fd, for this process (several sessions in one process share them)


def lock_dir() -> Path:
    for base in (Path("/run"), Path(tempfile.gettempdir())):
        d = base / "cbh-harness"
        try:
            d.mkdir(mode=0o777, exist_ok=True)
            probe = d / f".probe-{os.getpid()}"
            probe.touch()
            probe.unlink()
            return d
        except OSError:
            continue
    raise HarnessError("cannot make a lock directory in /run or the temporary directory: make one of them writable")


@dataclass
class CpuLocks:
    cpus: list[int]
    what: dict  # written beside each lock: pid, results file, since
    directory: Path = field(default_factory=lock_dir)
    _fds: list[int] = field(default_factory=list)

    def holder(self, cpu: int) -> dict | None:
        """Who holds the CPU's lock (None: nobody, or a stale note of a run that is gone)."""
        path = self.directory / f"cpu-{cpu}.lock"
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    return json.loads(path.with_suffix(".json").read_text())
                except (OSError, ValueError):
                    return {"pid": "?", "results": "?", "since": None}
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def try_take(self) -> dict | None:
        """Take every CPU's lock, or none: the first other holder met, when one holds a CPU."""
        taken: list[tuple[int, int]] = []
        for cpu in sorted(set(self.cpus)):
            if cpu in _HELD:
                continue
            fd = os.open(self.directory / f"cpu-{cpu}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                for _, other in taken:
                    os.close(other)
                return {**(self.holder(cpu) or {}), "cpu": cpu}
            taken.append((cpu, fd))
            note = self.directory / f"cpu-{cpu}.json"
            tmp = note.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps({**self.what, "cpu": cpu}))
            os.replace(tmp, note)
        _HELD.update(taken)
        self._fds = [fd for _, fd in taken]
        return None

    def take(self, wait: bool, log=None, poll_s: float = 1.0, timeout_s: float | None = None) -> None:
        """Take the locks, waiting for the other run when asked; else refuse in one line."""
        t0 = time.monotonic()
        said = False
        while True:
            other = self.try_take()
            if other is None:
                return
            since = other.get("since")
            when = time.strftime("%H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
            who = f"pid {other.get('pid')}, results {other.get('results')}, since {when}"
            if not wait:
                raise HarnessError(
                    f"CPU {other['cpu']} is pinned by another harness run ({who}): wait for it "
                    "(--wait-for-cpus), or give this run other CPUs (cpus.workload, cpus.loadgen)"
                )
            if not said and log:
                log(f"waiting for CPU {other['cpu']}: another harness run holds it ({who})")
                said = True
            if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                raise HarnessError(f"CPU {other['cpu']} still pinned by another harness run ({who})")
            time.sleep(poll_s)

    def others(self) -> list[dict]:
        """The other runs holding CPUs of this host right now (a disjoint run records them)."""
        mine = set(self.cpus)
        out = []
        for note in sorted(self.directory.glob("cpu-*.json")):
            try:
                cpu = int(note.stem.split("-")[1])
            except (IndexError, ValueError):
                continue
            if cpu in mine or cpu in _HELD:
                continue
            held = self.holder(cpu)
            if held:
                out.append(held)
        return out

    def release(self) -> None:
        for cpu, fd in list(_HELD.items()):
            if fd in self._fds:
                _HELD.pop(cpu)
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fds = []
