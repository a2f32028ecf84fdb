"""Real runs of the harness on the real workloads, small sizes: the quick
suite's shape, the results file's invariants, the build cache, and the http
scenario ramped to 2,000 connections against all three servers."""

import json
import os
import signal
import subprocess
import time

import pytest

from harness import config
from harness.backends.native import build
from harness.subjects import RUNTIMES
from tests.conftest import ROOT, harness_cmd, one_line_error, run_harness

CPU = sorted(os.sched_getaffinity(0))


def test_spawn_and_live_end_to_end(tmp_path, workloads):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--scenarios",
        "spawn,live",
        "--trials",
        "2",
        "--backend",
        "native",
        "--set",
        "spawn.tasks=5000",
        "--set",
        "live.tasks=5000",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] == "complete" and doc["backend"] == "native" and doc["emulated"] is False
    assert doc["git"]["sha"] and "dirty" in doc["git"]
    assert doc["cpu_plan"]["workers"] == len(doc["cpu_plan"]["workload"])
    # the quick suite's four runtimes; Zig declares live not measured, so it has no live benchmark
    assert {b["id"] for b in doc["benchmarks"]} == {
        *(f"spawn/{r}" for r in ("go", "rust", "java", "zig")),
        *(f"live/{r}" for r in ("go", "rust", "java")),
    }
    for b in doc["benchmarks"]:
        trials = b["trials"]
        if b["scenario"] == "live":  # one plateau per process: a whole warm-up trial first
            assert len(trials) == 3 and trials[0]["warmup"] and not trials[1]["warmup"]
        else:  # spawn warms up inside each process
            assert len(trials) == 2 and not any(t["warmup"] for t in trials)
        assert all(t["ok"] for t in trials), [t["error"] for t in trials]
        assert all(t["workload"]["workers"] == doc["cpu_plan"]["workers"] for t in trials)
        assert b["summary"][next(iter(b["metrics"]))]["n"] == 2
        assert b["settings"]["runtime_version"]
        assert all(
            t["rss_series"] and len(t["rss_series"]) <= doc["suite"]["sampling"]["series_points"] for t in trials
        )
    # trials interleave: go, rust, java, zig, go, rust, java, zig ...
    order = sorted(
        (t["started_at"], b["runtime"]) for b in doc["benchmarks"] if b["scenario"] == "spawn" for t in b["trials"]
    )
    assert [r for _, r in order][:8] == ["go", "rust", "java", "zig"] * 2  # interleaved round by round
    for b in doc["benchmarks"]:  # CPU time from the kernel at exit, for every trial
        assert all(t["cpu"]["source"] == "wait4 rusage" and t["metrics"]["process_cpu_s"] > 0 for t in b["trials"])
        if b["scenario"] == "spawn":  # rounds in one process: cold first, steady after
            for t in b["trials"]:
                rounds = t["workload"]["iterations"]
                assert [r["warmup"] for r in rounds][:1] == [True] and not rounds[-1]["warmup"]
                assert t["metrics"]["cold_tasks_per_sec"] == rounds[0]["tasks_per_sec"]
                assert t["metrics"]["cpu_ns_per_task"] > 0
    java = next(b for b in doc["benchmarks"] if b["id"] == "spawn/java")
    assert "G1" in java["settings"]["gc"] and java["settings"]["scheduler_parallelism"] == str(
        doc["cpu_plan"]["workers"]
    )
    assert "spawn" in p.stdout and "bytes per live task" in p.stdout


def test_second_build_rebuilds_nothing(workloads):
    for rt in RUNTIMES.values():
        assert build(rt, rt.toolchain()).cached, rt.name
    first = run_harness("build", "--suite", "quick")  # may compile the load generator on a fresh clone
    assert first.returncode == 0, first.stderr
    again = run_harness("build", "--suite", "quick")
    subjects = len(config.load_suite("quick").runtimes) + 1  # its runtimes and variants, and the load generator
    assert again.returncode == 0 and "compiled" not in again.stderr, again.stderr
    assert again.stderr.count("cached") == subjects, again.stderr


def test_http_ramp_to_2000_connections_all_servers(tmp_path, workloads):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--scenarios",
        "http",
        "--backend",
        "native",
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        "--set",
        "http.stages=[500, 1000, 2000]",
        "--set",
        "http.rate_per_s=2000",
        "--set",
        "http.stage_duration_s=3",
        "--out",
        str(out),
        timeout=900,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert doc["loadgen"]["artifact_dir"]
    for b in doc["benchmarks"]:
        t = b["trials"][0]
        assert t["ok"], t["error"]
        obs = t["observations"]
        assert obs["closed_by_server"] == 0, b["id"]
        for st in obs["stages"]:
            assert st["connections_open"] == st["connections_target"], (b["id"], st["stage"])
            assert st["connect_failures"] == 0 and st["requests_failed"] == 0, (b["id"], st)
            assert abs(st["achieved_rate"] - st["target_rate"]) <= 0.05 * st["target_rate"], (b["id"], st)
            assert st["corrected"]["hdr"] and st["corrected"]["p50_us"] > 0
        slope = t["metrics"]["kib_per_connection"]
        assert slope is not None and 0 < slope < 10_000, (b["id"], slope)
        assert t["metrics"]["max_requests_per_sec"] > 0 and t["metrics"]["cpu_us_per_request"] > 0
        windows = obs["saturate"]["iterations"]
        assert [w["warmup"] for w in windows] == [True] + [False] * (len(windows) - 1)
        assert all(w["server_cpu_s"] > 0 for w in windows)
        assert t["workload"]["requests_served"] > 0  # the server's own count, after SIGTERM
        # the send lag has its own histogram in every stage; nothing here was overloaded
        for st in obs["stages"]:
            assert st["lag"]["hdr"] and st["lag"]["count"] == st["requests_sent"], (b["id"], st["stage"])
            assert st["overloaded"] is False and "incomparable" not in t
        assert t["metrics"]["send_lag_p99_ns"] is not None
    # the instrument's floor: the load generator against its reference responder, largest stage only
    floor = doc["floors"]["http"]
    assert floor["id"] == "http/floor" and floor["params"]["stages"] == [2000]
    (ft,) = floor["trials"]
    assert ft["ok"], ft["error"]
    assert ft["workload"]["runtime"] == "floor" and ft["workload"]["requests_served"] > 0
    (stage,) = ft["observations"]["stages"]
    assert stage["connections_open"] == 2000 and stage["lag"]["hdr"] and stage["corrected"]["p50_us"] > 0
    assert ft["metrics"]["max_requests_per_sec"] is None and ft["metrics"]["latency_p50_ns"] > 0
    assert "floor" in p.stdout
    report = tmp_path / "r.html"
    assert run_harness("report", str(out), "--out", str(report)).returncode == 0
    html = report.read_text()
    assert "floor (instrument)" in html and "<script" not in html


def test_a_server_that_cannot_take_the_load_is_marked_overloaded(tmp_path, workloads):
    # a million requests per second over 50 connections: no server on one CPU answers that
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--scenarios",
        "http",
        "--runtimes",
        "go",
        "--backend",
        "native",
        "--trials",
        "1",
        "--set",
        "trials.warmup=0",
        "--set",
        "http.stages=[20, 50]",
        "--set",
        "http.rate_per_s=1000000",
        "--set",
        "http.stage_duration_s=1",
        "--set",
        "http.warmup_s=0",
        "--set",
        "http.saturate_duration_s=0.5",
        "--out",
        str(out),
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    (t,) = doc["benchmarks"][0]["trials"]
    assert t["ok"], t["error"]
    stages = t["observations"]["stages"]
    assert all(st["overloaded"] for st in stages) and t["metrics"]["overloaded_stages"] == 2
    assert stages[-1]["achieved_rate"] < 0.5 * 1_000_000
    assert "latency_p99_ns" in t["incomparable"]["metrics"] and "overloaded" in t["incomparable"]["reason"]
    assert "OVERLOADED" in p.stdout and "overloaded" in p.stdout


def test_a_sweep_runs_every_point_and_draws_its_curves(tmp_path, workloads):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--scenarios",
        "spawn",
        "--runtimes",
        "go,rust",
        "--backend",
        "native",
        "--trials",
        "1",
        "--sweep",
        "spawn.tasks=1000,10000,100000",
        "--set",
        "spawn.warmup_iterations=0",
        "--set",
        "spawn.iterations=1",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    ids = [b["id"] for b in doc["benchmarks"]]
    assert ids == [f"spawn/{rt}@tasks={n}" for n in (1000, 10000, 100000) for rt in ("go", "rust")]
    assert all(b["trials"][0]["workload"]["tasks"] == b["point"]["spawn.tasks"] for b in doc["benchmarks"])
    assert "tasks per second (steady) (↑) by point" in p.stdout and "spawn.tasks=100000" in p.stdout
    report = tmp_path / "r.html"
    assert run_harness("report", str(out), "--out", str(report)).returncode == 0
    assert "against spawn.tasks" in report.read_text()


@pytest.mark.slow  # real harness runs held and released for seconds: the full suite's
def test_an_interrupted_run_resumes_in_its_own_file(tmp_path):
    from tests.test_cli import fake_suite

    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        harness_cmd("run", "--suite", str(fake_suite(tmp_path, trials=6)), "--out", str(out)),
        cwd=ROOT,
        env={**os.environ, "FAKE_MODE": "slow"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = json.loads(out.read_text()) if out.exists() else {"benchmarks": []}
        if doc["benchmarks"] and len(doc["benchmarks"][0]["trials"]) >= 2:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and f"harness run --resume {out}" in err, err
    kept = json.loads(out.read_text())["benchmarks"][0]["trials"]
    one_line_error(run_harness("run", "--resume", str(out), "--trials", "3"), 2, "--resume", "drop --trials")
    p = run_harness("run", "--resume", str(out), env={"FAKE_MODE": "ok"})
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    trials = doc["benchmarks"][0]["trials"]
    assert doc["status"] == "complete" and sorted(t["round"] for t in trials) == list(range(6))
    assert trials[: len(kept)] == kept  # what finished before is kept as it was
    assert doc["resumed"][0]["from_status"] == "interrupted"
    # a changed workload or toolchain is refused, in one line
    doc["status"] = "interrupted"
    doc["benchmarks"][0]["build"]["cache_key"] = "0000"
    out.write_text(json.dumps(doc))
    one_line_error(run_harness("run", "--resume", str(out)), 2, "workload or its toolchain changed", "since it started")
    one_line_error(run_harness("run", "--resume", str(tmp_path / "nope.json")), 2, "does not exist")


def test_the_gate_suites_pinned_java_heap_is_recorded_in_the_results_and_the_legend(tmp_path, workloads):
    """What a suite pins for one scenario (Java's spawn heap, pre-sized and touched) reaches that scenario's
    trials only, is recorded in each benchmark's run settings and in the subject's, and the legend shows it."""
    out = tmp_path / "g.json"
    p = run_harness(
        *("run", "--suite", "gate", "--scenarios", "spawn,live", "--runtimes", "java", "--trials", "1"),
        *("--set", "spawn.tasks=5000", "--set", "live.tasks=5000", "--backend", "native", "--out", str(out)),
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    flags = {b["scenario"]: b["run_settings"].get("jvm_flags", []) for b in doc["benchmarks"]}
    assert flags == {"spawn": ["-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"], "live": []}, flags
    argv = {b["scenario"]: b["argv"] for b in doc["benchmarks"]}
    assert "-XX:+AlwaysPreTouch" in argv["spawn"] and "-XX:+AlwaysPreTouch" not in argv["live"], argv
    assert "AlwaysPreTouch" in str(doc["subjects"]["java"]["run_settings"])
    legend = " ".join(run_harness("summary", str(out)).stdout.split())  # rich wraps long lines at spaces
    assert "gc=G1, spawn only: jvm_flags=-Xms1g -Xmx1g -XX:+AlwaysPreTouch" in legend, legend
