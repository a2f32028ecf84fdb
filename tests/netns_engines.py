"""Docker engines on "hosts" of their own, on this machine: each in a network namespace joined to this
host's by a veth pair on a bridge (10.99.0.1 here, 10.99.0.2... there), so that traffic between the
server (on this host's engine) and a load generator (on theirs) crosses a real interface, not loopback.
Each engine is its own dockerd (data root, socket, containerd) whose containers' host network is its
namespace's. Used by tests/test_loadgen_engines.py. Needs root, iproute2 and dockerd."""

import contextlib
import shutil
import signal
import subprocess
from pathlib import Path

from tests.remote_engine import wait_for

BRIDGE = "cbh-br0"
SERVER_ADDRESS = "10.99.0.1"


def sock(i: int) -> str:
    return f"/var/run/cbh-gen{i}.sock"


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


def _teardown(n: int) -> None:
    for i in range(1, n + 1):
        _ip("netns", "del", f"cbh-gen{i}", check=False)  # takes its end of the veth pair with it
        _ip("link", "del", f"cbh-veth{i}", check=False)
    _ip("link", "del", BRIDGE, check=False)


@contextlib.contextmanager
def engines(work: Path, n: int = 2):
    """n engines, each in its namespace; yields their unix:// addresses."""
    assert shutil.which("ip") and shutil.which("dockerd") and shutil.which("nsenter"), "needs iproute2 and dockerd"
    _teardown(n)
    procs = []
    try:
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{SERVER_ADDRESS}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        for i in range(1, n + 1):
            ns = f"cbh-gen{i}"
            _ip("netns", "add", ns)
            _ip("link", "add", f"cbh-veth{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", f"cbh-veth{i}", "master", BRIDGE, "up")
            _ip("-n", ns, "addr", "add", f"10.99.0.{i + 1}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            data, run = Path(f"/var/lib/cbh-gen{i}"), Path(f"/var/run/cbh-gen{i}")
            for d in (data, run):
                d.mkdir(parents=True, exist_ok=True)
            # nsenter, not `ip netns exec`: that remounts /sys, and dockerd needs the host's cgroup tree
            procs.append(
                subprocess.Popen(
                    [
                        "nsenter",
                        f"--net=/var/run/netns/{ns}",
                        "dockerd",
                        "--data-root",
                        str(data),
                        "--exec-root",
                        str(run),
                        "-H",
                        f"unix://{sock(i)}",
                        "--pidfile",
                        f"{run}.pid",
                        "--bridge=none",
                        "--iptables=false",
                        "--ip-masq=false",
                    ],
                    stdout=open(work / f"dockerd{i}.log", "w"),
                    stderr=subprocess.STDOUT,
                )
            )
        for i in range(1, n + 1):
            assert wait_for(["docker", "-H", f"unix://{sock(i)}", "info"], 60), (work / f"dockerd{i}.log").read_text()[
                -2000:
            ]
        # the namespaces reach this host's address, and only through the bridge
        for i in range(1, n + 1):
            ping = ["nsenter", f"--net=/var/run/netns/cbh-gen{i}", "ping", "-c", "1", "-W", "2", SERVER_ADDRESS]
            assert shutil.which("ping") is None or subprocess.run(ping, capture_output=True).returncode == 0
        yield [f"unix://{sock(i)}" for i in range(1, n + 1)]
    finally:
        for i in range(1, n + 1):
            left = subprocess.run(
                ["docker", "-H", f"unix://{sock(i)}", "ps", "-aq"], capture_output=True, text=True
            ).stdout.split()
            if left:
                subprocess.run(["docker", "-H", f"unix://{sock(i)}", "rm", "-f", *left], capture_output=True)
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        _teardown(n)
