"""Summaries of trials: median with a distribution-free 95% confidence
interval (order statistics of the binomial, as benchstat does), min, max and
coefficient of variation. Pure functions of the results file's trials."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def _half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly (scipy's binom would cost every reader a second to import)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def median_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """The narrowest order-statistic interval [x(lo), x(hi)] around the median
    whose coverage is at least `confidence`; with too few values for that, the
    full range, with the coverage it really has."""
    xs = sorted(values)
    n = len(xs)
    if n == 1:
        return xs[0], xs[0], 0.0
    best = (xs[0], xs[-1], 1.0 - 2 * _half_cdf(0, n))
    for lo in range(0, n // 2 + 1):
        hi = n - 1 - lo
        if hi <= lo:
            break
        coverage = _half_cdf(hi, n) - _half_cdf(lo, n)
        if coverage >= confidence:
            best = (xs[lo], xs[hi], coverage)
        else:
            break
    return best


def summarise(values: list[float]) -> dict:
    values = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(values)
    if n == 0:
        return {"n": 0}
    lo, hi, coverage = median_ci(values)
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if n >= 2 and mean != 0 else None
    return {
        "n": n,
        "median": statistics.median(values),
        "ci_low": lo,
        "ci_high": hi,
        "ci_coverage": round(coverage, 4),
        "min": min(values),
        "max": max(values),
        "mean": mean,
        "cv": round(cv, 5) if cv is not None else None,
    }


def measured_trials(benchmark: dict) -> list[dict]:
    """The trials every summary, report and gate counts: successful, not warm-up,
    not excluded (a noisy trial that was repeated)."""
    return [t for t in benchmark.get("trials", []) if t.get("ok") and not t.get("warmup") and not t.get("excluded")]


def summarise_benchmark(benchmark: dict) -> dict:
    """Per metric of one benchmark: the summary over its measured trials."""
    measured = measured_trials(benchmark)
    keys: list[str] = []
    for t in measured:
        for k in t.get("metrics", {}):
            if k not in keys:
                keys.append(k)
    return {k: summarise([t["metrics"][k] for t in measured if t["metrics"].get(k) is not None]) for k in keys}
