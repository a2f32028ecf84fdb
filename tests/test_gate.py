"""The gate's statistics on synthetic samples, direction handling,
comparability refusals, exit codes and outputs, and the pyperf export."""

import json
import random
import subprocess
import sys

import pytest

from harness.errors import HarnessError
from harness.gate import compare as gate
from harness.record.model import MetricMeta, from_doc, validate
from tests.conftest import ROOT, run_harness

HIGHER_META = {"label": "tasks per second", "unit": "tasks/s", "better": "higher", "headline": True}
LOWER_META = {"label": "peak RSS", "unit": "B", "better": "lower", "headline": True}
HIGHER, LOWER = MetricMeta(**HIGHER_META), MetricMeta(**LOWER_META)


def noisy(center, n, cv=0.02, seed=1):
    rng = random.Random(seed)
    return [center * (1 + rng.gauss(0, cv)) for _ in range(n)]


def test_identical_samples_are_no_change():
    c = gate.compare_metric("spawn/go", "m", HIGHER, [100.0] * 8, [100.0] * 8, 0.05, 0.05)
    assert c.verdict == gate.NO_CHANGE and c.p_value == 1.0


def test_ten_percent_slower_is_a_regression_when_higher_is_better():
    c = gate.compare_metric("spawn/go", "m", HIGHER, noisy(100, 8), noisy(90, 8, seed=2), 0.05, 0.05)
    assert c.verdict == gate.REGRESSION and c.change == pytest.approx(-0.10, abs=0.03)
    assert c.ci_low < c.change < c.ci_high


def test_direction_decides_regression_or_improvement():
    base, more = noisy(100, 8), noisy(110, 8, seed=3)
    assert gate.compare_metric("b", "m", HIGHER, base, more, 0.05, 0.05).verdict == gate.IMPROVEMENT
    assert gate.compare_metric("b", "m", LOWER, base, more, 0.05, 0.05).verdict == gate.REGRESSION
    assert gate.compare_metric("b", "m", LOWER, more, base, 0.05, 0.05).verdict == gate.IMPROVEMENT


def test_significant_but_below_threshold_is_no_change():
    c = gate.compare_metric("b", "m", HIGHER, noisy(100, 10, cv=0.002), noisy(98, 10, cv=0.002, seed=4), 0.05, 0.05)
    assert c.p_value < 0.05 and c.verdict == gate.NO_CHANGE


def test_large_but_not_significant_is_no_change():
    # heavy-tailed: one wild outlier on each side, no consistent shift
    base = [100, 101, 99, 100, 300]
    cand = [60, 100, 101, 99, 100]
    c = gate.compare_metric("b", "m", HIGHER, base, cand, 0.05, 0.05)
    assert c.verdict == gate.NO_CHANGE


def test_heavy_tailed_shift_is_still_caught():
    rng = random.Random(9)
    base = [100 + rng.paretovariate(1.5) for _ in range(12)]
    cand = [130 + rng.paretovariate(1.5) for _ in range(12)]
    assert gate.compare_metric("b", "m", LOWER, base, cand, 0.05, 0.05).verdict == gate.REGRESSION


def test_too_few_trials_is_insufficient_data():
    assert gate.min_p_value(3, 3) > 0.05 and gate.min_p_value(4, 4) < 0.05
    c = gate.compare_metric("b", "m", HIGHER, [100, 101, 99], [50, 51, 49], 0.05, 0.05)
    assert c.verdict == gate.INSUFFICIENT
    assert gate.exit_code([c], strict=False) == 0 and gate.exit_code([c], strict=True) == 1


def doc(values, **over):
    """A results file as a version-1 harness wrote it (readers migrate it)."""
    d = {"schema": "harness-results", "schema_version": 1, "status": "complete", "arch": "amd64", "backend": "native",
         "emulated": False, "host": {"cpu_model": "X", "emulated": False}, "cpu_plan": {"workers": 1},
         "benchmarks": [{"id": "spawn/go", "scenario": "spawn", "runtime": "go", "params": {"tasks": 10, "work": 1},
                         "metrics": {"tasks_per_sec": HIGHER_META, "aux": {**LOWER_META, "headline": False}},
                         "trials": [{"ok": True, "warmup": False, "metrics": {"tasks_per_sec": v, "aux": 1}}
                                    for v in values]}]}
    for k, v in over.items():
        d[k] = v
    return d


def res(values, **over):
    return from_doc(validate(doc(values, **over), "test"))


@pytest.mark.parametrize("change, needle", [
    ({"arch": "arm64"}, "arch differs"),
    ({"emulated": True}, "emulation"),
    ({"backend": "docker"}, "backend differs"),
    ({"host": {"cpu_model": "Y", "emulated": False}}, "CPU model differs"),
])
def test_incomparable_results_are_refused(change, needle):
    with pytest.raises(HarnessError, match=needle):
        gate.gate(res([1] * 5), res([1] * 5, **change))
    assert gate.gate(res([1] * 5), res([1] * 5, **change), force=True)


def test_different_suite_parameters_are_refused():
    cand = doc([1] * 5)
    cand["benchmarks"][0]["params"]["work"] = 2
    cand = from_doc(validate(cand, "test"))
    with pytest.raises(HarnessError, match="spawn.work differs"):
        gate.gate(res([1] * 5), cand)
    assert gate.gate(res([1] * 5), cand, ignore_params={"spawn.work"})


def test_headline_only_unless_all_metrics():
    assert [c.metric for c in gate.gate(res([1] * 5), res([1] * 5))] == ["tasks_per_sec"]
    assert len(gate.gate(res([1] * 5), res([1] * 5), all_metrics=True)) == 2


def test_cli_exit_codes_markdown_summary_and_verdict(tmp_path):
    base, slow, same = tmp_path / "b.json", tmp_path / "s.json", tmp_path / "a.json"
    base.write_text(json.dumps(doc(noisy(1000, 6))))
    slow.write_text(json.dumps(doc(noisy(800, 6, seed=5))))
    same.write_text(json.dumps(doc(noisy(1000, 6, seed=6))))
    summary = tmp_path / "summary.md"
    verdict = tmp_path / "verdict.json"
    p = run_harness("gate", "--baseline", str(base), "--candidate", str(slow), "--verdict", str(verdict),
                    env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert p.returncode == 1, p.stderr
    assert "| spawn/go | tasks per second ↑ |" in p.stdout and "regression" in p.stdout
    assert "regression" in summary.read_text()
    v = json.loads(verdict.read_text())
    assert v["regression"] and v["comparisons"][0]["verdict"] == "regression"
    assert run_harness("gate", "--baseline", str(base), "--candidate", str(same)).returncode == 0
    other = tmp_path / "o.json"
    other.write_text(json.dumps(doc(noisy(1000, 6), arch="arm64")))
    p = run_harness("gate", "--baseline", str(base), "--candidate", str(other))
    assert p.returncode == 2 and "arch differs" in p.stderr and "Traceback" not in p.stderr
    p = run_harness("gate", "--baseline", str(base), "--candidate", str(tmp_path / "missing.json"))
    assert p.returncode == 2 and "does not exist" in p.stderr


def test_pyperf_export_is_read_by_pyperf(tmp_path):
    src = tmp_path / "r.json"
    src.write_text(json.dumps(doc(noisy(1000, 6))))
    out = tmp_path / "pyperf.json"
    p = run_harness("export", str(src), "--pyperf", str(out))
    assert p.returncode == 0, p.stderr
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(out)], capture_output=True, text=True)
    assert stats.returncode == 0 and "Total number of values: 6" in stats.stdout, stats.stdout + stats.stderr
    cmp = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(out), str(out)], capture_output=True,
                         text=True, cwd=ROOT)
    assert cmp.returncode == 0, cmp.stderr
