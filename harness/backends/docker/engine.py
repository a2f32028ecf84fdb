"""The Docker engine the docker backend talks to, through the Docker SDK for
Python: DOCKER_HOST honoured (ssh:// through the ssh client), what it is,
whether it can emulate another architecture, and its own limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends.base import Placement
from harness.errors import HarnessError
from harness.measure.host import ARCH_ALIASES


@dataclass
class Engine:
    client: Any  # docker.DockerClient
    docker_host: str
    info: dict

    @property
    def arch(self) -> str:
        return ARCH_ALIASES.get(self.info.get("Architecture", ""), self.info.get("Architecture", "?"))

    @property
    def local(self) -> bool:
        """Host PIDs and cgroup files are readable here only when the engine runs on this machine."""
        return self.docker_host.startswith("unix://") or self.docker_host == ""

    def placement(self, trial_memory_limit_bytes: int = 0, nofile: int = 0) -> Placement:
        i = self.info
        return Placement(
            engine="docker",
            arch=self.arch,
            local=self.local,
            sampling="psutil on the container's host PID + its cgroup files, every sampling.interval_ms"
            if self.local
            else "a sampler container on the remote engine reading the workload's cgroup every "
            "sampling.interval_ms (the docker stats API, ~1 s, where the engine's cgroup driver is systemd)",
            memory_bytes=i.get("MemTotal"),
            trial_memory_limit_bytes=trial_memory_limit_bytes,
            nofile=nofile,
            cpus=i.get("NCPU"),
            docker_host=self.docker_host or "unix:///var/run/docker.sock",
            engine_hostname=i.get("Name"),
            server_version=i.get("ServerVersion"),
            kernel=i.get("KernelVersion"),
            os=i.get("OperatingSystem"),
            storage_driver=i.get("Driver"),
            cgroup_version=i.get("CgroupVersion"),
            cgroup_driver=i.get("CgroupDriver"),
        )


def connect(timeout_s: float = 5, docker_host: str | None = None) -> Engine | None:
    """The engine `docker_host` (else DOCKER_HOST) names (ssh:// through the ssh client), or None if none
    answers."""
    import docker

    docker_host = os.environ.get("DOCKER_HOST", "") if docker_host is None else docker_host
    try:
        ssh = docker_host.startswith("ssh://")
        client = (
            docker.DockerClient(base_url=docker_host, timeout=timeout_s, use_ssh_client=ssh)
            if docker_host
            else docker.from_env(timeout=timeout_s, use_ssh_client=ssh)
        )
        client.ping()
        info = client.info()
    except Exception:  # any failure to reach an engine means "no engine" to the caller
        return None
    client.api.timeout = 600  # builds and imports are long; trials have their own deadlines
    return Engine(client, docker_host, info)


def require(timeout_s: float = 5) -> Engine:
    engine = connect(timeout_s)
    if engine is None:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise HarnessError(
            f"no Docker engine answers at {where}: start one (dockerd, or systemctl start docker) "
            "or use --backend native"
        )
    return engine


def engine_nofile_limit(engine: Engine) -> int | None:
    """dockerd's hard open-files limit, which no container may exceed (local engines only)."""
    import psutil

    if not engine.local:
        return None
    for p in psutil.process_iter(["name"]):
        if p.info["name"] == "dockerd":
            try:
                return p.rlimit(psutil.RLIMIT_NOFILE)[1]
            except (psutil.Error, OSError):
                return None
    return None


def emulation_available(arch: str) -> bool:
    """qemu-user registered with binfmt_misc for `arch` (the F flag makes it work inside containers)."""
    name = {"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}.get(arch)
    try:
        text = Path(f"/proc/sys/fs/binfmt_misc/{name}").read_text()
    except OSError:
        return False
    return text.startswith("enabled") and "F" in next(
        (ln.split()[1] for ln in text.splitlines() if ln.startswith("flags:")), ""
    )
