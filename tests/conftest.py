import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends.native import build
from harness.subjects import RUNTIMES

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@pytest.fixture(scope="session")
def workloads():
    """Build (or reuse the cache of) all three workloads; returns name -> launcher(workers) -> argv prefix.

    A missing toolchain fails the suite loudly: these tests never skip when CI lacks one."""
    return {name: _launcher(rt) for name, rt in RUNTIMES.items()}


def _launcher(rt):
    tc = rt.toolchain()
    built = build(rt, tc)
    return lambda workers: rt.launch(built.artifact_dir, workers, rt.default_settings(), tc)


def harness_cmd(*args: str) -> list[str]:
    return [PY, "-m", "harness", *args]


def run_harness(*args: str, env: dict | None = None, timeout: float = 600, cwd: Path = ROOT):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(harness_cmd(*args), cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """A reader command (summary, report, publish, gate, export) run in this process, its output captured:
    what `run_harness` checks, without a Python start-up per call. Commands that run trials, take locks or
    receive signals stay in their own process (run_harness)."""
    import io
    import signal
    from contextlib import redirect_stderr, redirect_stdout

    from harness import cli

    out, err = io.StringIO(), io.StringIO()
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(list(args))
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    return subprocess.CompletedProcess(["harness", *args], code, out.getvalue(), err.getvalue())


def one_line_error(proc, code, *needles):
    """The CLI failed the way the README promises: exit `code`, no traceback, and a
    last stderr line `harness: ...` containing every needle."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("harness: "), proc.stderr
    for n in needles:
        assert n in last, last
    return last


def pytest_collection_modifyitems(items):
    """`slow` is every test that builds or runs the real workloads (it asks for the `workloads`
    fixture, directly or through another) or needs a Docker engine: `make test-fast` leaves them out."""
    for item in items:
        if "workloads" in getattr(item, "fixturenames", ()) or item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.slow)
