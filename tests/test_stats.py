"""Precision planned from measured variance: the two levels recovered from synthetic data
with known variances, the planner's counts the cheapest that reach the target, the
two-level bootstrap's 95% interval covering the true ratio about 95% of the time, and a
real quick run whose precision target adds trials only to the benchmarks that miss it."""

import itertools
import json
import math

import numpy as np
import pytest

from harness.output import report
from harness.record.model import from_doc, validate
from harness.stats import ratios, variance
from tests.conftest import run_harness
from tests.fixtures import make_doc


def _two_level(rng, processes, rounds, cv_between, cv_within, mean=1000.0):
    return [
        list(mean * (1 + rng.normal(0, cv_between)) + mean * rng.normal(0, cv_within, rounds)) for _ in range(processes)
    ]


@pytest.mark.parametrize(("cv_between", "cv_within"), [(0.10, 0.02), (0.02, 0.10), (0.05, 0.05)])
def test_variance_components_recover_known_between_and_within(cv_between, cv_within):
    rng = np.random.default_rng(7)
    c = variance.components(_two_level(rng, 400, 8, cv_between, cv_within))
    assert c is not None and c.levels == 2
    assert math.sqrt(c.between) == pytest.approx(cv_between, rel=0.12)
    assert math.sqrt(c.within) == pytest.approx(cv_within, rel=0.05)
    # which level dominates the mean of a process's rounds
    assert c.dominant == ("between processes" if cv_between**2 >= cv_within**2 / 8 else "within a process")


def test_unbalanced_rounds_and_one_level():
    rng = np.random.default_rng(3)
    groups = [g[: 2 + i % 7] for i, g in enumerate(_two_level(rng, 300, 8, 0.08, 0.04))]
    c = variance.components(groups)
    assert c is not None and math.sqrt(c.between) == pytest.approx(0.08, rel=0.15)
    once = variance.components([[v] for v in 1000 * (1 + rng.normal(0, 0.05, 200))])
    assert once is not None and once.levels == 1 and once.dominant == "processes"
    assert math.sqrt(once.between) == pytest.approx(0.05, rel=0.15)
    assert variance.components([[1.0, 2.0]]) is None  # one process: no between level


def _brute_force(c, target, process_s, round_s):
    best = None
    for n, r in itertools.product(range(2, 400), range(1, 60)):
        if c.half_width(n, r) <= target:
            cost = n * (process_s + r * round_s)
            best = min(best or (cost, n, r), (cost, n, r))
    return best


@pytest.mark.parametrize(
    ("between", "within", "process_s", "round_s", "many_rounds"),
    [
        (0.0004, 0.04, 10.0, 0.1, True),  # noisy rounds, dear processes: many rounds in few processes
        (0.01, 0.0001, 0.5, 5.0, False),  # processes differ, rounds dear: one round each
        (0.0025, 0.0025, 2.0, 2.0, False),
    ],
)
def test_the_planner_picks_the_cheapest_counts_that_reach_the_target(between, within, process_s, round_s, many_rounds):
    c = variance.Components(processes=5, rounds=5, mean=1.0, between=between, within=within, levels=2)
    counts = variance.plan(c, 0.05, process_s, round_s)
    assert counts is not None and counts.half_width <= 0.05
    assert (counts.rounds >= 5) is many_rounds
    cost, _, _ = _brute_force(c, 0.05, process_s, round_s)
    assert counts.seconds <= cost * 1.05  # within 5% of the grid's optimum
    assert variance.plan(c, 1e-6, process_s, round_s, max_processes=50) is None  # unreachable: said


def _ratio_coverage(paired: bool, sims: int = 1000) -> float:
    """How often the 95% interval covers the true ratio (1.3) of two subjects, 8 processes x 5 rounds
    each, 8% between processes and 5% within, with a drift shared by round when paired."""
    rng = np.random.default_rng(11 if paired else 12)
    covered = 0
    for i in range(sims):
        drift = np.exp(rng.normal(0, 0.1, 8)) if paired else np.ones(8)

        def side(mu, drift=drift):
            return {k: list(mu * drift[k] * np.exp(rng.normal(0, 0.08) + rng.normal(0, 0.05, 5))) for k in range(8)}

        num, den = side(130.0), side(100.0)
        if not paired:
            den = {k + 100: v for k, v in den.items()}  # other rounds: processes resampled independently
        r = ratios.ratio(num, den, ("a", "b", "m"), resamples=1000, seed=i)
        assert r is not None and r.paired is paired
        covered += r.low <= 1.3 <= r.high
    return covered / sims


@pytest.mark.parametrize("paired", [True, False])
def test_the_two_level_bootstrap_covers_the_true_ratio_about_95_percent(paired):
    assert 0.93 <= _ratio_coverage(paired) <= 0.985


def _sweep_doc():
    doc = make_doc(scenarios=("spawn",), runtimes=("go", "rust"), trials=5)
    benches = []
    for n in (1000, 10000):
        for b in doc["benchmarks"]:
            pb = json.loads(json.dumps(b))
            pb["id"] = f"{b['id']}@tasks={n}"
            pb["point"] = {"spawn.tasks": n}
            benches.append(pb)
    doc["benchmarks"] = benches
    return doc


def test_the_report_says_where_the_variance_is_and_draws_sweep_ratios_as_curves():
    html = report.render_report([from_doc(validate(make_doc(), "x"))])
    assert 'id="variance"' in html and "between processes" in html and "for ±5%" in html
    sweep = report.render_report([from_doc(validate(_sweep_doc(), "x"))])
    assert "each ÷ go, against spawn.tasks (bands: two-level bootstrap 95% interval)" in sweep


def test_a_real_quick_run_adds_trials_only_where_the_target_is_missed(tmp_path, workloads):
    out = tmp_path / "p.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "live,spawn",
        "--runtimes",
        "go",
        "--trials",
        "3",
        "--set",
        "live.tasks=5000",
        "--set",
        "spawn.tasks=5000",
        # live's bytes per task is steady within a percent: 3 trials reach ±20%; spawn's tasks per
        # second cannot reach ±0.01% (nothing can): it gets trials until max_trials
        "--set",
        "precision.target_pct=0",
        "--set",
        "precision.metrics={bytes_per_task = 20, tasks_per_sec = 0.01}",
        "--set",
        "precision.max_trials=5",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    measured = {b["id"]: sum(not t["warmup"] and not t.get("excluded") for t in b["trials"]) for b in doc["benchmarks"]}
    assert measured["live/go"] == 3, measured  # reached with the suite's own trials
    assert measured["spawn/go"] == 5, measured  # missed: trials added until max_trials
    log = {e["scenario"]: e for e in doc["precision_log"]}
    assert log["live"]["rounds_added"] == 0 and log["spawn"]["rounds_added"] == 2
    assert log["spawn"]["stopped"] == "max trials"
    assert "reached by" in p.stdout and "spawn/go" in p.stdout


def test_the_precision_line_names_only_the_targets_the_suite_set():
    """Per-metric targets with no default target: the line lists them, never a target of ±0%."""
    from harness.output.summary import precision_lines

    doc = make_doc()
    doc["suite"]["precision"] = {"target_pct": 0, "metrics": {"tasks_per_sec": 5, "latency_p99_ns": 15}}
    (line, *_) = precision_lines(from_doc(validate(doc, "fixture")))
    assert "tasks_per_sec ±5%, latency_p99_ns ±15%)" in line and "±0%" not in line, line
    doc["suite"]["precision"] = {"target_pct": 5, "metrics": {"latency_p99_ns": 15}}
    (line, *_) = precision_lines(from_doc(validate(doc, "fixture")))
    assert "latency_p99_ns ±15%, ±5% for the others)" in line, line


def test_a_metric_the_suite_names_gets_a_precision_target_even_when_not_a_headline():
    """The default suite names server CPU per request at the stage (not a headline): its interval is planned
    like the headlines'; a metric neither headline nor named is left alone."""
    from types import SimpleNamespace

    from harness.stats import precision

    meta = {"tasks_per_sec": True, "stage_cpu_us_per_request": False, "send_lag_p50_ns": False}
    bench = SimpleNamespace(
        id="http/go",
        metrics={k: SimpleNamespace(headline=h) for k, h in meta.items()},
        incomparable=lambda key: False,
        values=lambda key: [100.0, 104.0, 98.0],
    )
    target = precision.Target(0, {"tasks_per_sec": 5, "stage_cpu_us_per_request": 5})
    assert {s.metric for s in precision.standings(bench, target)} == {"tasks_per_sec", "stage_cpu_us_per_request"}
