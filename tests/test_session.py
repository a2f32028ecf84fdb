"""Session logic without real workloads: interleaving and the noisy-trial rules."""

import os

from harness import config, session
from harness.backends import Prepared
from harness.backends.native import Built, NativeLauncher
from harness.measure.cpuplan import CpuPlan
from harness.record.writer import ResultsFile
from harness.subjects.runtime import ROOT, external


def fake_side(tmp_path, noise, names=("a", "b")):
    suite = config.validate({"runtimes": list(names), "scenarios": ["spawn"], "trials": {"count": 2, "warmup": 1},
                             "noise": noise, "runtime": {n: {"command": ["true"]} for n in names}})
    prepared = {n: Prepared(external(n, ["true"]), None, Built(n, ROOT, "x", True, None), {}, NativeLauncher())
                for n in names}
    return session.Side("run", suite, prepared, ResultsFile(tmp_path / "r.json", {}))


def plan():
    cpu = sorted(os.sched_getaffinity(0))[0]
    return CpuPlan([cpu], [cpu], [cpu], [cpu])


def test_trials_interleave_runtimes_round_by_round(tmp_path, monkeypatch):
    order = []

    def fake_trial(spec):
        order.append(spec.argv[0] if spec.argv[0] != "true" else spec.benchmark_id)
        return {"ok": True, "metrics": {"tasks_per_sec": 1.0}, "host_load": {"steal_pct": 0.0}}

    monkeypatch.setattr(session, "run_trial", fake_trial)
    side = fake_side(tmp_path, {})
    assert session.run_trials([side], plan(), lambda *a: None)
    assert order == ["spawn/a", "spawn/b"] * 3  # warm-up round, then two measured rounds
    b = side.results.doc["benchmarks"][0]
    assert [t["warmup"] for t in b["trials"]] == [True, False, False]
    assert b["summary"]["tasks_per_sec"]["n"] == 2


def test_noisy_trials_are_flagged_and_repeated_when_the_suite_says_so(tmp_path, monkeypatch):
    steals = iter([0, 50, 60, 0, 0, 0])  # warm-up ok; round 1 noisy twice then clean; round 2 clean

    def fake_trial(spec):
        return {"ok": True, "metrics": {"tasks_per_sec": 1.0}, "host_load": {"steal_pct": next(steals)}}

    monkeypatch.setattr(session, "run_trial", fake_trial)
    side = fake_side(tmp_path, {"repeat_noisy": True, "max_repeats": 3, "steal_threshold_pct": 10}, names=("a",))
    session.run_trials([side], plan(), lambda *a: None)
    trials = side.results.doc["benchmarks"][0]["trials"]
    assert [t["noisy"] for t in trials] == [False, True, True, False, False]
    assert [bool(t.get("excluded")) for t in trials] == [False, True, True, False, False]
    assert side.results.doc["benchmarks"][0]["summary"]["tasks_per_sec"]["n"] == 2
    assert any("steal" in w for w in side.results.doc["warnings"])


def test_noisy_trials_are_only_flagged_by_default(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "run_trial", lambda spec: {"ok": True, "metrics": {"m": 1.0},
                                                            "host_load": {"steal_pct": 90.0}})
    side = fake_side(tmp_path, {}, names=("a",))
    session.run_trials([side], plan(), lambda *a: None)
    trials = side.results.doc["benchmarks"][0]["trials"]
    assert len(trials) == 3 and all(t["noisy"] and not t.get("excluded") for t in trials)
