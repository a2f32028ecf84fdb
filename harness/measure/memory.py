"""The memory guard: before a run (and before each trial, with what the run has
learnt), what a trial needs against what this host or engine has. A benchmark
that would not fit is refused in one line with the estimate and a size that
fits (unless --force), instead of handing the kernel's OOM killer the choice of
victim (the harness, sshd, a CI runner)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.record.units import fmt_value


@dataclass(frozen=True)
class Need:
    bytes: float
    units: int
    key: str  # the suite key of the size (live.tasks)
    per_unit: float
    base: float
    learnt: bool  # from this run's own trials, else the runtime's prior
    beside_per_unit: float = 0.0  # the instrument's share on the same host (the load generator's sockets)

    def fits(self, available: float) -> bool:
        return self.bytes <= available

    def advice(self, available: float) -> str:
        each = self.per_unit + self.beside_per_unit
        most = int(max(0.0, available - self.base) / each) if each else 0
        return f"{self.key} at most {most:,}" if most else f"more memory than this host has ({self.key})"

    def describe(self, subject: str, scenario: str, available: float) -> str:
        how = "from this run's earlier trials" if self.learnt else "the harness's estimate for this runtime"
        return (
            f"{scenario}/{subject} at {self.key}={self.units:,} needs about {fmt_value(self.bytes, 'B')} "
            f"({fmt_value(self.per_unit, 'B')} per unit, {how}"
            + (
                f", and {fmt_value(self.beside_per_unit, 'B')} per unit for the instrument"
                if self.beside_per_unit
                else ""
            )
            + f"), {fmt_value(available, 'B')} are available"
        )


def need(scenario, runtime, params: dict, learnt: list[float] | None = None) -> Need | None:
    """What one trial of `scenario` for `runtime` (a Runtime descriptor) needs, or None where the
    scenario's memory does not grow with a size of its own."""
    units = scenario.memory_units(params)
    prior = runtime.memory_per_unit.get(scenario.name)
    if units is None or (prior is None and not learnt):
        return None
    count, key = units
    per_unit = max(learnt) if learnt else float(prior)
    beside = scenario.instrument_bytes_per_unit(params)
    total = runtime.memory_base + count * (per_unit + beside)
    return Need(total, count, key, per_unit, float(runtime.memory_base), bool(learnt), beside)


def available_bytes(limit_bytes: int = 0) -> float:
    """What a trial may take here: the host's available memory, no more than the headroom of the
    smallest memory limit around this harness (a CI job's container, a systemd slice), and no more
    than its own limit."""
    import psutil

    from harness.measure.cgroup import enclosing_limits

    free = float(psutil.virtual_memory().available)
    for enclosing in enclosing_limits():
        free = min(free, float(enclosing.headroom_bytes))
    return min(free, float(limit_bytes)) if limit_bytes else free


def total_bytes() -> int:
    """This harness's memory: the host's, or the smallest limit set on a cgroup around it."""
    import psutil

    from harness.measure.cgroup import enclosing_limits

    return min([psutil.virtual_memory().total, *(e.limit_bytes for e in enclosing_limits())])
