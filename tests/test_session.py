"""Session logic without real workloads: interleaving and the noisy-trial rules."""

import io
import os

from rich.console import Console

from harness import config, session
from harness.backends import Prepared
from harness.backends.native import Built, NativeLauncher
from harness.kinds import ProcessTrial, TrialKind
from harness.measure.cpuplan import CpuPlan
from harness.output.progress import Reporter
from harness.paths import ROOT
from harness.record.trial import TrialRecord
from harness.record.writer import ResultsFile
from harness.subjects.runtimes.runtime import external


def fake_side(tmp_path, noise, names=("a", "b")):
    suite = config.validate(
        {
            "runtimes": list(names),
            "scenarios": ["spawn"],
            "trials": {"count": 2, "warmup": 1},
            "noise": noise,
            "runtime": {n: {"command": ["true"]} for n in names},
        }
    )
    prepared = {
        n: Prepared(external(n, ["true"]), None, Built(n, ROOT, "x", True, None), {}, NativeLauncher()) for n in names
    }
    placement = {"engine": "native", "arch": "amd64", "local": True}
    return session.Side("run", suite, prepared, ResultsFile(tmp_path / "r.json", {"placement": placement}))


def quiet():
    return Reporter(Console(file=io.StringIO()), [], interactive=False)


def points(side):
    return [session.Point({}, side.suite, plan())]


def plan():
    cpu = sorted(os.sched_getaffinity(0))[0]
    return CpuPlan([cpu], [cpu], [cpu], [cpu])


class Scripted(ProcessTrial):
    """A process kind whose trials are scripted (as hyperfine tests with a mock executor): `answer(request,
    argv)` returns the record's fields."""

    def __init__(self, answer):
        self.answer = answer

    def run(self, req):
        argv = self.argv(req.subject, req.scenario, req.params, req.workers)
        return TrialRecord(**self.answer(req, argv))


def run_trials(side, pts, reporter, answer, finished=frozenset()):
    """The scheduler over the side's plan (one side, no load generator), as `harness run` builds it, its
    process trials scripted."""
    the_plan = session.Plan(side.suite, 1, pts, False)
    kinds: dict[str, TrialKind] = {"process": Scripted(answer)}
    return session.Scheduler([side], the_plan, None, reporter, finished=finished, kinds=kinds).run()


def test_trials_interleave_runtimes_round_by_round(tmp_path):
    order = []

    def fake_trial(req, argv):
        order.append(argv[0] if argv[0] != "true" else req.benchmark_id)
        return {"ok": True, "metrics": {"tasks_per_sec": 1.0}, "host_load": {"steal_pct": 0.0}}

    side = fake_side(tmp_path, {})
    assert run_trials(side, points(side), quiet(), fake_trial)
    assert order == ["spawn/a", "spawn/b"] * 3  # warm-up round, then two measured rounds
    b = side.results.doc["benchmarks"][0]
    assert [t["warmup"] for t in b["trials"]] == [True, False, False]
    assert b["summary"]["tasks_per_sec"]["n"] == 2


def test_noisy_trials_are_flagged_and_repeated_when_the_suite_says_so(tmp_path):
    steals = iter([0, 50, 60, 0, 0, 0])  # warm-up ok; round 1 noisy twice then clean; round 2 clean

    def fake_trial(req, argv):
        return {"ok": True, "metrics": {"tasks_per_sec": 1.0}, "host_load": {"steal_pct": next(steals)}}

    side = fake_side(tmp_path, {"repeat_noisy": True, "max_repeats": 3, "steal_threshold_pct": 10}, names=("a",))
    run_trials(side, points(side), quiet(), fake_trial)
    trials = side.results.doc["benchmarks"][0]["trials"]
    assert [t["noisy"] for t in trials] == [False, True, True, False, False]
    assert [bool(t.get("excluded")) for t in trials] == [False, True, True, False, False]
    assert side.results.doc["benchmarks"][0]["summary"]["tasks_per_sec"]["n"] == 2
    assert any("steal" in w for w in side.results.doc["warnings"])


def test_noisy_trials_are_only_flagged_by_default(tmp_path):
    side = fake_side(tmp_path, {}, names=("a",))
    run_trials(side, points(side), quiet(), lambda req, argv: {"ok": True, "host_load": {"steal_pct": 90.0}})
    trials = side.results.doc["benchmarks"][0]["trials"]
    assert len(trials) == 3 and all(t["noisy"] and not t.get("excluded") for t in trials)


def test_eta_is_learnt_per_benchmark_from_the_trials_so_far(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("harness.output.progress.time.monotonic", lambda: clock[0])
    r = Reporter(Console(file=io.StringIO()), ["spawn/a", "spawn/b", "spawn/a", "spawn/b"], interactive=False)
    assert r.eta_s() is None  # nothing learnt yet
    for bench, seconds in (("spawn/a", 2.0), ("spawn/b", 10.0)):
        r.trial_started(bench)
        clock[0] += seconds
        r.trial_finished(bench, TrialRecord(ok=True))
    assert r.eta_s() == 12.0  # one more of each, each as long as its first
    r.trial_started("spawn/a")
    clock[0] += 1.5
    assert r.eta_s() == 0.5 + 10.0  # the running one's rest, then the last


def test_plain_progress_says_trial_phase_and_eta(tmp_path):
    out = io.StringIO()
    r = Reporter(Console(file=out, width=200), ["spawn/a", "spawn/a"], interactive=False)
    r.trial_started("spawn/a round 1/2")
    r.phase("spawning")
    r.trial_finished("spawn/a", TrialRecord(ok=True))
    r.trial_started("spawn/a round 2/2")
    r.trial_finished("spawn/a", TrialRecord(ok=False, error="boom"))
    text = out.getvalue()
    assert "[1/2] spawn/a round 1/2" in text and "spawning" in text and "left)" in text
    assert "failed: boom" in text


def test_a_resumed_run_skips_the_trials_it_has(tmp_path):
    ran = []

    def fake_trial(req, argv):
        ran.append(req.benchmark_id)
        return {"ok": True, "metrics": {"tasks_per_sec": 1.0}, "host_load": {"steal_pct": 0.0}}

    side = fake_side(tmp_path, {})
    finished = frozenset(
        {("spawn", "a", 0, 0, 0, False), ("spawn", "b", 0, 0, 0, False), ("spawn", "a", 0, 1, 0, False)}
    )
    run_trials(side, points(side), quiet(), fake_trial, finished=finished)
    assert ran == ["spawn/b", "spawn/a", "spawn/b"]  # round 1's b, then round 2, in the same interleaving


def test_a_sweep_makes_every_point_its_own_benchmark_interleaved(tmp_path):
    seen = []

    def fake_trial(req, argv):
        seen.append((req.benchmark_id, argv))
        return {"ok": True, "metrics": {"tasks_per_sec": 1.0}, "host_load": {"steal_pct": 0.0}}

    suite = config.validate(
        {
            "runtimes": ["a"],
            "scenarios": ["spawn", "live"],
            "trials": {"count": 1, "warmup": 0},
            "sweep": {"spawn.tasks": [10, 100]},
            "runtime": {"a": {"command": ["true"]}},
        }
    )
    side = fake_side(tmp_path, {}, names=("a",))
    side.suite = suite
    cpu = plan()
    pts = [session.Point(v, config.at_point(suite, v), cpu) for v in config.sweep_points(suite)]
    run_trials(side, pts, quiet(), fake_trial)
    ids = [b for b, _ in seen]
    assert ids == ["spawn/a@tasks=10", "spawn/a@tasks=100", "live/a"]  # live is not swept: it runs once
    assert "10" in seen[0][1] and "100" in seen[1][1]
    bench = {b["id"]: b for b in side.results.doc["benchmarks"]}
    assert (
        bench["spawn/a@tasks=100"]["point"] == {"spawn.tasks": 100}
        and bench["spawn/a@tasks=100"]["params"]["tasks"] == 100
    )
    assert bench["live/a"]["point"] == {}
