"""Variance by level (Kalibera & Jones, "Rigorous Benchmarking in Reasonable
Time", ISMM 2013): a headline metric measured in n processes (trials) with r_i
rounds inside process i (spawn's rounds, http's saturate windows; one where a
process measures once) has a variance between processes (start-up, heap
layout, JIT decisions, where collections land) and one between rounds inside a
process. Both are estimated with the one-way random-effects ANOVA's method of
moments (unbalanced: Searle's r0), relative to the grand mean; with the cost of
a process and of a round, the counts that reach a target interval width in the
least wall time follow (the classic two-stage optimum: rounds per process
r* = sqrt((c_process / c_round) * (s2_within / s2_between)))."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from scipy.stats import t as student_t


@dataclass(frozen=True)
class Components:
    processes: int
    rounds: float  # mean rounds per process
    mean: float
    between: float  # variance between processes, relative to the mean squared (a CV^2)
    within: float  # variance between rounds inside a process, relative
    levels: int  # 1 when every process measured once (the within level cannot be seen)

    @property
    def dominant(self) -> str:
        if self.levels == 1:
            return "processes"  # each measures once: the within level cannot be seen
        return "between processes" if self.between >= self.within / max(self.rounds, 1.0) else "within a process"

    def half_width(self, processes: int, rounds: float, confidence: float = 0.95) -> float:
        """The relative half-width of the confidence interval of the mean with these counts."""
        if processes < 2:
            return math.inf
        var = self.between + self.within / max(rounds, 1.0)
        return float(student_t.ppf(0.5 + confidence / 2, processes - 1)) * math.sqrt(var / processes)

    def to_json(self) -> dict:
        return {
            "processes": self.processes,
            "rounds": round(self.rounds, 2),
            "cv_between": math.sqrt(self.between),
            "cv_within": math.sqrt(self.within),
            "dominant": self.dominant,
            "half_width_pct": 100 * self.half_width(self.processes, self.rounds),
        }


def components(groups: list[list[float]]) -> Components | None:
    """Groups: per process, its rounds' values. None with fewer than two processes."""
    groups = [[float(v) for v in g] for g in groups if g]
    n = len(groups)
    if n < 2:
        return None
    total = sum(len(g) for g in groups)
    grand = statistics.fmean(v for g in groups for v in g)
    if grand == 0:
        return None
    means = [statistics.fmean(g) for g in groups]
    ss_within = sum((v - m) ** 2 for g, m in zip(groups, means, strict=True) for v in g)
    ss_between = sum(len(g) * (m - grand) ** 2 for g, m in zip(groups, means, strict=True))
    levels = 2 if total > n else 1
    ms_within = ss_within / (total - n) if total > n else 0.0
    ms_between = ss_between / (n - 1)
    r0 = (total - sum(len(g) ** 2 for g in groups) / total) / (n - 1)  # Searle: the unbalanced design's r
    between = max(0.0, (ms_between - ms_within) / r0) if levels == 2 else ms_between
    return Components(n, total / n, grand, between / grand**2, ms_within / grand**2, levels)


@dataclass(frozen=True)
class Counts:
    processes: int
    rounds: int
    seconds: float  # the wall time they would take
    half_width: float


def plan(
    c: Components,
    target: float,
    process_s: float,
    round_s: float,
    confidence: float = 0.95,
    max_rounds: int = 1000,
    max_processes: int = 1000,
) -> Counts | None:
    """The processes x rounds whose interval half-width is within `target` (relative) in the least
    wall time, given what a process costs beyond its rounds (start-up, warm-up) and what a round
    costs. With one level (a process measures once) only processes can be added. None: unreachable
    within the limits."""
    if c.levels == 1:
        candidates = [1]
    else:
        ideal = math.sqrt((process_s / max(round_s, 1e-9)) * (c.within / c.between)) if c.between > 0 else max_rounds
        candidates = sorted(
            {max(1, min(max_rounds, r)) for r in (math.floor(ideal), math.ceil(ideal), 1, round(c.rounds))}
        )
    best: Counts | None = None
    for r in candidates:
        for n in range(2, max_processes + 1):
            hw = c.half_width(n, r, confidence)
            if hw <= target:
                cost = n * (process_s + r * round_s)
                if best is None or cost < best.seconds:
                    best = Counts(n, r, cost, hw)
                break
    return best


def of_benchmark(bench, key: str) -> Components | None:
    """The metric's variance components over the benchmark's measured processes and their rounds."""
    return components([t.rounds_of(key) for t in bench.measured])


def costs(bench, key: str) -> tuple[float, float]:
    """(seconds a process costs beyond its rounds, seconds a round costs) from the benchmark's own
    trials: a round's cost is what the scenario recorded for it (its rounds' "seconds"), else zero
    and the whole trial is the process's cost."""
    walls = [t.raw.get("wall_s") or 0.0 for t in bench.measured]
    wall = statistics.median(walls) if walls else 0.0
    per_round = [v for t in bench.measured for v in (t.raw.get("rounds") or {}).get("seconds", [])]
    rounds = statistics.fmean(len(t.rounds_of(key)) for t in bench.measured) if bench.measured else 1
    round_s = statistics.median(per_round) if per_round else 0.0
    return max(0.0, wall - rounds * round_s), round_s
