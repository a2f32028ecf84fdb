"""Bad input and faults, each through the real CLI: one line on stderr, the
right exit code, no traceback, no orphan process, every finished trial kept."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, harness_cmd, one_line_error, run_harness

FAKE = str(ROOT / "tests" / "fake_workload.py")


def fake_suite(tmp_path: Path, trials=2, timeout_s=60, warmup=0, cpu: int | None = None, name="fake") -> Path:
    f = tmp_path / f"{name}.toml"
    cpu = sorted(os.sched_getaffinity(0))[-1] if cpu is None else cpu
    f.write_text(f'''
name = "fake"
runtimes = ["fake"]
scenarios = ["spawn"]
[trials]
count = {trials}
warmup = {warmup}
timeout_s = {timeout_s}
[cpus]
workload = "{cpu}"
harness = "{cpu}"
loadgen = "{cpu}"
[spawn]
tasks = 1000
work = 10
[runtime.fake]
command = ["{sys.executable}", "{FAKE}"]
''')
    return f


def orphans(marker: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(p.info["cmdline"] or []):
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


def results_doc(path: Path) -> dict:
    return json.loads(path.read_text())


def test_ok_fake_run_writes_complete_results(tmp_path):
    out = tmp_path / "r.json"
    p = run_harness("run", "--suite", str(fake_suite(tmp_path)), "--out", str(out), "--backend", "native")
    assert p.returncode == 0, p.stderr
    doc = results_doc(out)
    assert doc["status"] == "complete" and doc["schema_version"] == 4
    trials = doc["benchmarks"][0]["trials"]
    assert len(trials) == 2 and all(t["ok"] for t in trials)
    assert all("steal_pct" in t["host_load"] for t in trials)
    assert "spawn" in p.stdout  # the terminal table


@pytest.mark.parametrize(
    "args, code, needles",
    [
        (["run", "--suite", "nosuch"], 2, ["unknown suite"]),
        (["run", "--suite", "quick", "--runtimes", "go,cobol"], 2, ["unknown runtime 'cobol'"]),
        (["run", "--suite", "quick", "--scenarios", "spawn,dance"], 2, ["unknown scenario 'dance'"]),
        (
            ["run", "--suite", "quick", "--scenarios", "spawn", "--set", "cpus.workload=4096"],
            2,
            ["cpus.workload", "outside"],
        ),
        (["run", "--suite", "quick", "--set", "spawn.tasks=-3"], 2, ["spawn.tasks"]),
        (["run", "--suite", "quick", "--trials", "0"], 2, ["--trials"]),
        (["run", "--bogus"], 2, ["unrecognized arguments"]),
        (["run", "--arch", "arm64", "--backend", "native"], 2, ["arm64"]),
        (["summary", "/nonexistent.json"], 2, ["does not exist"]),
    ],
)
def test_bad_input_exit_2(args, code, needles):
    one_line_error(run_harness(*args), code, *needles)


def test_bad_suite_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[spawn]\ntasks = "lots"\n')
    one_line_error(run_harness("run", "--suite", str(f)), 2, "spawn.tasks")


def test_jdk_older_than_21_exit_2(tmp_path):
    from tests.test_measure_cpuplan_and_toolchains import fake_jdk

    home = fake_jdk(tmp_path, "17.0.9")
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--runtimes",
        "java",
        "--scenarios",
        "spawn",
        "--backend",
        "native",
        "--out",
        str(tmp_path / "r.json"),
        env={"JAVA_HOME": str(home)},
    )
    one_line_error(p, 2, "JDK 17", "21")


def test_missing_toolchain_exit_2(tmp_path):
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--runtimes",
        "go",
        "--scenarios",
        "spawn",
        "--backend",
        "native",
        "--out",
        str(tmp_path / "r.json"),
        env={"PATH": str(tmp_path)},
    )
    one_line_error(p, 2, "Go toolchain not found")


def test_results_dir_not_writable(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    target = ro / "sub" / "r.json"
    (ro / "sub").write_text("a file where a directory should be")
    p = run_harness("run", "--suite", str(fake_suite(tmp_path)), "--out", str(target))
    one_line_error(p, 2, "cannot write results")


@pytest.mark.parametrize(
    "mode, needle",
    [
        ("crash", "exit code 1"),
        ("garbage", "not JSON"),
        ("badsum", "wrong checksum"),
    ],
)
def test_faulty_workload_fails_the_benchmark_and_keeps_trials(tmp_path, mode, needle):
    out = tmp_path / "r.json"
    p = run_harness("run", "--suite", str(fake_suite(tmp_path)), "--out", str(out), env={"FAKE_MODE": mode})
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    doc = results_doc(out)
    assert doc["status"] == "failed"
    trials = doc["benchmarks"][0]["trials"]
    assert len(trials) == 2 and not any(t["ok"] for t in trials)
    assert all(needle in t["error"] for t in trials), [t["error"] for t in trials]


def test_hanging_workload_is_killed_with_its_tree(tmp_path):
    marker = f"hang-{uuid.uuid4()}"
    out = tmp_path / "r.json"
    t0 = time.monotonic()
    p = run_harness(
        "run",
        "--suite",
        str(fake_suite(tmp_path, trials=1, timeout_s=3)),
        "--out",
        str(out),
        env={"FAKE_MODE": "hang", "FAKE_MARKER": marker},
        timeout=120,
    )
    assert p.returncode == 1 and time.monotonic() - t0 < 60
    assert "timed out" in results_doc(out)["benchmarks"][0]["trials"][0]["error"]
    time.sleep(0.5)
    assert orphans(marker) == []


def test_ctrl_c_keeps_finished_trials_and_leaves_no_process(tmp_path):
    marker = f"slow-{uuid.uuid4()}"
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        harness_cmd("run", "--suite", str(fake_suite(tmp_path, trials=200)), "--out", str(out)),
        cwd=ROOT,
        env={**os.environ, "FAKE_MODE": "slow", "FAKE_MARKER": marker},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (
            out.exists()
            and len(results_doc(out)["benchmarks"][0]["trials"] if results_doc(out)["benchmarks"] else []) >= 2
        ):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err.strip().splitlines()[-1]
    doc = results_doc(out)
    assert doc["status"] == "interrupted"
    assert len(doc["benchmarks"][0]["trials"]) >= 2
    time.sleep(0.5)
    assert orphans(marker) == []
