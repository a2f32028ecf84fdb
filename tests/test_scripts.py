"""Every script in scripts/ is a promise that a figure can be rerun: each runs
here once on a tiny input (so that none can rot against today's API), and a
script without such a run fails this file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fixtures import make_doc

SCRIPTS = ROOT / "scripts"
# Scripts whose tiny run lives in another test file, beside the feature they measure.
ELSEWHERE = {
    "gate_calibration.py": "tests/test_gate_ab.py",
    "two_generators.py": "tests/test_loadgen_engines.py",  # beside the engines it needs
}


def script(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [str(SCRIPTS / name), *args] if name.endswith(".sh") else [sys.executable, str(SCRIPTS / name), *args]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{name}: {p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return p


def test_every_script_runs_somewhere_in_the_tests():
    here = Path(__file__).read_text()
    for f in sorted(SCRIPTS.iterdir()):
        if f.suffix not in (".py", ".sh"):
            continue
        where = ELSEWHERE.get(f.name)
        text = (ROOT / where).read_text() if where else here
        assert f'"{f.name}"' in text or f"scripts/{f.name}" in text, f"{f.name} has no tiny run in the tests"


def test_setup_machine_check():
    assert "setup: ready" in script("setup-machine.sh", "--check").stdout


def test_check_report_in_chromium(tmp_path):
    results = tmp_path / "r.json"
    results.write_text(json.dumps(make_doc(floor=True)))
    html = tmp_path / "r.html"
    subprocess.run(
        [sys.executable, "-m", "harness", "report", str(results), "--out", str(html)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    script("check_report_in_chromium.py", str(html), str(tmp_path / "shot.png"), timeout=180)
    assert (tmp_path / "shot.png").stat().st_size > 1000


@pytest.mark.slow
def test_sampler_overhead(workloads):
    out = script("sampler_overhead.py", "--pairs", "1", "--tasks", "2000").stdout
    assert "median ratio on/off over 1 pairs" in out


@pytest.mark.slow
def test_duet_experiment(tmp_path, workloads):
    out = tmp_path / "d.json"
    script("duet_experiment.py", "--rounds", "2", "--runtimes", "go", "--tasks", "2000", "--json", str(out))
    (first, *_) = json.loads(out.read_text())
    assert first["runtime"] == "go" and first["rounds"] == 2 and first["sd_log_ratio_duet"] >= 0


@pytest.mark.slow
def test_loadgen_vs_wrk(tmp_path, workloads):
    out = tmp_path / "w.json"
    script(
        "loadgen_vs_wrk.py",
        "--runs",
        "1",
        "--connections",
        "16",
        "--seconds",
        "1",
        "--warmup-s",
        "1",
        "--runtimes",
        "go",
        "--json",
        str(out),
    )
    assert json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.docker
def test_native_vs_docker(tmp_path, workloads):
    out = script(
        "native_vs_docker.py",
        "--trials",
        "1",
        "--runtimes",
        "go",
        "--set",
        "spawn.tasks=2000",
        "--set",
        "live.tasks=2000",
        "--set",
        "spawn.iterations=1",
        "--set",
        "spawn.warmup_iterations=0",
        "--set",
        "live.warmup_trials=0",
        "--out-dir",
        str(tmp_path),
        timeout=900,
    ).stdout
    assert "spawn/go" in out and "toolchains (docker)" in out
    assert len(list(tmp_path.glob("native-vs-docker-*.json"))) == 2


@pytest.mark.slow
@pytest.mark.docker
def test_ssh_vs_local(tmp_path):
    out = tmp_path / "s.json"
    script(
        "ssh_vs_local.py",
        "--runs",
        "1",
        "--trials",
        "1",
        "--runtimes",
        "go",
        "--scenarios",
        "spawn",
        "--json",
        str(out),
        timeout=900,
    )
    rows = json.loads(out.read_text())["rows"]
    assert any(r["benchmark"] == "spawn/go" and r["ratio"] for r in rows)


@pytest.mark.slow
def test_primitives_audit(tmp_path, workloads):
    out = tmp_path / "a.json"
    text = script("primitives_audit.py", "--tasks", "2000", "--repeats", "1", "--json", str(out)).stdout
    rows = json.loads(out.read_text())
    # every runtime, every point, the protocol's choice (ratio 1 to itself) and its alternatives, checksums checked
    assert {(r["runtime"], r["point"]) for r in rows} == {
        (rt, p) for rt in ("go", "rust", "java") for p in ("join", "release", "accumulate")
    }
    assert all(r["ratio"] == 1.0 for r in rows if r["protocol"])
    assert {r["choice"] for r in rows if r["runtime"] == "java" and r["point"] == "release"} >= {"unpark", "latch"}
    assert "| java | release | unpark ★ |" in text


@pytest.mark.slow
def test_floor_tail(tmp_path, workloads):
    out = tmp_path / "f.json"
    script(
        "floor_tail.py",
        "--runs",
        "1",
        "--connections",
        "50",
        "--rate",
        "500",
        "--seconds",
        "0.5",
        "--conditions",
        "quiet,sampler",
        "--json",
        str(out),
    )
    rows = json.loads(out.read_text())
    assert [r["condition"] for r in rows] == ["quiet", "sampler"] and all(r["p99_us"] > 0 for r in rows)


def test_changepoint_calibration(tmp_path):
    files = []
    for seed in range(3):  # three A/A results files (the fixtures: noise around the same values)
        f = tmp_path / f"aa{seed}.json"
        f.write_text(json.dumps(make_doc(seed=seed, scenarios=("spawn",), runtimes=("go",))))
        files.append(str(f))
    out = tmp_path / "c.json"
    args = ("--runs", "0", "--from", *files, "--releases", "4", "--at", "2", "--histories", "2")
    text = script("changepoint_calibration.py", *args, "--json", str(out)).stdout
    series = json.loads(out.read_text())["series"]
    assert {s["benchmark"] for s in series} == {"spawn/go"} and all(0 <= s["false_alarms"] <= 1 for s in series)
    assert "planted 10% step at release 2" in text


@pytest.mark.slow
def test_site_history(tmp_path, workloads):
    site, shots = tmp_path / "site", tmp_path / "shots"
    script(
        "site_history.py",
        "--site",
        str(site),
        "--commits",
        "HEAD,HEAD",
        "--plant-at",
        "2",
        "--method-at",
        "2",
        "--params-after",
        "spawn.tasks=3000",
        "--scenarios",
        "spawn",
        "--runtimes",
        "go",
        "--set",
        "spawn.tasks=2000",
        "--set",
        "trials.count=2",
        "--shots",
        str(shots),
        timeout=900,
    )
    first, planted = (json.loads((tmp_path / "site-runs" / f"v0.{k}.0.json").read_text()) for k in (1, 2))
    assert planted["git"]["ref"] != first["git"]["ref"] and planted["git"]["harness_sha"]
    assert "break before v0.2.0: the benchmark&#39;s suite parameters" in (site / "index.html").read_text()
    assert (shots / "site-index.png").stat().st_size > 1000 and (shots / "site-changes.png").exists()


def test_precision_report(tmp_path):
    f = tmp_path / "r.json"
    f.write_text(json.dumps(make_doc(scenarios=("spawn",))))
    out = script("precision_report.py", str(f), "--target", "5").stdout
    assert "| spawn/go | tasks_per_sec | ±5% | 5: ±" in out and ("reached" in out or "missed" in out)


def test_randomness_pinning(tmp_path, workloads):
    """Two candidates on a tiny input: each beside its runtime's defaults in one interleaved run, the
    variance between processes of both, and the ratio of their medians."""
    out = tmp_path / "p.json"
    args = ["--only", "go-layout,go-gogc", "--trials", "3", "--set", "spawn.tasks=20000", "--json", str(out)]
    text = script("randomness_pinning.py", *args).stdout
    rows = {r["candidate"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"go-layout", "go-gogc"} and "go-layout" in text
    for r in rows.values():
        assert r["metric"] == "cpu_ns_per_task" and r["default"]["processes"] == 3 and r["pinned"]["processes"] == 3
        assert (
            r["default"]["cv_between_pct"] is not None
            and r["ratio"]["low"] <= r["ratio"]["value"] <= r["ratio"]["high"]
        )


def test_connection_memory():
    out = script("connection_memory.py", "--connections", "2000", "--repeats", "1").stdout
    assert "bytes per kept-alive loopback connection, 200 -> 2,000 connections" in out
    assert "loadgen_rss" in out and "the generator's side" in out
