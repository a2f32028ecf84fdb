"""The CPU plan: which CPUs run the workload, the load generator and the
harness itself, validated against the CPUs this process may use.

W (the workers flag) always equals the number of CPUs pinned to the workload.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from harness.errors import HarnessError


def parse_cpu_list(text: str, key: str) -> list[int]:
    """'0-2,5' -> [0, 1, 2, 5]; 'all' -> every CPU this process may use."""
    text = text.strip()
    if text == "all":
        return sorted(os.sched_getaffinity(0))
    cpus: set[int] = set()
    try:
        for part in text.split(","):
            lo, sep, hi = part.strip().partition("-")
            a, b = int(lo), int(hi) if sep else int(lo)
            if a < 0 or b < a:
                raise ValueError
            cpus.update(range(a, b + 1))
    except ValueError:
        raise HarnessError(
            f'suite key cpus.{key} = {text!r} is not a CPU list: write e.g. "1", "0-1" or "0,2"'
        ) from None
    return sorted(cpus)


@dataclass(frozen=True)
class CpuPlan:
    workload: list[int]
    loadgen: list[int]
    harness: list[int]
    allowed: list[int]

    @property
    def workers(self) -> int:
        return len(self.workload)

    def warnings(self) -> list[str]:
        out = []
        if set(self.harness) & set(self.workload):
            out.append(
                f"the harness (and its sampler) shares CPUs {sorted(set(self.harness) & set(self.workload))} "
                "with the workload"
            )
        return out

    def to_json(self) -> dict:
        return {
            "workload": self.workload,
            "loadgen": self.loadgen,
            "harness": self.harness,
            "allowed": self.allowed,
            "workers": self.workers,
            "warnings": self.warnings(),
        }


def make_plan(cpus: dict[str, str], need_loadgen: bool, available: list[int] | None = None) -> CpuPlan:
    """`available`: the CPUs of a remote engine; by default the ones this process may use."""
    allowed = sorted(available if available is not None else os.sched_getaffinity(0))
    plan = {k: parse_cpu_list(cpus[k], k) for k in ("workload", "loadgen", "harness")}
    for key, listed in plan.items():
        outside = sorted(set(listed) - set(allowed))
        if outside:
            raise HarnessError(
                f"suite key cpus.{key} names CPU {outside[0]}, outside the CPUs this process may "
                f"use ({_fmt(allowed)}): pick CPUs from that set"
            )
        if not listed:
            raise HarnessError(f"suite key cpus.{key} is empty: name at least one CPU")
    if need_loadgen and set(plan["loadgen"]) & set(plan["workload"]):
        raise HarnessError(
            f"cpus.loadgen ({_fmt(plan['loadgen'])}) overlaps cpus.workload "
            f"({_fmt(plan['workload'])}): the load generator and the server must never share a CPU"
        )
    return CpuPlan(plan["workload"], plan["loadgen"], plan["harness"], allowed)


def _fmt(cpus: list[int]) -> str:
    return ",".join(map(str, cpus))


@contextlib.contextmanager
def pinned_children(cpus: list[int]):
    """Children started inside inherit `cpus`: the calling thread's affinity is
    set for the fork and restored after, so no preexec_fn (unsafe with threads)
    and no external taskset is needed."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
