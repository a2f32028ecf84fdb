"""The regression gate: per benchmark and metric, all trials of a baseline
against all trials of a candidate. A regression needs both a statistically
significant difference (two-sided Mann-Whitney U, as asv and benchstat use)
and a change beyond the threshold in the metric's bad direction; each metric
says itself whether higher or lower is better. Reads only results files."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import bootstrap, mannwhitneyu

from harness.errors import HarnessError
from harness.record.model import MetricMeta, Results
from harness.record.units import fmt_value

REGRESSION, IMPROVEMENT, NO_CHANGE, INSUFFICIENT = "regression", "improvement", "no change", "insufficient data"


@dataclass
class Comparison:
    benchmark: str
    metric: str
    label: str
    unit: str
    better: str
    headline: bool
    n_baseline: int
    n_candidate: int
    baseline_median: float | None
    candidate_median: float | None
    change: float | None  # (candidate - baseline) / baseline
    ci_low: float | None  # 95% bootstrap CI of that relative change
    ci_high: float | None
    p_value: float | None
    verdict: str


def min_p_value(n: int, m: int) -> float:
    """The smallest two-sided p-value Mann-Whitney U can give with n and m
    samples: below alpha, a difference can never be called significant."""
    return 2.0 / comb(n + m, n) if n and m else 1.0


def _relative_change_ci(base: list[float], cand: list[float], seed: int = 12345) -> tuple[float | None, float | None]:
    mb = statistics.median(base)
    if mb == 0 or len(base) < 2 or len(cand) < 2:
        return None, None
    res = bootstrap(
        (np.asarray(cand), np.asarray(base)),
        lambda c, b, axis=-1: np.median(c, axis=axis) / np.median(b, axis=axis) - 1.0,
        n_resamples=2000,
        method="percentile",
        vectorized=True,
        paired=False,
        random_state=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare_metric(
    bench_id: str, key: str, meta: MetricMeta, base: list[float], cand: list[float], threshold: float, alpha: float
) -> Comparison:
    mb = statistics.median(base) if base else None
    mc = statistics.median(cand) if cand else None
    change = (mc - mb) / mb if mb not in (None, 0) and mc is not None else None
    common: dict[str, Any] = dict(
        benchmark=bench_id,
        metric=key,
        label=meta.label,
        unit=meta.unit,
        better=meta.better,
        headline=meta.headline,
        n_baseline=len(base),
        n_candidate=len(cand),
        baseline_median=mb,
        candidate_median=mc,
        change=change,
    )
    if min_p_value(len(base), len(cand)) >= alpha or change is None:
        return Comparison(**common, ci_low=None, ci_high=None, p_value=None, verdict=INSUFFICIENT)
    if len(set(base) | set(cand)) == 1:
        p = 1.0  # identical samples: no difference at all
    else:
        p = float(mannwhitneyu(cand, base, alternative="two-sided").pvalue)
    lo, hi = _relative_change_ci(base, cand)
    worse = change < -threshold if meta.better == "higher" else change > threshold
    better = change > threshold if meta.better == "higher" else change < -threshold
    verdict = NO_CHANGE
    if p < alpha and worse:
        verdict = REGRESSION
    elif p < alpha and better:
        verdict = IMPROVEMENT
    return Comparison(**common, ci_low=lo, ci_high=hi, p_value=p, verdict=verdict)


def comparability_problems(
    base: Results, cand: Results, ignore_params: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    """Why two results files must not be compared (empty: they may be)."""
    problems = []
    for side, doc in (("baseline", base), ("candidate", cand)):
        if doc.emulated:
            problems.append(f"the {side} ran under emulation ({doc.arch} on another architecture)")
    for what, get in (
        ("arch", lambda d: d.arch),
        ("CPU model", lambda d: d.host.get("cpu_model")),
        ("backend", lambda d: d.backend),
        ("workload CPU count (W)", lambda d: d.workers),
    ):
        if get(base) != get(cand):
            problems.append(f"{what} differs: baseline {get(base)!r}, candidate {get(cand)!r}")
    for b in base.benchmarks:
        c = cand.benchmark(b.id)
        if c is None:
            continue
        pb = {k: v for k, v in b.params.items() if f"{b.scenario}.{k}" not in ignore_params}
        pc = {k: v for k, v in c.params.items() if f"{c.scenario}.{k}" not in ignore_params}
        if pb != pc:
            diff = sorted(k for k in set(pb) | set(pc) if pb.get(k) != pc.get(k))
            problems.append(
                f"suite parameter {b.scenario}.{diff[0]} differs: baseline {pb.get(diff[0])!r}, "
                f"candidate {pc.get(diff[0])!r}"
            )
    return problems


def gate(
    base: Results,
    cand: Results,
    threshold: float = 0.05,
    alpha: float = 0.05,
    force: bool = False,
    all_metrics: bool = False,
    ignore_params: frozenset[str] | set[str] = frozenset(),
) -> list[Comparison]:
    problems = comparability_problems(base, cand, ignore_params)
    if problems and not force:
        raise HarnessError(f"results are not comparable: {problems[0]} (use --force to compare anyway)")
    out = []
    for b in base.benchmarks:
        c = cand.benchmark(b.id)
        if c is None:
            continue
        for key, meta in b.metrics.items():
            if not all_metrics and not meta.headline:
                continue
            out.append(compare_metric(b.id, key, meta, b.values(key), c.values(key), threshold, alpha))
    if not out:
        raise HarnessError("the two results files share no benchmark: nothing to compare")
    return out


def exit_code(comparisons: list[Comparison], strict: bool) -> int:
    if any(c.verdict == REGRESSION for c in comparisons):
        return 1
    if strict and any(c.verdict == INSUFFICIENT for c in comparisons):
        return 1
    return 0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def markdown(comparisons: list[Comparison], threshold: float, alpha: float) -> str:
    marks = {
        REGRESSION: "❌ regression",
        IMPROVEMENT: "✅ improvement",
        NO_CHANGE: "no change",
        INSUFFICIENT: "⚠️ insufficient data",
    }
    lines = [
        f"Regression gate: two-sided Mann-Whitney U at alpha {alpha}, threshold {100 * threshold:.1f}% in each "
        "metric's bad direction.",
        "",
        "| benchmark | metric | baseline | candidate | change | 95% CI of change | p | n | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        arrow = "↑" if c.better == "higher" else "↓"
        ci = "-" if c.ci_low is None else f"[{_pct(c.ci_low)}, {_pct(c.ci_high)}]"
        p = "-" if c.p_value is None else f"{c.p_value:.3g}"
        lines.append(
            f"| {c.benchmark} | {c.label} {arrow} | {fmt_value(c.baseline_median, c.unit)} | "
            f"{fmt_value(c.candidate_median, c.unit)} | {_pct(c.change)} | {ci} | {p} | "
            f"{c.n_baseline}+{c.n_candidate} | {marks[c.verdict]} |"
        )
    regressions = sum(c.verdict == REGRESSION for c in comparisons)
    lines += ["", f"**{regressions} regression(s)** in {len(comparisons)} comparisons."]
    return "\n".join(lines) + "\n"


def write_outputs(
    comparisons: list[Comparison], md: str, verdict_path: Path | None, code: int, threshold: float, alpha: float
) -> None:
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a") as f:
            f.write(md)
    if verdict_path:
        verdict_path.write_text(
            json.dumps(
                {
                    "exit_code": code,
                    "regression": code == 1,
                    "threshold": threshold,
                    "alpha": alpha,
                    "comparisons": [asdict(c) for c in comparisons],
                },
                indent=1,
            )
        )
