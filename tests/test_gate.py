"""The gate's statistics on synthetic samples, direction handling,
comparability refusals, exit codes and outputs, and the pyperf export."""

import json
import random
import subprocess
import sys

import pytest

from harness.errors import HarnessError
from harness.gate import compare as gate
from harness.gate import statistics as st
from harness.gate.methods.paired import session_of
from harness.record.model import MetricMeta, from_doc, validate
from tests.conftest import ROOT, run_cli, run_harness

HIGHER_META = {"label": "tasks per second", "unit": "tasks/s", "better": "higher", "headline": True}
LOWER_META = {"label": "peak RSS", "unit": "B", "better": "lower", "headline": True}
HIGHER, LOWER = MetricMeta("tasks per second", "tasks/s", "higher"), MetricMeta("peak RSS", "B", "lower")


def noisy(center, n, cv=0.02, seed=1):
    rng = random.Random(seed)
    return [center * (1 + rng.gauss(0, cv)) for _ in range(n)]


def verdict_of(base, cand, better="higher", paired=False, threshold=0.05, alpha=0.05):
    """One metric through the gate's statistics and decision rule."""
    est = (st.paired if paired else st.unpaired)(base, cand, 1 - alpha)
    meta = MetricMeta("m", "x", better)
    c = gate.Comparison.measured(
        "b", "m", meta, "paired" if paired else "unpaired", est, alpha, n_baseline=len(base), n_candidate=len(cand)
    )
    c.p_adjusted = est.p_value  # a family of one
    return gate.decide(c, threshold, alpha), c


def test_identical_samples_are_no_change():
    v, c = verdict_of([100.0] * 8, [100.0] * 8)
    assert v == gate.NO_CHANGE and c.p_value == 1.0
    v, c = verdict_of([100.0] * 8, [100.0] * 8, paired=True)
    assert v == gate.NO_CHANGE and c.change == 0


def test_twenty_percent_slower_is_a_regression_when_higher_is_better():
    v, c = verdict_of(noisy(100, 8), noisy(80, 8, seed=2))
    assert v == gate.REGRESSION and c.change == pytest.approx(-0.20, abs=0.03)
    assert c.ci_low < c.change < c.ci_high < -0.05  # the whole interval beyond the threshold


def test_direction_decides_regression_or_improvement():
    base, more = noisy(100, 10), noisy(120, 10, seed=3)
    assert verdict_of(base, more)[0] == gate.IMPROVEMENT
    assert verdict_of(base, more, better="lower")[0] == gate.REGRESSION
    assert verdict_of(more, base, better="lower")[0] == gate.IMPROVEMENT


def test_significant_but_within_the_threshold_is_no_change():
    v, c = verdict_of(noisy(100, 10, cv=0.002), noisy(98, 10, cv=0.002, seed=4))
    assert c.p_value < 0.05 and v == gate.NO_CHANGE


def test_a_change_whose_interval_straddles_the_threshold_is_undecided():
    # about 5% slower with 5% noise: more rounds would tell, these cannot
    v, c = verdict_of(noisy(100, 8, cv=0.05), noisy(93, 8, cv=0.05, seed=3))
    assert v == gate.UNDECIDED and c.ci_low < -0.05 < c.ci_high
    assert gate.exit_code([c.__class__(**{**c.__dict__, "verdict": v})], strict=False) == 0
    assert gate.exit_code([c.__class__(**{**c.__dict__, "verdict": v})], strict=True) == 1


def test_heavy_tailed_shift_is_still_caught():
    rng = random.Random(9)
    base = [100 + rng.paretovariate(1.5) for _ in range(12)]
    cand = [130 + rng.paretovariate(1.5) for _ in range(12)]
    assert verdict_of(base, cand, better="lower")[0] == gate.REGRESSION


def test_too_few_trials_is_insufficient_data():
    # Welch's t on the logs reaches any p from 2 + 2 trials (a rank test could not below 2/C(n+m, n));
    # one trial a side leaves nothing to estimate a spread from
    assert st.unpaired([1, 2], [4, 5], 0.95).min_p == 0 and st.unpaired([1] * 4, [2] * 4, 0.95).min_p < 0.05
    assert st.unpaired([1, 2, 3], [0, 5, 6], 0.95).min_p > 0.05  # a zero: the rank test, and its floor
    v, c = verdict_of([100], [50])
    assert v == gate.INSUFFICIENT
    c.verdict = v
    assert gate.exit_code([c], strict=False) == 1  # what could not be measured never passes
    assert st.paired([1.0, 1.1], [2.0, 2.1], 0.95).min_p > 0.05  # 2 pairs: no spread to test


def test_pairing_cancels_drift_that_an_unpaired_test_cannot_see_through():
    # the machine slows down round by round (drift of +-15%); the candidate is 8% slower in every round
    rng = random.Random(5)
    drift = [1 + 0.3 * (i / 11 - 0.5) for i in range(12)]
    base = [1000 * d * (1 + rng.gauss(0, 0.005)) for d in drift]
    cand = [920 * d * (1 + rng.gauss(0, 0.005)) for d in drift]
    unpaired_verdict, u = verdict_of(base, cand)
    paired_verdict, p = verdict_of(base, cand, paired=True)
    assert unpaired_verdict != gate.REGRESSION and u.p_value > 0.05  # lost in the drift
    assert paired_verdict == gate.REGRESSION and p.change == pytest.approx(-0.08, abs=0.01)
    assert p.ci_high - p.ci_low < 0.02  # the per-round ratios are tight


def test_holm_corrects_across_the_metrics_of_one_gate():
    assert st.holm([0.01, 0.04, 0.03, None]) == [0.03, 0.06, 0.06, None]
    assert st.holm([0.01], family_size=5) == [0.05]  # a look at part of the family
    assert st.holm([]) == []


def doc(values, **over):
    """A results file as a version-1 harness wrote it (readers migrate it)."""
    d = {
        "schema": "harness-results",
        "schema_version": 1,
        "status": "complete",
        "arch": "amd64",
        "backend": "native",
        "emulated": False,
        "host": {"cpu_model": "X", "emulated": False},
        "cpu_plan": {"workers": 1},
        "benchmarks": [
            {
                "id": "spawn/go",
                "scenario": "spawn",
                "runtime": "go",
                "params": {"tasks": 10, "work": 1},
                "metrics": {"tasks_per_sec": HIGHER_META, "aux": {**LOWER_META, "headline": False}},
                "trials": [{"ok": True, "warmup": False, "metrics": {"tasks_per_sec": v, "aux": 1}} for v in values],
            }
        ],
    }
    for k, v in over.items():
        d[k] = v
    return d


def res(values, **over):
    return from_doc(validate(doc(values, **over), "test"))


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"arch": "arm64"}, "arch differs"),
        ({"emulated": True}, "emulation"),
        ({"backend": "docker"}, "backend differs"),
        ({"host": {"cpu_model": "Y", "emulated": False}}, "CPU model differs"),
    ],
)
def test_incomparable_results_are_refused(change, needle):
    with pytest.raises(HarnessError, match=needle):
        gate.gate(res([1] * 5), res([1] * 5, **change))
    assert gate.gate(res([1] * 5), res([1] * 5, **change), gate.Options(force=True))


def test_different_suite_parameters_are_refused():
    cand = doc([1] * 5)
    cand["benchmarks"][0]["params"]["work"] = 2
    cand = from_doc(validate(cand, "test"))
    with pytest.raises(HarnessError, match="spawn.work differs"):
        gate.gate(res([1] * 5), cand)
    assert gate.gate(res([1] * 5), cand, gate.Options(ignore_params=frozenset({"spawn.work"})))


def test_headline_only_unless_all_metrics():
    assert [c.metric for c in gate.gate(res([1] * 5), res([1] * 5))] == ["tasks_per_sec"]
    assert len(gate.gate(res([1] * 5), res([1] * 5), gate.Options(all_metrics=True))) == 2


def test_cli_exit_codes_markdown_summary_and_verdict(tmp_path):
    base, slow, same = tmp_path / "b.json", tmp_path / "s.json", tmp_path / "a.json"
    base.write_text(json.dumps(doc(noisy(1000, 6))))
    slow.write_text(json.dumps(doc(noisy(700, 6, seed=5))))
    same.write_text(json.dumps(doc(noisy(1000, 6, seed=6))))
    summary = tmp_path / "summary.md"
    verdict = tmp_path / "verdict.json"
    p = run_harness(
        "gate",
        "--baseline",
        str(base),
        "--candidate",
        str(slow),
        "--verdict",
        str(verdict),
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert p.returncode == 1, p.stderr
    assert "| spawn/go | tasks per second ↑ |" in p.stdout and "regression" in p.stdout
    assert "regression" in summary.read_text()
    v = json.loads(verdict.read_text())
    assert v["regression"] and v["comparisons"][0]["verdict"] == "regression"
    assert run_cli("gate", "--baseline", str(base), "--candidate", str(same)).returncode == 0
    other = tmp_path / "o.json"
    other.write_text(json.dumps(doc(noisy(1000, 6), arch="arm64")))
    p = run_cli("gate", "--baseline", str(base), "--candidate", str(other))
    assert p.returncode == 2 and "arch differs" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("gate", "--baseline", str(base), "--candidate", str(tmp_path / "missing.json"))
    assert p.returncode == 2 and "does not exist" in p.stderr


def test_pyperf_export_is_read_by_pyperf(tmp_path):
    src = tmp_path / "r.json"
    src.write_text(json.dumps(doc(noisy(1000, 6))))
    out = tmp_path / "pyperf.json"
    p = run_cli("export", str(src), "--pyperf", str(out))
    assert p.returncode == 0, p.stderr
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(out)], capture_output=True, text=True)
    assert stats.returncode == 0 and "Total number of values: 6" in stats.stdout, stats.stdout + stats.stderr
    cmp = subprocess.run(
        [sys.executable, "-m", "pyperf", "compare_to", str(out), str(out)], capture_output=True, text=True, cwd=ROOT
    )
    assert cmp.returncode == 0, cmp.stderr


def _ab_pair(base_values, cand_values, cand_trials=None, session="s1"):
    """The two files of one harness ab session (trials pair by round)."""
    b, c = doc(base_values), doc(cand_values)
    for d, side in ((b, "base"), (c, "candidate")):
        d["ab"] = {"session": session, "side": side}
        for i, t in enumerate(d["benchmarks"][0]["trials"]):
            t["round"] = i
    if cand_trials is not None:
        c["benchmarks"][0]["trials"] = cand_trials
    return from_doc(validate(b, "b")), from_doc(validate(c, "c"))


def test_a_candidate_whose_trials_all_failed_is_a_regression():
    crashed = [
        {"ok": False, "warmup": False, "round": i, "error": "exited with code 139 (exit code 139)"} for i in range(6)
    ]
    base, cand = _ab_pair(noisy(1000, 6), [], cand_trials=crashed)
    (c,) = gate.gate(base, cand)
    assert c.verdict == gate.REGRESSION and "139" in c.reason.text
    assert gate.exit_code([c], strict=False) == 1


def test_a_missing_benchmark_fails_unless_allowed():
    base, cand = res(noisy(1000, 6)), res(noisy(1000, 6))
    cand.benchmarks.clear()
    (c,) = gate.gate(base, cand)
    assert c.verdict == gate.MISSING and gate.exit_code([c], strict=False) == 1
    (c,) = gate.gate(base, cand, gate.Options(allow_missing=True))
    assert gate.exit_code([c], strict=False, allow_missing=True) == 0


def test_files_of_one_ab_session_are_paired_and_others_are_not():
    base, cand = _ab_pair(noisy(1000, 8), noisy(1000, 8, seed=2))
    assert session_of(base, cand) == "s1" and gate.gate(base, cand)[0].method == "paired"
    other_b, other_c = _ab_pair(noisy(1000, 8), noisy(1000, 8), session="s2")
    assert session_of(base, other_c) is None and gate.gate(base, other_c)[0].method == "unpaired"


def test_an_overloaded_candidate_is_a_regression_and_an_overloaded_baseline_is_not_comparable():
    from tests.fixtures import make_results

    ok, over = make_results(scenarios=("http",)), make_results(scenarios=("http",), overloaded=("http/go",), seed=3)
    p99 = next(c for c in gate.gate(ok, over) if c.benchmark == "http/go" and c.metric == "latency_p99_ns")
    assert p99.verdict == gate.REGRESSION and "overloaded" in p99.reason.text
    p99 = next(c for c in gate.gate(over, ok) if c.benchmark == "http/go" and c.metric == "latency_p99_ns")
    assert p99.verdict == gate.UNDECIDED and "not comparable" in p99.reason.text


def test_cli_fails_a_crashed_candidate_and_names_an_incomplete_run(tmp_path):
    b = doc(noisy(1000, 6))
    c = doc([])
    c["status"] = "failed"
    c["benchmarks"][0]["trials"] = [{"ok": False, "warmup": False, "error": "exited with code 139"}] * 6
    (tmp_path / "b.json").write_text(json.dumps(b))
    (tmp_path / "c.json").write_text(json.dumps(c))
    p = run_cli("gate", "--baseline", str(tmp_path / "b.json"), "--candidate", str(tmp_path / "c.json"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "candidate failed" in p.stdout and "candidate run's status is `failed`" in p.stdout
    assert "unpaired" in p.stdout  # two separate files: said so


def test_a_metric_neither_side_measured_is_no_question_but_one_side_alone_is():
    from tests.fixtures import make_doc

    base, cand = make_doc(scenarios=("spawn",)), make_doc(scenarios=("spawn",), seed=2)
    for doc in (base, cand):  # e.g. a clean build a suite did not ask for
        for b in doc["benchmarks"]:
            for t in b["trials"]:
                (t.get("metrics") or {}).pop("peak_rss_bytes", None)
    b, c = (from_doc(validate(d, "fixture")) for d in (base, cand))
    rows = gate.gate(b, c)
    assert rows and not any(r.metric == "peak_rss_bytes" for r in rows)
    for t in base["benchmarks"][0]["trials"]:  # measured by the baseline only: the candidate lost it
        t["metrics"]["peak_rss_bytes"] = 1e6
    rows = gate.gate(from_doc(validate(base, "fixture")), c)
    lost = [r for r in rows if r.metric == "peak_rss_bytes"]
    assert lost and all(r.verdict != gate.NO_CHANGE for r in lost)
