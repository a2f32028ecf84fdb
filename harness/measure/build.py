"""One trial of the build scenario: a subject's real build commands, timed from
outside like a workload, pinned to the trial's CPUs.

A clean build runs in a fresh copy of the sources with empty build caches of
its own (the runtime's descriptor says which: Go's GOCACHE, cargo's target
directory, Maven's target/), dependencies already downloaded (crates, jars:
the measured build compiles, it does not fetch). An incremental build then
changes one line of one source file (a comment appended: Go's cache is keyed
by content, so touching the time alone would rebuild nothing) and builds
again. Each build's wall time, and the CPU time of every process it ran (the
kernel's account of the children the harness waited for), and the bytes of
what it made."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

from harness.errors import TrialError
from harness.measure.cpuplan import pinned_children
from harness.record.trial import TrialRecord


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(steps, tree: Path, out: Path, source: Path, env: dict[str, str], cpus: list[int], deadline: float) -> dict:
    """Run the build steps once (the steps' own cwd mapped into `tree`); wall and CPU seconds."""
    cpu0, t0 = _children_cpu_s(), time.monotonic()
    for step in steps:
        cwd = tree if step.cwd == source else step.cwd
        try:
            with pinned_children(cpus):
                proc = subprocess.run(
                    step.argv,
                    cwd=cwd,
                    env={**os.environ, **step.env, **env},
                    capture_output=True,
                    text=True,
                    timeout=max(1.0, deadline - time.monotonic()),
                )
        except subprocess.TimeoutExpired:
            raise TrialError("the build timed out (trials.timeout_s)") from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise TrialError(f"{' '.join(step.argv[:3])} ... exited {proc.returncode}: {tail[0]}")
    return {"wall_s": time.monotonic() - t0, "cpu_s": _children_cpu_s() - cpu0}


def change_one_line(path: Path, n: int) -> None:
    """An incremental build's one change: a comment appended (every workload's language writes // comments)."""
    with path.open("a") as f:
        f.write(f"// incremental build {n}\n")


def build_trial(
    rt, tc, cpus: list[int], scratch: Path, clean: bool, incremental: bool, timeout_s: float
) -> TrialRecord:
    """A trial's record: the clean and the incremental build's times, and what the build made."""
    deadline = time.monotonic() + timeout_s
    record = TrialRecord(ok=False, started_at=time.time())
    t0 = time.monotonic()
    tree, out = scratch / "tree", scratch / "out"
    fresh = clean or not (scratch / ".warm").exists()
    try:
        if fresh:
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(rt.source, tree, ignore=shutil.ignore_patterns("target", "build", ".gocache"))
        out.mkdir(parents=True, exist_ok=True)
        env = rt.clean_caches(tree)  # caches inside the copy: empty when it is fresh, warm after
        steps = rt.build_steps(tc, out, rt.source)
        metrics: dict = {}
        first = timed(steps, tree, out, rt.source, env, cpus, deadline)
        if clean:
            metrics.update(clean_build_s=first["wall_s"], clean_build_cpu_s=first["cpu_s"])
        (scratch / ".warm").touch()
        if incremental:
            changed = tree / rt.incremental_file
            n = sum(1 for line in changed.read_text().splitlines() if line.startswith("// incremental build"))
            change_one_line(changed, n + 1)
            again = timed(steps, tree, out, rt.source, env, cpus, deadline)
            metrics.update(incremental_build_s=again["wall_s"], incremental_build_cpu_s=again["cpu_s"])
        rt.copy_artifacts(out, tree)
        record.footprint = rt.footprint(out, tc)
        record.metrics = metrics
        record.observations = {
            "steps": [s.argv for s in steps],
            "flags": rt.build_flags,
            "fresh_tree": fresh,
            "incremental_file": rt.incremental_file,
        }
        record.ok = True
    except TrialError as e:
        record.error = str(e)
    except OSError as e:
        record.error = f"build: {e}"
    finally:
        if clean:
            shutil.rmtree(scratch, ignore_errors=True)  # a clean trial's copy is never reused
    record.wall_s = round(time.monotonic() - t0, 4)
    return record
