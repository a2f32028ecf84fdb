"""A remote Docker engine for real: a second dockerd on this machine (its own
data root, socket and containerd) reached only through ssh (an sshd on a
loopback port whose key for root sets DOCKER_HOST to that socket), running the
quick suite's three scenarios with the harness's remote path: the load
generator and the answer's verification in containers on that engine, memory
and CPU read from the workload's cgroup by a sampler container on it.

Needs root and a running engine (.ci/run, scripts/setup-machine.sh); never skipped."""

import json
import subprocess

import pytest

from tests import remote_engine
from tests.conftest import run_harness
from tests.remote_engine import SOCK

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def ssh_engine(tmp_path_factory):
    with remote_engine.ssh_engine(tmp_path_factory.mktemp("remote-engine")) as host:
        yield host


def test_the_quick_suite_runs_every_scenario_on_an_engine_reached_through_ssh(tmp_path, ssh_engine):
    out = tmp_path / "r.json"
    p = run_harness(
        "run",
        "--suite",
        "quick",
        "--backend",
        "docker",
        "--scenarios",
        "spawn,live,http",  # sampling and networking through ssh; startup in containers is tested on the local engine
        "--runtimes",
        "go,rust",  # what goes through ssh is the same for every runtime; Java in containers: the local engine's tests
        "--trials",
        "1",
        "--set",
        "live.warmup_trials=0",
        "--set",
        "spawn.tasks=50000",
        "--set",
        "http.stages=[50, 150]",
        "--out",
        str(out),
        env={"DOCKER_HOST": ssh_engine},
        timeout=1200,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["placement"]["docker_host"] == ssh_engine and doc["placement"]["local"] is False
    assert "sampler container" in doc["placement"]["sampling"]
    assert {b["scenario"] for b in doc["benchmarks"]} == {"spawn", "live", "http"}
    for b in [*doc["benchmarks"], doc["floors"]["http"]]:
        t = b["trials"][-1]
        assert t["ok"], (b["id"], t["error"])
        if b["runtime"] == "floor":
            continue
        ts = [s[0] for s in t["rss_series"]]
        gaps = [y - x for x, y in zip(ts, ts[1:], strict=False)]
        interval = 0.25 if b["scenario"] == "http" else 0.02  # http samples every 250 ms (sample_interval_ms)
        assert gaps and max(gaps) <= interval + 0.1, (b["id"], gaps)  # not the stats API's second
        assert "sampler container" in t["cpu"]["source"] and t["cpu"]["user_s"] > 0, (b["id"], t["cpu"])
    http = [b for b in doc["benchmarks"] if b["scenario"] == "http"]
    assert all(b["trials"][-1]["metrics"]["max_requests_per_sec"] > 0 for b in http)
    # nothing of the run is left on the remote engine
    left = subprocess.run(
        ["docker", "-H", f"unix://{SOCK}", "ps", "-aq", "--filter", "label=org.cbh.managed=1"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert left == []
