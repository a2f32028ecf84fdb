"""Profiles (measure/profile, the runtimes' readers) drawn as flame graphs (output/flamegraph), the startup
scenario and forced collections."""

import json
import os
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.subjects.runtimes.profile_formats import pprof_stacks, read_folded
from tests.conftest import ROOT, run_harness

FAKE = str(ROOT / "tests" / "fake_workload.py")
OWN_SPAWN = {"go": "main.spawnRound", "rust": "workload::spawn::", "java": "bench.Spawn."}


@pytest.fixture(scope="module")
def profiled(tmp_path_factory, workloads):
    """One small native run of spawn with --profile (and a forced collection), shared by the tests below."""
    out = tmp_path_factory.mktemp("profiled") / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "spawn",
        "--trials",
        "2",
        "--set",
        "spawn.tasks=100000",
        "--set",
        "spawn.force_gc=true",
        "--profile",
        "--out",
        str(out),
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return out, p


def test_each_runtime_profile_holds_its_own_spawn_function(profiled):
    out, _ = profiled
    doc = json.loads(out.read_text())
    for b in doc["benchmarks"]:
        profiled_trials = [t for t in b["trials"] if t.get("profile")]
        if doc["subjects"][b["runtime"]].get("no_profiler"):  # Zig: none planned, and the file says why
            assert not profiled_trials, b["id"]
            continue
        assert len(profiled_trials) == 1, b["id"]
        t = profiled_trials[0]
        assert t["ok"] and t["excluded"].startswith("profiled"), (b["id"], t.get("error"))
        prof = t["profile"]
        assert prof["samples"] > 0 and prof["stacks"]
        assert any(OWN_SPAWN[b["runtime"]] in stack for stack in prof["stacks"]), (b["id"], list(prof["stacks"])[:5])
        for f in prof["files"]:  # the raw files beside the results file, as hashed
            raw = out.parent / f["path"]
            assert raw.is_file() and raw.stat().st_size == f["bytes"] > 0
        raw_names = {Path(f["path"]).name for f in prof["files"]}
        assert (
            raw_names >= {"go": {"cpu.pprof"}, "rust": {"cpu.folded"}, "java": {"cpu.jfr", "cpu.folded"}}[b["runtime"]]
        )
        # the profiled trial is never summarised with the measured ones
        measured = [t for t in b["trials"] if t["ok"] and not t["warmup"] and not t.get("excluded")]
        assert len(measured) == 2


def test_go_profile_decodes_the_same_as_the_results_file(profiled):
    out, _ = profiled
    doc = json.loads(out.read_text())
    go = next(b for b in doc["benchmarks"] if b["runtime"] == "go")
    prof = next(t for t in go["trials"] if t.get("profile"))["profile"]
    raw = out.parent / next(f["path"] for f in prof["files"] if f["path"].endswith("cpu.pprof"))
    assert pprof_stacks(raw.read_bytes()) == prof["stacks"]
    assert sum(read_folded("a;b 3\na;c 2\nbad line\n").values()) == 5


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_report_embeds_one_flame_graph_per_runtime_and_no_script(profiled):
    out, _ = profiled
    html_path = out.with_suffix(".html")
    p = run_harness("report", str(out), "--out", str(html_path))
    assert p.returncode == 0, p.stderr
    parser = Elements()
    parser.feed(html_path.read_text())
    assert not [t for t, _ in parser.tags if t == "script"]
    flames = [a for t, a in parser.tags if t == "svg" and "flame" in a.get("class", "")]
    assert len(flames) == 3
    labels = " ".join(a.get("aria-label", "") for a in flames)
    for runtime in ("go", "rust", "java"):
        assert f"spawn/{runtime}" in labels
    figures = [a for t, a in parser.tags if t == "figure" and "profile" in a.get("class", "")]
    assert {c for a in figures for c in a["class"].split() if c.startswith("rt-")} == {"rt-go", "rt-rust", "rt-java"}


def test_forced_collection_is_recorded_and_reported(profiled):
    out, p = profiled
    doc = json.loads(out.read_text())
    said = {b["runtime"]: {t["workload"]["forced_gc"] for t in b["trials"] if t["ok"]} for b in doc["benchmarks"]}
    assert said["go"] == {"runtime.GC()"} and said["java"] == {"System.gc()"}
    assert said["rust"] == {"not applicable (tokio has no collector)"}
    assert "forced collection" in p.stdout and "System.gc()" in p.stdout
    assert all(b["params"]["force_gc"] is True for b in doc["benchmarks"])


def fake_startup_suite(tmp_path: Path) -> Path:
    cpu = sorted(os.sched_getaffinity(0))[-1]
    f = tmp_path / "fake-startup.toml"
    f.write_text(f'''
name = "fake-startup"
runtimes = ["fake"]
scenarios = ["startup"]
[trials]
count = 2
warmup = 0
timeout_s = 30
[cpus]
workload = "{cpu}"
harness = "{cpu}"
loadgen = "{cpu}"
[startup]
idle_s = 0.1
[runtime.fake]
command = ["{sys.executable}", "{FAKE}"]
''')
    return f


def run_fake_startup(tmp_path: Path, mode: str):
    """The startup scenario against the fake workload's server; (process, results document)."""
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        str(fake_startup_suite(tmp_path)),
        "--backend",
        "native",
        "--out",
        str(out),
        env={"FAKE_MODE": mode},
    )
    return p, json.loads(out.read_text())


def test_startup_verification_fails_a_server_that_answers_wrongly(tmp_path):
    p, doc = run_fake_startup(tmp_path, "wronganswer")
    assert p.returncode == 1, p.stderr
    trials = doc["benchmarks"][0]["trials"]
    assert trials and not any(t["ok"] for t in trials)
    assert all("failed verification" in t["error"] and "body" in t["error"] for t in trials)


def test_startup_times_a_right_answer(tmp_path):
    p, doc = run_fake_startup(tmp_path, "ok")
    assert p.returncode == 0, p.stderr
    for t in doc["benchmarks"][0]["trials"]:
        m = t["metrics"]
        # the ready line is stamped when the harness's reader thread takes it: it may lag the answer a little
        assert t["ok"] and 0 < m["time_to_ready_ns"] <= m["time_to_first_answer_ns"] + 20e6
        assert m["time_to_first_answer_ns"] < 30e9
        assert m["idle_rss_bytes"] > 1 << 20  # a Python process
    assert "time from exec to the first correct answer" in p.stdout


SERVER_CODE = {"go": "net/http.(*conn).serve", "rust": "hyper::proto::h1", "java": "io.helidon.webserver"}


def test_http_profile_covers_the_measured_saturate_windows_alone(tmp_path, workloads):
    """Issue 16: "for http, profile the server during the saturate phase". A full-CPU warm-up
    and a ramp run before saturate; the profile must hold no more samples than the server's CPU
    time in the measured windows allows (a whole-run profile would hold twice as many)."""
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "http",
        "--runtimes",
        ",".join(SERVER_CODE),  # the runtimes with a profiler of their own (Zig has none)
        "--trials",
        "1",
        "--set",
        "http.stages=[50, 150]",
        "--set",
        "http.stage_duration_s=1.5",
        "--set",
        "http.warmup_s=2",
        "--set",
        "http.saturate_duration_s=0.6",
        "--profile",
        "--out",
        str(out),
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    for b in json.loads(out.read_text())["benchmarks"]:
        t = next(t for t in b["trials"] if t.get("profile"))
        assert t["ok"], (b["id"], t["error"])
        prof = t["profile"]
        assert prof["window"] == "saturate (measured windows)" and prof["samples"] > 0, (b["id"], prof["window"])
        assert any(SERVER_CODE[b["runtime"]] in s for s in prof["stacks"]), (b["id"], list(prof["stacks"])[:3])
        windows = [it for it in t["observations"]["saturate"]["iterations"] if not it.get("warmup")]
        window_cpu_s = sum(it["server_cpu_s"] for it in windows)
        whole_cpu_s = t["cpu"]["user_s"] + t["cpu"]["system_s"]
        assert whole_cpu_s > 2 * window_cpu_s, (b["id"], whole_cpu_s, window_cpu_s)  # the test can tell them apart
        assert prof["samples"] * 0.010 <= 1.5 * window_cpu_s + 0.1, (b["id"], prof["samples"], window_cpu_s)
