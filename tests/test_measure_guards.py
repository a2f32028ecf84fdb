"""Guards of the host and of the record, each case for real: a second run on the
same CPUs, a memory cgroup's OOM kill, a full disk, and an interrupt where the
shell ignores it. Each asserts the one-line message, the exit code, and that
nothing finished is lost."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, harness_cmd, one_line_error, run_harness
from tests.test_cli import fake_suite

CPUS = sorted(os.sched_getaffinity(0))


def start(tmp_path: Path, out: Path, trials: int, env: dict | None = None, cpu: int | None = None, *extra: str):
    suite = fake_suite(tmp_path, trials=trials, cpu=cpu, name=f"fake-{uuid.uuid4().hex[:6]}")
    return subprocess.Popen(
        harness_cmd("run", "--suite", str(suite), "--out", str(out), *extra),
        cwd=ROOT,
        env={**os.environ, "FAKE_MODE": "sleepy", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_trials(out: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            doc = json.loads(out.read_text())
            if doc["benchmarks"] and len(doc["benchmarks"][0]["trials"]) >= n:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{out}: fewer than {n} trials after {timeout} s")


@pytest.mark.slow  # real harness runs held and released for seconds: the full suite's
def test_a_second_run_on_the_same_cpus_is_refused_or_waits(tmp_path):
    first_out = tmp_path / "first.json"
    first = start(tmp_path, first_out, trials=8)
    try:
        wait_for_trials(first_out, 1)
        second = tmp_path / "second.json"
        p = run_harness(
            "run",
            "--suite",
            str(fake_suite(tmp_path, trials=1, name="b")),
            "--out",
            str(second),
            env={"FAKE_MODE": "sleepy"},
        )
        last = one_line_error(
            p,
            2,
            f"CPU {CPUS[-1]} is pinned by another harness run",
            f"pid {first.pid}",
            str(first_out),
            "--wait-for-cpus",
        )
        assert "since" in last and not second.exists()  # refused before anything was built or written
        waiting = start(tmp_path, second, 1, None, None, "--wait-for-cpus")
        time.sleep(2)
        assert waiting.poll() is None and not second.exists()  # still waiting for the first
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        _, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0 and "waiting for CPU" in err, err
        assert json.loads(second.read_text())["status"] == "complete"
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs for two disjoint runs")  # every CI machine has two
@pytest.mark.slow  # real harness runs held and released for seconds: the full suite's
def test_runs_on_disjoint_cpus_proceed_and_record_each_other(tmp_path):
    a_out, b_out = tmp_path / "a.json", tmp_path / "b.json"
    a = start(tmp_path, a_out, trials=6, cpu=CPUS[0])
    try:
        wait_for_trials(a_out, 1)
        b = start(tmp_path, b_out, trials=1, cpu=CPUS[1])
        _, err = b.communicate(timeout=120)
        assert b.returncode == 0, err
        others = json.loads(b_out.read_text())["cpu_locks"]["other_runs"]
        assert any(o["pid"] == a.pid and o["results"] == str(a_out) for o in others), others
        _, err = a.communicate(timeout=120)
        assert a.returncode == 0, err
    finally:
        if a.poll() is None:
            a.kill()


def test_the_memory_guard_refuses_what_would_not_fit_in_one_line(tmp_path):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "live",
        "--runtimes",
        "go",
        "--set",
        "live.tasks=100000000",
        "--out",
        str(out),
    )
    one_line_error(
        p, 2, "live/go at live.tasks=100,000,000 needs about", "are available", "use live.tasks at most", "--force"
    )
    assert not out.exists()


def test_an_over_limit_workload_dies_alone_and_is_named(tmp_path, workloads):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "native",
        "--scenarios",
        "live",
        "--runtimes",
        "go",
        "--trials",
        "1",
        "--set",
        "live.warmup_trials=0",
        "--set",
        "live.tasks=300000",
        "--set",
        "memory.limit_mib=100",
        "--set",
        "trials.timeout_s=60",
        "--force",
        "--out",
        str(out),
        timeout=300,
    )
    assert p.returncode == 1, p.stderr
    (t,) = json.loads(out.read_text())["benchmarks"][0]["trials"]
    assert not t["ok"] and "killed by" in t["error"]
    assert "100 MiB, the trial's memory limit (memory.limit_mib)" in t["error"], t["error"]


@pytest.fixture
def enclosing_cgroup():
    """A 1.5 GiB memory cgroup nested where this test runs, as a CI job's container or a systemd slice
    would put the harness; (the cgroup's dir, the argv prefix that runs a command inside it)."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    v1 = [rel for _, ctl, rel in (x.split(":", 2) for x in lines) if "memory" in ctl.split(",")]
    v2 = not v1
    parent = (
        Path("/sys/fs/cgroup/memory") / v1[0].lstrip("/") if v1 else Path("/sys/fs/cgroup") / lines[0][3:].lstrip("/")
    )
    assert parent.is_dir(), "no memory cgroup on this host: the memory guard's tests need one"
    path = parent / f"cbh-test-enclosing-{os.getpid()}"
    path.mkdir()
    (path / ("memory.max" if v2 else "memory.limit_in_bytes")).write_text(str(1536 << 20))
    enter = ["sh", "-c", f'echo $$ > "{path / "cgroup.procs"}" && exec "$@"', "sh"]
    yield path, enter
    for _ in range(100):
        try:
            path.rmdir()
            break
        except OSError:
            time.sleep(0.05)


def test_the_memory_guard_and_every_trial_stay_inside_the_cgroup_the_harness_runs_in(
    tmp_path, workloads, enclosing_cgroup
):
    """Go's live at 1,000,000 tasks needs ~2.7 GB: in a 1.5 GiB cgroup it is refused before anything runs
    (the guard reads the smallest limit on the way up, not the host's free memory), and forced, its trial
    dies inside its own cgroup, nested under the enclosing one, at three quarters of that limit, while the
    harness lives on to name it."""
    path, enter = enclosing_cgroup
    args = ["run", "--suite", "quick", "--backend", "native", "--scenarios", "live", "--runtimes", "go"]
    args += ["--trials", "1", "--set", "live.warmup_trials=0", "--set", "live.tasks=1000000"]
    refused = subprocess.run(
        [*enter, *harness_cmd(*args, "--out", str(tmp_path / "a.json"))], capture_output=True, text=True, timeout=120
    )
    one_line_error(refused, 2, "live/go at live.tasks=1,000,000 needs about", "are available")
    available = re.search(r"([0-9.]+) GiB are available", refused.stderr)
    assert available and float(available.group(1)) <= 1.5, refused.stderr
    out = tmp_path / "b.json"
    forced = subprocess.run(
        [*enter, *harness_cmd(*args, "--set", "trials.timeout_s=120", "--force", "--out", str(out))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert forced.returncode == 1, forced.stderr
    (t,) = json.loads(out.read_text())["benchmarks"][0]["trials"]
    assert not t["ok"] and "killed by" in t["error"], t["error"]
    assert "1.12 GiB, the trial's memory limit" in t["error"], t["error"]
    assert not [d for d in path.iterdir() if d.is_dir()], "the trial's cgroup was not removed"


@pytest.mark.slow  # real harness runs held and released for seconds: the full suite's
def test_a_full_disk_keeps_every_finished_trial_and_resumes(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    assert subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)]).returncode == 0, "needs root"
    try:
        out = mnt / "r.json"
        run = start(tmp_path, out, 30, {"FAKE_SLEEP_S": "0.2"})
        wait_for_trials(out, 3)
        kept = len(json.loads(out.read_text())["benchmarks"][0]["trials"])
        filler = mnt / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)  # until ENOSPC
        _, err = run.communicate(timeout=120)
        assert run.returncode == 130, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("harness: cannot write") and "No space left on device" in last, err
        assert "finished trial(s)" in last and f"harness run --resume {out}" in last and "Traceback" not in err
        doc = json.loads(out.read_text())  # the last complete file, whole
        assert len(doc["benchmarks"][0]["trials"]) >= kept
        filler.unlink()
        p = run_harness("run", "--resume", str(out), env={"FAKE_MODE": "ok"})
        assert p.returncode == 0, p.stderr
        doc = json.loads(out.read_text())
        assert doc["status"] == "complete" and len(doc["benchmarks"][0]["trials"]) == 30
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def test_an_interrupt_interrupts_a_background_job_of_a_non_interactive_shell(tmp_path):
    out = tmp_path / "r.json"
    suite = fake_suite(tmp_path, trials=40)
    # a background job of a non-interactive shell starts with SIGINT ignored
    shell = subprocess.Popen(
        ["bash", "-c", f"{' '.join(harness_cmd('run', '--suite', str(suite), '--out', str(out)))} & echo $!; wait"],
        cwd=ROOT,
        env={**os.environ, "FAKE_MODE": "sleepy"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert shell.stdout is not None
    pid = int(shell.stdout.readline())
    wait_for_trials(out, 2)
    os.kill(pid, signal.SIGINT)
    _, err = shell.communicate(timeout=60)
    assert "interrupted" in err and f"harness run --resume {out}" in err, err
    assert json.loads(out.read_text())["status"] == "interrupted"
    assert shutil.which("bash")
