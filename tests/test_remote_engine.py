"""A remote Docker engine for real: a second dockerd on this machine (its own
data root, socket and containerd) reached only through ssh (an sshd on a
loopback port whose key for root sets DOCKER_HOST to that socket), running the
quick suite's three scenarios with the harness's remote path: the load
generator and the answer's verification in containers on that engine, memory
and CPU read from the workload's cgroup by a sampler container on it.

Needs root and a running engine (.ci/run, scripts/setup-machine.sh); never skipped."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import run_harness

pytestmark = pytest.mark.docker
SOCK = "/var/run/cbh-remote-docker.sock"
PORT = 2222
ALIAS = "cbh-remote-engine"
SSH_CONFIG = Path("/root/.ssh/config")
MARK = "# cbh remote-engine test"


def _wait(cmd: list[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(cmd, capture_output=True).returncode == 0:
            return True
        time.sleep(0.5)
    return False


def _images_the_suite_uses() -> list[str]:
    """Every image a docker run of the built-in runtimes and the load generator uses here (built if missing)."""
    from harness.backends.docker import base_images, engine, workload_images
    from harness.subjects import LOADGEN, RUNTIMES

    eng = engine.require()
    rts = [*RUNTIMES.values(), LOADGEN]
    tags = [n.tag for n in base_images.for_runtimes(rts, eng.arch, eng.arch)]
    tags += [workload_images.build_image(eng, rt, eng.arch, print).tag for rt in rts]
    return tags


@pytest.fixture(scope="module")
def ssh_engine(tmp_path_factory):
    assert os.geteuid() == 0, "the remote-engine test starts a second dockerd and an sshd: run it as root (CI does)"
    assert shutil.which("sshd") or Path("/usr/sbin/sshd").exists(), "needs openssh-server (scripts/setup-machine.sh)"
    work = tmp_path_factory.mktemp("remote-engine")
    procs = []
    data, run = Path("/var/lib/cbh-remote-docker"), Path("/var/run/cbh-remote-docker")
    for d in (data, run, Path("/run/sshd")):
        d.mkdir(parents=True, exist_ok=True)
    if not _wait(["docker", "-H", f"unix://{SOCK}", "info"], 1):
        procs.append(subprocess.Popen(
            ["dockerd", "--data-root", str(data), "--exec-root", str(run), "-H", f"unix://{SOCK}",
             "--pidfile", f"{run}.pid", "--bridge=none", "--iptables=false", "--ip-masq=false"],
            stdout=open(work / "dockerd.log", "w"), stderr=subprocess.STDOUT))
        assert _wait(["docker", "-H", f"unix://{SOCK}", "info"], 60), (work / "dockerd.log").read_text()[-2000:]
    # the images the quick suite needs, copied (a remote engine would build them itself; that takes minutes)
    tags = _images_the_suite_uses()
    missing = [t for t in tags if subprocess.run(["docker", "-H", f"unix://{SOCK}", "image", "inspect", t],
                                                 capture_output=True).returncode != 0]
    if missing:
        save = subprocess.Popen(["docker", "save", *missing], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", f"unix://{SOCK}", "load", "-q"], stdin=save.stdout, check=True,
                       capture_output=True)
        assert save.wait() == 0
    # an sshd on loopback; the key it accepts for root points docker at the second engine's socket
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True)
    (work / "authorized_keys").write_text(f'environment="DOCKER_HOST=unix://{SOCK}" '
                                          + (work / "client.pub").read_text())
    (work / "sshd_config").write_text(
        f"Port {PORT}\nListenAddress 127.0.0.1\nHostKey {work / 'host'}\nAuthorizedKeysFile {work / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nPermitUserEnvironment yes\nUsePAM no\n"
        f"StrictModes no\nPidFile {work / 'sshd.pid'}\n")
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    procs.append(subprocess.Popen([sshd, "-D", "-f", str(work / "sshd_config"), "-E", str(work / "sshd.log")]))
    SSH_CONFIG.parent.mkdir(mode=0o700, exist_ok=True)
    previous = SSH_CONFIG.read_text() if SSH_CONFIG.exists() else ""
    SSH_CONFIG.write_text(f"{MARK}\nHost {ALIAS}\n  HostName 127.0.0.1\n  Port {PORT}\n  User root\n"
                          f"  IdentityFile {work / 'client'}\n  StrictHostKeyChecking no\n"
                          f"  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n{MARK} end\n{previous}")
    try:
        assert _wait(["ssh", ALIAS, "docker", "info"], 30), (work / "sshd.log").read_text()[-2000:]
        yield f"ssh://root@{ALIAS}:{PORT}"  # the SDK passes the port itself (22 when none is given)
    finally:
        SSH_CONFIG.write_text(previous)
        subprocess.run(["docker", "-H", f"unix://{SOCK}", "rm", "-f",
                        *subprocess.run(["docker", "-H", f"unix://{SOCK}", "ps", "-aq"], capture_output=True,
                                        text=True).stdout.split()], capture_output=True)
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_the_quick_suite_runs_every_scenario_on_an_engine_reached_through_ssh(tmp_path, ssh_engine):
    out = tmp_path / "r.json"
    p = run_harness("run", "--suite", "quick", "--backend", "docker", "--trials", "1", "--set", "live.warmup_trials=0",
                    "--set", "spawn.tasks=50000", "--set", "http.stages=[50, 150]", "--out", str(out),
                    env={"DOCKER_HOST": ssh_engine}, timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["docker"]["docker_host"] == ssh_engine and doc["docker"]["local"] is False
    assert "sampler container" in doc["docker"]["sampling"]
    assert {b["scenario"] for b in doc["benchmarks"]} == {"spawn", "live", "http"}
    for b in [*doc["benchmarks"], doc["floor"]]:
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
    left = subprocess.run(["docker", "-H", f"unix://{SOCK}", "ps", "-aq", "--filter", "label=org.cbh.managed=1"],
                          capture_output=True, text=True).stdout.split()
    assert left == []
