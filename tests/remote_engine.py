"""A second Docker engine on this machine, reached only through ssh: its own
dockerd (data root, socket, containerd) and an sshd on a loopback port whose key
for root sets DOCKER_HOST to that socket. Used by tests/test_backends_remote.py
and scripts/ssh_vs_local.py. Needs root, dockerd and openssh-server."""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SOCK = "/var/run/cbh-remote-docker.sock"
PORT = 2222
ALIAS = "cbh-remote-engine"
SSH_CONFIG = Path("/root/.ssh/config")
MARK = "# cbh remote-engine test"


def wait_for(cmd: list[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(cmd, capture_output=True).returncode == 0:
            return True
        time.sleep(0.5)
    return False


def images_the_suite_uses() -> list[str]:
    """Every image a docker run of the built-in runtimes and the load generator uses here (built if missing)."""
    from harness.backends.docker import base_images, engine, workload_images
    from harness.subjects import LOADGEN, RUNTIMES

    eng = engine.require()
    rts = [*RUNTIMES.values(), LOADGEN]
    tags = [n.tag for n in base_images.for_runtimes(rts, eng.arch, eng.arch)]
    tags += [workload_images.build_image(eng, rt, eng.arch, print).tag for rt in rts]
    return tags


@contextlib.contextmanager
def ssh_engine(work: Path):
    assert os.geteuid() == 0, "the remote-engine test starts a second dockerd and an sshd: run it as root (CI does)"
    assert shutil.which("sshd") or Path("/usr/sbin/sshd").exists(), "needs openssh-server (scripts/setup-machine.sh)"
    procs = []
    data, run = Path("/var/lib/cbh-remote-docker"), Path("/var/run/cbh-remote-docker")
    for d in (data, run, Path("/run/sshd")):
        d.mkdir(parents=True, exist_ok=True)
    if not wait_for(["docker", "-H", f"unix://{SOCK}", "info"], 1):
        procs.append(
            subprocess.Popen(
                [
                    "dockerd",
                    "--data-root",
                    str(data),
                    "--exec-root",
                    str(run),
                    "-H",
                    f"unix://{SOCK}",
                    "--pidfile",
                    f"{run}.pid",
                    "--bridge=none",
                    "--iptables=false",
                    "--ip-masq=false",
                ],
                stdout=open(work / "dockerd.log", "w"),
                stderr=subprocess.STDOUT,
            )
        )
        assert wait_for(["docker", "-H", f"unix://{SOCK}", "info"], 60), (work / "dockerd.log").read_text()[-2000:]
    # the images the quick suite needs, copied (a remote engine would build them itself; that takes minutes)
    tags = images_the_suite_uses()
    missing = [
        t
        for t in tags
        if subprocess.run(["docker", "-H", f"unix://{SOCK}", "image", "inspect", t], capture_output=True).returncode
        != 0
    ]
    if missing:
        save = subprocess.Popen(["docker", "save", *missing], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "-H", f"unix://{SOCK}", "load", "-q"], stdin=save.stdout, check=True, capture_output=True
        )
        assert save.wait() == 0
    # an sshd on loopback; the key it accepts for root points docker at the second engine's socket
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True)
    (work / "authorized_keys").write_text(
        f'environment="DOCKER_HOST=unix://{SOCK}" ' + (work / "client.pub").read_text()
    )
    (work / "sshd_config").write_text(
        f"Port {PORT}\nListenAddress 127.0.0.1\nHostKey {work / 'host'}\n"
        f"AuthorizedKeysFile {work / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nPermitUserEnvironment yes\nUsePAM no\n"
        f"StrictModes no\nPidFile {work / 'sshd.pid'}\n"
    )
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    procs.append(subprocess.Popen([sshd, "-D", "-f", str(work / "sshd_config"), "-E", str(work / "sshd.log")]))
    SSH_CONFIG.parent.mkdir(mode=0o700, exist_ok=True)
    previous = SSH_CONFIG.read_text() if SSH_CONFIG.exists() else ""
    SSH_CONFIG.write_text(
        f"{MARK}\nHost {ALIAS}\n  HostName 127.0.0.1\n  Port {PORT}\n  User root\n"
        f"  IdentityFile {work / 'client'}\n  StrictHostKeyChecking no\n"
        f"  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n{MARK} end\n{previous}"
    )
    try:
        assert wait_for(["ssh", ALIAS, "docker", "info"], 30), (work / "sshd.log").read_text()[-2000:]
        yield f"ssh://root@{ALIAS}:{PORT}"  # the SDK passes the port itself (22 when none is given)
    finally:
        SSH_CONFIG.write_text(previous)
        subprocess.run(
            [
                "docker",
                "-H",
                f"unix://{SOCK}",
                "rm",
                "-f",
                *subprocess.run(
                    ["docker", "-H", f"unix://{SOCK}", "ps", "-aq"], capture_output=True, text=True
                ).stdout.split(),
            ],
            capture_output=True,
        )
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
