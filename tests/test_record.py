"""The results file as a contract: what the writer writes validates against the
published schema, older versions are read through their migration, every
reader refuses a malformed file with exit 2 and one line naming the file, the
JSON path and what was expected, and a harness killed with SIGKILL leaves no
process behind and a file that the next reader marks crashed."""

import json
import math
import os
import signal
import subprocess
import time

import jsonschema
import psutil
import pytest

from harness.record import model
from tests.conftest import ROOT, harness_cmd, one_line_error, run_cli, run_harness
from tests.fixtures import make_doc
from tests.test_cli import fake_suite


def test_schema_is_valid_and_the_writer_writes_to_it(tmp_path):
    jsonschema.Draft7Validator.check_schema(model.SCHEMA)
    out = tmp_path / "r.json"
    assert run_harness("run", "--suite", str(fake_suite(tmp_path)), "--out", str(out)).returncode == 0
    doc = json.loads(out.read_text())
    jsonschema.Draft7Validator(model.SCHEMA).validate(doc)  # an independent validator agrees
    assert doc["schema_version"] == model.SCHEMA_VERSION and "emulated" not in doc["host"]
    assert doc["harness_process"]["pid"] and doc["harness_process"]["hostname"]


def test_writer_never_writes_non_finite_numbers(tmp_path):
    from harness.record.trial import TrialRecord
    from harness.record.writer import ResultsFile

    placement = {"engine": "native", "arch": "amd64", "local": True}
    f = ResultsFile(
        tmp_path / "r.json", {"arch": "amd64", "emulated": False, "backend": "native", "placement": placement}
    )
    f.benchmark("spawn/x", "spawn", "x", params={}, metrics={"m": {"label": "m", "unit": "x", "better": "higher"}})
    f.add_trial("spawn/x", TrialRecord(ok=True, metrics={"m": math.nan, "n": math.inf}))
    doc = json.loads((tmp_path / "r.json").read_text())  # strict JSON: would fail on NaN
    assert doc["benchmarks"][0]["trials"][0]["metrics"] == {"m": None, "n": None}
    model.validate(doc, "r.json")


def test_version_1_files_are_migrated(tmp_path):
    v1 = make_doc()
    v1["schema_version"] = 1
    v1["host"]["emulated"] = v1.pop("emulated")
    v1.pop("harness_process")
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    results = model.load(path)
    assert results.emulated is False and "emulated" not in results.host
    assert json.loads(path.read_text())["schema_version"] == 1  # reading never rewrites a migrated file
    assert run_cli("summary", str(path)).returncode == 0


def test_version_3_files_are_migrated_with_what_their_descriptors_declared():
    """Version 4 records per subject which keys choose its toolchain and which run settings readers show,
    and where the trials ran as a placement: a version 3 file gets them from the descriptors of its day."""
    v3 = make_doc()
    v3["schema_version"] = 3
    v3.pop("placement")
    v3["docker"] = {"docker_host": "tcp://e:2375", "local": False, "arch": "amd64", "sampling": "remote"}
    v3["suite"]["runtime"] = {"java": {"gc": "Z", "jvm_flags": ["-Xmx1g"], "jdk": "21", "env": {}}}
    for s in v3["subjects"].values():
        for k in ("toolchain_keys", "toolchain_settings", "run_settings"):
            s.pop(k, None)
    r = model.from_doc(model.validate(v3, "v3.json"))
    assert r.raw["placement"]["engine"] == "docker" and r.raw["placement"]["local"] is False
    assert r.toolchain_keys("java") == ["jdk"] and r.toolchain_keys("go") == ["toolchain"]
    assert "gc=Z" in r.setup_of("java") and "jvm_flags=-Xmx1g" in r.setup_of("java")
    assert "gc=" not in r.setup_of("go")


def _damage(doc, how):
    b = doc["benchmarks"][0]
    if how == "no trials":
        del b["trials"]
    elif how == "string metric":
        b["trials"][1]["metrics"]["tasks_per_sec"] = "fast"
    elif how == "nan metric":
        b["trials"][1]["metrics"]["tasks_per_sec"] = math.nan
    elif how == "bad status":
        doc["status"] = "finished-ish"
    elif how == "bad direction":
        b["metrics"]["tasks_per_sec"]["better"] = "sideways"
    elif how == "newer version":
        doc["schema_version"] = 99
    return doc


CASES = {  # damage -> (JSON path in the message, what was expected)
    "no trials": ("$.benchmarks[0]", "trials"),
    "string metric": ("$.benchmarks[0].trials[1].metrics.tasks_per_sec", "number or null"),
    "nan metric": ("$.benchmarks[0].trials[1].metrics.tasks_per_sec", "finite number"),
    "bad status": ("$.status", "running"),
    "bad direction": ("$.benchmarks[0].metrics.tasks_per_sec.better", "higher"),
    "newer version": ("version 99", "upgrade the harness"),
}


@pytest.mark.parametrize("how", sorted(CASES))
def test_every_reader_refuses_a_damaged_file_in_one_line(tmp_path, how):
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(_damage(make_doc(), how), allow_nan=True))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_doc()))
    where, expected = CASES[how]
    for args in (
        ["summary", str(path)],
        ["report", str(path), "--out", str(tmp_path / "r.html")],
        ["gate", "--baseline", str(good), "--candidate", str(path)],
        ["export", str(path), "--pyperf", str(tmp_path / "p.json")],
        ["publish", str(path), "--release", "v1", "--site", str(tmp_path / "site")],
    ):
        one_line_error(run_cli(*args), 2, str(path), where, expected)


def test_not_json_and_not_ours(tmp_path):
    broken, foreign, folder = tmp_path / "broken.json", tmp_path / "foreign.json", tmp_path / "dir.json"
    broken.write_text('{"schema": "harness-results", ')
    foreign.write_text('{"hello": 1}')
    folder.mkdir()
    one_line_error(run_cli("summary", str(broken)), 2, "not readable JSON")
    one_line_error(run_cli("summary", str(foreign)), 2, "not a harness results file")
    one_line_error(run_cli("summary", str(folder)), 2, "is a directory")


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_sigkill_of_the_harness_leaves_no_workload_and_the_file_is_marked_crashed(tmp_path):
    ready = tmp_path / "ready"
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        harness_cmd("run", "--suite", str(fake_suite(tmp_path, trials=3)), "--out", str(out)),
        cwd=ROOT,
        env={**os.environ, "FAKE_MODE": "block", "FAKE_READY_FILE": str(ready)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert _wait_for(lambda: ready.exists() and ready.read_text())
    child = psutil.Process(int(ready.read_text()))  # asleep, writing nothing: it dies only if it is killed
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_for(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, timeout=10)
    assert json.loads(out.read_text())["status"] == "running"  # the killed harness could not say otherwise
    p = run_harness("summary", str(out))
    assert p.returncode == 0 and "crashed" in p.stdout, p.stdout + p.stderr
    assert json.loads(out.read_text())["status"] == "crashed"  # marked for every later reader too


def test_sigkill_during_an_http_trial_leaves_no_server_and_no_load_generator(tmp_path, workloads):
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        harness_cmd(
            "run",
            "--suite",
            "quick",
            "--backend",
            "native",
            "--runtimes",
            "go",
            "--scenarios",
            "http",
            "--trials",
            "1",
            "--set",
            "trials.warmup=0",
            "--set",
            "http.warmup_s=0",
            "--set",
            "http.stage_duration_s=30",
            "--out",
            str(out),
        ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def children():
        try:
            return psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def command_line(child: psutil.Process) -> str:
        try:
            return " ".join(child.cmdline())
        except psutil.Error:  # a build step that just ended (a zombie) or is gone
            return ""

    def trial_running():  # the load generator of a trial, not a build of it
        return any(" respond " in (cmd := command_line(c)) or " ramp " in cmd for c in children())

    try:
        assert _wait_for(trial_running, timeout=300)
        pids = [c.pid for c in children()]
    finally:  # a failed wait must not leave a harness holding the CPUs for the tests after this one
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    assert _wait_for(lambda: not any(alive(p) for p in pids), timeout=10), [p for p in pids if alive(p)]
    # the next run into the same directory marks the file crashed, and says so
    assert json.loads(out.read_text())["status"] == "running"
    p = run_harness("run", "--suite", str(fake_suite(tmp_path)), "--out", str(tmp_path / "next.json"))
    assert p.returncode == 0 and "marked crashed" in p.stderr, p.stderr
    assert json.loads(out.read_text())["status"] == "crashed"
