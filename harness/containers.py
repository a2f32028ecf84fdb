"""The docker backend's moving parts, all through the Docker SDK for Python:
the engine connection, workload images cached by content, and containers that
the runner drives exactly like processes (ContainerProc looks like a Popen).

Containers use host networking: the load generator and the server talk over
the host's loopback as in the native backend, with no docker-proxy or NAT in
the request path (a published port would put userland proxying or iptables
DNAT between them, which is not what is being measured).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import images
from harness.errors import HarnessError
from harness.host import ARCH_ALIASES

LABEL = images.LABEL
RUN_ID = uuid.uuid4().hex[:12]  # labels every container this harness process starts
WORKLOAD_REPOSITORY = "cbh"


# --- the engine -------------------------------------------------------------------


@dataclass
class Engine:
    client: object
    docker_host: str
    info: dict

    @property
    def arch(self) -> str:
        return ARCH_ALIASES.get(self.info.get("Architecture", ""), self.info.get("Architecture", "?"))

    @property
    def local(self) -> bool:
        """Host PIDs and cgroup files are readable here only when the engine runs on this machine."""
        return self.docker_host.startswith("unix://") or self.docker_host == ""

    def facts(self) -> dict:
        i = self.info
        return {"docker_host": self.docker_host or "unix:///var/run/docker.sock", "local": self.local,
                "engine_hostname": i.get("Name"), "server_version": i.get("ServerVersion"), "arch": self.arch,
                "cpus": i.get("NCPU"), "memory_bytes": i.get("MemTotal"), "kernel": i.get("KernelVersion"),
                "os": i.get("OperatingSystem"), "storage_driver": i.get("Driver"),
                "cgroup_version": i.get("CgroupVersion"), "cgroup_driver": i.get("CgroupDriver"),
                "sampling": "psutil on the container's host PID + its cgroup files" if self.local
                else "docker stats API (remote engine: ~1 s resolution, no per-process view)"}


def connect(timeout_s: float = 5) -> Engine | None:
    """The engine DOCKER_HOST names (ssh:// through the ssh client), or None if none answers."""
    import docker

    docker_host = os.environ.get("DOCKER_HOST", "")
    try:
        client = docker.from_env(timeout=timeout_s, use_ssh_client=docker_host.startswith("ssh://"))
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
        raise HarnessError(f"no Docker engine answers at {where}: start one (dockerd, or systemctl start docker) "
                           "or use --backend native")
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
    return text.startswith("enabled") and "F" in next((ln.split()[1] for ln in text.splitlines()
                                                       if ln.startswith("flags:")), "")


# --- workload images ----------------------------------------------------------------


@dataclass
class BuiltImage:
    """Stands where the native backend's Built does: `artifact_dir` is where the
    Dockerfile put the program inside the image."""
    runtime: str
    tag: str
    image_id: str
    arch: str
    cached: bool
    toolchain_version: str
    bases: dict[str, dict]
    artifact_dir: Path = Path("/app")
    cache_key: str = ""

    def to_json(self) -> dict:
        return {"image": self.tag, "image_id": self.image_id, "arch": self.arch, "cached": self.cached,
                "toolchain_version": self.toolchain_version, "base_images": self.bases, "cache_key": self.cache_key}


def context_files(source: Path, globs: tuple[str, ...]) -> list[Path]:
    files = {p for g in (*globs, "Dockerfile", ".dockerignore") for p in source.glob(g) if p.is_file()}
    return sorted(files)


def _base_images(engine: Engine, rt, arch: str) -> tuple[dict[str, str], dict[str, dict]]:
    """Build args naming the bootstrap images when present; otherwise the
    Dockerfile's defaults (official images, pulled by the engine) apply."""
    args, bases = {}, {}
    for arg, base_name in rt.image.bases.items():
        base = images.BASES[base_name]
        base_arch = engine.arch if base.role == "toolchain" else arch
        tag = base.tag(base_arch)
        found = images.find(engine.client, tag)
        if found is not None:
            args[arg] = tag
            bases[arg] = images.describe(found, tag, cached=True)
        else:
            bases[arg] = {"tag": None, "note": "Dockerfile default (official image)"}
    return args, bases


def _probe_version(engine: Engine, image: str | None, argv: tuple[str, ...]) -> str:
    if image is None:
        return "unknown (official image, not probed)"
    out = engine.client.containers.run(image, list(argv), remove=True, stdout=True, stderr=True, network_mode="none")
    return "; ".join(line.strip() for line in out.decode(errors="replace").splitlines() if line.strip())


def build_image(engine: Engine, rt, arch: str, log: Callable[[str], None]) -> BuiltImage:
    """Build rt's image for `arch`, or reuse the one whose content key matches."""
    import docker

    if rt.image is None or rt.source is None:
        raise HarnessError(f"runtime '{rt.name}' has no Dockerfile: the docker backend runs go, rust and java only")
    if rt.image.engine_arch_only:
        arch = engine.arch
    buildargs, bases = _base_images(engine, rt, arch)
    buildargs.update(rt.image.build_args(arch))
    h = hashlib.sha256(f"{rt.name}\0{arch}\0{json.dumps(buildargs, sort_keys=True)}\0".encode())
    for arg in sorted(bases):
        h.update(str(bases[arg].get("id")).encode())
    for f in context_files(rt.source, rt.source_globs):
        h.update(str(f.relative_to(rt.source)).encode() + b"\0" + f.read_bytes())
    key = h.hexdigest()[:16]
    tag = f"{WORKLOAD_REPOSITORY}/{rt.name}:{arch}-{key}"
    existing = images.find(engine.client, tag)
    if existing is not None:
        labels = existing.labels or {}
        return BuiltImage(rt.name, tag, existing.id, arch, True, labels.get(f"{LABEL}.toolchain-version", ""),
                          bases, cache_key=key)
    version = _probe_version(engine, buildargs.get("TOOLCHAIN_IMAGE"), rt.image.version_argv)
    labels = {f"{LABEL}.runtime": rt.name, f"{LABEL}.arch": arch, f"{LABEL}.toolchain-version": version,
              f"{LABEL}.key": key}
    log(f"docker build {tag} ({version}) ...")
    try:
        image, _ = engine.client.images.build(path=str(rt.source), tag=tag, buildargs=buildargs, labels=labels,
                                              network_mode="host", rm=True, forcerm=True, pull=False)
    except docker.errors.BuildError as e:
        lines = [str(c.get("stream") or c.get("error") or "").strip() for c in e.build_log]
        tail = [ln for ln in lines if ln][-12:]
        log("\n".join(tail))
        hint = ""
        if any("pull access denied" in ln or "manifest" in ln or "dial tcp" in ln or "lookup" in ln for ln in tail):
            hint = f": no registry reachable? run harness images bootstrap --arch {arch}"
        raise HarnessError(f"docker build of {rt.name} ({arch}) failed: {tail[-1] if tail else e.msg}{hint}") from None
    except docker.errors.APIError as e:
        raise HarnessError(f"docker build of {rt.name} ({arch}) failed: {e.explanation or e}: if no registry is "
                           f"reachable, run harness images bootstrap --arch {arch}") from None
    return BuiltImage(rt.name, tag, image.id, arch, False, version, bases, cache_key=key)


# --- containers shaped like processes ---------------------------------------------------


class _Lines:
    """A line iterator fed by the demultiplexing thread (like Popen's text stdout)."""

    def __init__(self) -> None:
        self.q: "queue.Queue[str | None]" = queue.Queue()

    def __iter__(self):
        while True:
            line = self.q.get()
            if line is None:
                return
            yield line

    def close(self) -> None:
        pass


class _Stdin:
    def __init__(self, sock) -> None:
        self.raw = getattr(sock, "_sock", sock)

    def write(self, text: str) -> None:
        self.raw.sendall(text.encode())

    def flush(self) -> None:
        pass

    def close(self) -> None:
        # Not a half-close: the engine ends the whole attach stream on stdin EOF,
        # and output still to come would be lost. A line is enough to release.
        pass


class ContainerProc:
    """One container, started attached, behaving like subprocess.Popen for the
    runner: stdout/stderr line iterators, stdin, pid, poll, wait, terminate."""

    def __init__(self, engine: Engine, container) -> None:
        from docker.utils.socket import frames_iter

        self.engine, self.container = engine, container
        self.returncode: int | None = None
        self.stdout, self.stderr = _Lines(), _Lines()
        # attached before start, so no output can be missed
        self._sock = engine.client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                                           "stream": 1})
        self.stdin = _Stdin(self._sock)
        container.start()
        container.reload()
        self.pid = container.attrs["State"]["Pid"] if engine.local else None
        self._frames = frames_iter(self._sock, tty=False)
        threading.Thread(target=self._demux, name=f"attach-{container.short_id}", daemon=True).start()

    def _demux(self) -> None:
        pending = {1: b"", 2: b""}
        sinks = {1: self.stdout, 2: self.stderr}
        try:
            for stream, data in self._frames:
                if stream not in sinks:
                    continue
                pending[stream] += data
                *lines, pending[stream] = pending[stream].split(b"\n")
                for line in lines:
                    sinks[stream].q.put(line.decode(errors="replace") + "\n")
        except Exception:  # the socket closes when the container is removed
            pass
        for stream, rest in pending.items():
            if rest:
                sinks[stream].q.put(rest.decode(errors="replace"))
            sinks[stream].q.put(None)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.container.reload()
            except Exception:
                return self.returncode
            state = self.container.attrs["State"]
            if state["Status"] in ("exited", "dead"):
                self.returncode = state["ExitCode"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.poll() is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.container.name, timeout)
            time.sleep(0.05)
        return self.returncode

    def terminate(self) -> None:
        try:
            self.container.kill(signal="SIGTERM")
        except Exception:
            pass

    def destroy(self) -> None:
        """Kill and remove; the container's own PID namespace takes every child with it."""
        import docker

        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            if "already in progress" not in str(e):
                raise
        try:
            self._sock.close()
        except Exception:
            pass
        if self.returncode is None:
            self.returncode = -9


@dataclass
class ContainerLauncher:
    """Starts each trial's program as one container of `image`, pinned, limited and labelled."""
    engine: Engine
    image: str
    memory_limit_bytes: int
    nofile: int
    labels: dict[str, str] = field(default_factory=dict)

    def start(self, argv: list[str], env: dict[str, str], cpus: list[int]) -> ContainerProc:
        from docker.types import Ulimit

        container = self.engine.client.containers.create(
            self.image, entrypoint=[argv[0]], command=argv[1:], environment=env, detach=True, stdin_open=True,
            cpuset_cpus=",".join(map(str, cpus)), mem_limit=self.memory_limit_bytes,
            memswap_limit=self.memory_limit_bytes,  # no swap: a workload over its limit fails, it does not page
            ulimits=[Ulimit(name="nofile", soft=self.nofile, hard=self.nofile)], network_mode="host",
            labels={**self.labels, **run_labels()})
        try:
            return ContainerProc(self.engine, container)
        except Exception:
            container.remove(force=True)
            raise

    def sampler(self, proc: ContainerProc, interval_s: float):
        from harness.sampler import Sampler, StatsSampler

        if self.engine.local:
            cgroup = CgroupMemory.of_pid(proc.pid)
            return Sampler(proc.pid, interval_s, cgroup=cgroup.with_socket_accounting() if cgroup else None)
        return StatsSampler(self.engine.client, proc.container.id, interval_s)

    def destroy(self, proc: ContainerProc) -> None:
        proc.destroy()


def run_labels() -> dict[str, str]:
    return {f"{LABEL}.managed": "1", f"{LABEL}.run": RUN_ID, f"{LABEL}.harness-pid": str(os.getpid()),
            f"{LABEL}.harness-host": socket.gethostname()}


def remove_leftovers(engine: Engine, only_this_run: bool = False) -> int:
    """Remove containers of this run, or those whose harness (on this host) is gone:
    a harness killed with SIGKILL cannot clean up, the next one does."""
    import psutil

    removed = 0
    for c in engine.client.containers.list(all=True, filters={"label": f"{LABEL}.managed=1"}):
        labels = c.labels or {}
        mine = labels.get(f"{LABEL}.run") == RUN_ID
        orphan = (labels.get(f"{LABEL}.harness-host") == socket.gethostname()
                  and not psutil.pid_exists(int(labels.get(f"{LABEL}.harness-pid", "0") or 0)))
        if mine or (orphan and not only_this_run):
            try:
                c.remove(force=True)
                removed += 1
            except Exception:
                pass
    return removed


# --- memory from the container's cgroup ---------------------------------------------


@dataclass
class CgroupMemory:
    """The container's memory cgroup, read from the host: usage, peak and the
    socket share (v2: memory.stat sock; v1: memory.kmem.tcp.usage_in_bytes)."""
    path: Path
    v2: bool

    @classmethod
    def of_pid(cls, pid: int | None) -> "CgroupMemory | None":
        if not pid:
            return None
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, controllers, rel = line.split(":", 2)
            if "memory" in controllers.split(","):
                return cls(Path("/sys/fs/cgroup/memory") / rel.lstrip("/"), False)
        for line in lines:
            if line.startswith("0::"):
                return cls(Path("/sys/fs/cgroup") / line[3:].lstrip("/"), True)
        return None

    def with_socket_accounting(self) -> "CgroupMemory | None":
        """cgroup v1 accounts socket buffers only once a tcp limit has been written
        (v2 always does): write the unlimited value it already has."""
        if not self.v2:
            try:
                limit = self.path / "memory.kmem.tcp.limit_in_bytes"
                limit.write_text(limit.read_text())
            except OSError:
                pass
        return self

    def _int(self, name: str) -> int | None:
        try:
            return int((self.path / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def read(self) -> tuple[int | None, int | None, int | None]:
        """(usage, peak, sock) in bytes; None where the kernel does not say."""
        if self.v2:
            sock = None
            try:
                for line in (self.path / "memory.stat").read_text().splitlines():
                    if line.startswith("sock "):
                        sock = int(line.split()[1])
            except OSError:
                pass
            return self._int("memory.current"), self._int("memory.peak"), sock
        return (self._int("memory.usage_in_bytes"), self._int("memory.max_usage_in_bytes"),
                self._int("memory.kmem.tcp.usage_in_bytes"))
