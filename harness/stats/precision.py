"""Precision as a suite setting: is each headline (or named) metric's interval within its
target? The interval is the 95% t-interval of the mean over processes, each
process's value being its trial's metric (the median of its rounds, where it
has rounds): the two levels of variance are both in it, and it narrows as
processes are added, which is what the session can add while it runs."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from harness.stats.variance import t_quantile


def half_width(values: list[float], confidence: float = 0.95) -> float:
    """The relative half-width of the t-interval of the mean (inf with fewer than two values)."""
    if len(values) < 2:
        return math.inf
    mean = statistics.fmean(values)
    if mean == 0:
        return math.inf
    sd = statistics.stdev(values)
    return t_quantile(0.5 + confidence / 2, len(values) - 1) * sd / math.sqrt(len(values)) / abs(mean)


@dataclass(frozen=True)
class Target:
    default_pct: float  # 0: no target
    per_metric: dict[str, float]

    def of(self, metric: str) -> float:
        """The target of one metric, as a fraction (0: none)."""
        return self.per_metric.get(metric, self.default_pct) / 100

    @classmethod
    def of_suite(cls, section: dict) -> Target:
        return cls(
            float(section.get("target_pct") or 0), {k: float(v) for k, v in (section.get("metrics") or {}).items()}
        )


@dataclass(frozen=True)
class Standing:
    benchmark: str
    metric: str
    half_width: float  # relative
    target: float  # relative

    @property
    def reached(self) -> bool:
        return self.half_width <= self.target


def standings(bench, target: Target) -> list[Standing]:
    """Every headline metric with a target, and every metric the suite names, where it stands (metrics
    measured under other conditions than asked, such as an overloaded stage, have no honest interval:
    left out)."""
    out = []
    for key, meta in bench.metrics.items():
        t = target.of(key)
        named = key in target.per_metric
        if not (meta.headline or named) or t <= 0 or bench.incomparable(key):
            continue
        values = bench.values(key)
        if values:
            out.append(Standing(bench.id, key, half_width(values), t))
    return out
