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


def t_quantile(q: float, df: float) -> float:
    """Student's t quantile; scipy is imported here, where it is used, so that every reader starts faster."""
    from scipy.stats import t

    return float(t.ppf(q, df))


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
        return t_quantile(0.5 + confidence / 2, processes - 1) * math.sqrt(var / processes)

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
    within the limits.

    Exact over the integers rather than the classic optimum r* = sqrt((c_process / c_round) *
    (s2_within / s2_between)), which ignores that few processes pay a wider t quantile: for each
    process count, the fewest rounds that reach the target, and the cheapest of those."""
    best: Counts | None = None
    for n in range(2, max_processes + 1):
        if best is not None and n * process_s >= best.seconds:
            break  # more processes only cost more from here on
        t = t_quantile(0.5 + confidence / 2, n - 1)
        room = n * (target / t) ** 2 - c.between  # what the within level may still add
        if c.levels == 1:
            r = 1 if room >= 0 else None
        elif room <= 0:
            r = None
        else:
            r = max(1, math.ceil(c.within / room - 1e-12)) if c.within > 0 else 1
        if r is None or r > max_rounds:
            continue
        cost = n * (process_s + r * round_s)
        if best is None or cost < best.seconds:
            best = Counts(n, r, cost, c.half_width(n, r, confidence))
    return best


def of_benchmark(bench, key: str) -> Components | None:
    """The metric's variance components over the benchmark's measured processes and their rounds."""
    return components([t.rounds_of(key) for t in bench.measured])


def costs(bench, key: str) -> tuple[float, float]:
    """(seconds a process costs beyond its rounds, seconds a round costs) from the benchmark's own
    trials: a round's cost is what the scenario recorded for it (its rounds' "seconds"), else zero
    and the whole trial is the process's cost."""
    walls = [t.wall_s or 0.0 for t in bench.measured]
    wall = statistics.median(walls) if walls else 0.0
    per_round = [v for t in bench.measured for v in t.rounds.get("seconds", [])]
    rounds = statistics.fmean(len(t.rounds_of(key)) for t in bench.measured) if bench.measured else 1
    round_s = statistics.median(per_round) if per_round else 0.0
    return max(0.0, wall - rounds * round_s), round_s


@dataclass(frozen=True)
class Row:
    """One headline metric of one benchmark: its variance by level, and what would reach a target."""

    benchmark: str
    metric: str  # the metric's label
    components: Components
    now: float  # the relative half-width with the counts that ran
    plan: Counts | None  # None: not within the planner's limits

    @property
    def cv_within_text(self) -> str:
        return f"{100 * self.components.within**0.5:.1f}%" if self.components.levels == 2 else "-"

    @property
    def now_text(self) -> str:
        c = self.components
        return f"{c.processes} × {c.rounds:.3g}, ±{100 * self.now:.1f}%"

    @property
    def plan_text(self) -> str:
        p = self.plan
        return f"{p.processes} × {p.rounds}, {p.seconds:,.0f} s" if p else "not within 1000 × 1000"


def rows(benches, target: float) -> list[Row]:
    """Every headline metric of these benchmarks with two or more processes, for the summary and the report."""
    out = []
    for b in benches:
        for key, meta in b.metrics.items():
            c = of_benchmark(b, key) if meta.headline else None
            if c is None:
                continue
            process_s, round_s = costs(b, key)
            out.append(
                Row(b.id, meta.label, c, c.half_width(c.processes, c.rounds), plan(c, target, process_s, round_s))
            )
    return out
