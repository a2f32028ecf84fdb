"""Containers shaped like processes: the runner drives a trial's container
exactly like a child process (ContainerProc looks like subprocess.Popen), and
every container is labelled so that it never outlives its harness.

Containers use host networking: the load generator and the server talk over
the host's loopback as in the native backend, with no docker-proxy or NAT in
the request path (a published port would put userland proxying or iptables
DNAT between them, which is not what is being measured).
"""

from __future__ import annotations

import io
import os
import queue
import socket
import subprocess
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.backends.docker.base_images import LABEL
from harness.backends.docker.engine import Engine
from harness.measure.cgroup import CgroupMemory, CpuAccount
from harness.measure.sampler import Sampler, StatsSampler, StreamSampler
from harness.record.units import fmt_value

PROFILE_DIR = "/tmp/cbh-profile"  # where a profiled container writes its profile (WORKLOAD_CPUPROFILE)
RUN_ID = uuid.uuid4().hex[:12]  # labels every container this harness process starts


class _Lines:
    """A line iterator fed by the demultiplexing thread (like Popen's text stdout)."""

    def __init__(self) -> None:
        self.q: queue.Queue[str | None] = queue.Queue()

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
        self.cpu_account: CpuAccount | None = None
        self.sampler_container: Any = None  # a remote engine's sampler, removed with this container
        self.stream_sampler: StreamSampler | None = None
        self.stdout, self.stderr = _Lines(), _Lines()
        # attached before start, so no output can be missed
        self._sock = engine.client.api.attach_socket(
            container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
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
        while (code := self.poll()) is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.container.name, timeout or 0.0)
            time.sleep(0.05)
        return code

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
    sampler_image: str | None = None  # the load generator's image: samples a remote engine's cgroups
    _accounts: ClassVar[int] = 0  # numbers this process's per-trial parent cgroups

    def start(
        self, argv: list[str], env: dict[str, str], cpus: list[int], sample_interval_s: float = 0
    ) -> ContainerProc:
        from docker.types import Ulimit

        account = self._cpu_account()
        container = self.engine.client.containers.create(
            self.image,
            entrypoint=[argv[0]],
            command=argv[1:],
            environment=env,
            detach=True,
            stdin_open=True,
            cpuset_cpus=",".join(map(str, cpus)),
            mem_limit=self.memory_limit_bytes,
            memswap_limit=self.memory_limit_bytes,  # no swap: a workload over its limit fails, it does not page
            ulimits=[Ulimit(name="nofile", soft=self.nofile, hard=self.nofile)],
            network_mode="host",
            labels={**self.labels, **run_labels()},
            **({"cgroup_parent": account.docker_parent} if account else {}),
        )
        remote_sampler = None
        try:
            if account and self.sampler_image and not self.engine.local and sample_interval_s > 0:
                # started first and waiting for the cgroup: a short trial is sampled from its first moment
                remote_sampler = self._remote_sampler(container.id, account, sample_interval_s)
            proc = ContainerProc(self.engine, container)
        except Exception:
            container.remove(force=True)
            if remote_sampler:
                remote_sampler[0].remove(force=True)
            if account:
                account.remove()
            raise
        proc.cpu_account = account
        if remote_sampler:
            proc.sampler_container, proc.stream_sampler = remote_sampler
        return proc

    def _cpu_account(self) -> CpuAccount | None:
        """A parent cgroup for the container, read for its exact CPU time after it
        exits (here, or on a remote engine by the sampler container): engines with
        the cgroupfs driver (with systemd's, the parent would have to be a slice)."""
        if self.engine.info.get("CgroupDriver") != "cgroupfs":
            return None
        ContainerLauncher._accounts += 1
        return CpuAccount(
            f"cbh-{RUN_ID}-{ContainerLauncher._accounts}", str(self.engine.info.get("CgroupVersion")) == "2"
        )

    def exit_cpu(self, proc: ContainerProc) -> dict:
        if not self.engine.local:  # read on the engine's machine by the sampler container, after the exit
            final = proc.stream_sampler.wait_final(10) if proc.stream_sampler else None
            if not final and proc.sampler_container is not None:
                final = _final_from_logs(proc.sampler_container)  # the followed log stream can drop over ssh
            if final and final.get("exit_cpu_user_ns") is not None:
                return {
                    "user_s": final["exit_cpu_user_ns"] / 1e9,
                    "system_s": final["exit_cpu_system_ns"] / 1e9,
                    "source": "the container's parent cgroup, read on the engine by the sampler container",
                }
        cpu = proc.cpu_account.read() if proc.cpu_account and self.engine.local else None
        if cpu is not None:
            return {"user_s": cpu[0], "system_s": cpu[1], "source": "the container's parent cgroup (cpuacct)"}
        return {"user_s": None, "system_s": None, "source": "unavailable (remote engine or systemd cgroup driver)"}

    def died_of(self, proc: ContainerProc) -> str | None:
        """Why the container died, where the engine says so (its OOM killer)."""
        try:
            proc.container.reload()
        except Exception:
            return None
        if (proc.container.attrs.get("State") or {}).get("OOMKilled"):
            return (
                f"killed by the kernel's OOM killer at {fmt_value(self.memory_limit_bytes, 'B')}, the container's "
                "memory limit (docker.memory_limit_mib)"
            )
        return None

    def profile_target(self, host_dir: Path) -> str:
        return PROFILE_DIR

    def copy_out(self, proc: ContainerProc, inside: str, host_dir: Path) -> None:
        """The exited container's files under `inside`, through the engine (remote ones too)."""
        import docker

        try:
            stream, _ = proc.container.get_archive(inside)
        except docker.errors.NotFound:
            return  # nothing written: the caller says so
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            for member in tar.getmembers():
                f = tar.extractfile(member) if member.isfile() else None
                if f is not None:
                    (host_dir / Path(member.name).name).write_bytes(f.read())

    def sampler(self, proc: ContainerProc, interval_s: float) -> Sampler:
        if self.engine.local and proc.pid:
            cgroup = CgroupMemory.of_pid(proc.pid)
            return Sampler(proc.pid, interval_s, cgroup=cgroup.with_socket_accounting() if cgroup else None)
        if proc.stream_sampler is not None:  # a remote engine: its sampler container runs already
            return proc.stream_sampler
        return StatsSampler(self.engine.client, proc.container.id, interval_s)

    def _remote_sampler(self, container_id: str, account: CpuAccount, interval_s: float) -> tuple[Any, StreamSampler]:
        """On a remote engine: a small container of the load generator's image on that
        engine reads the workload's cgroup every interval (the stats API gives one
        sample a second) and, after the workload exits, its exact CPU time."""
        assert self.sampler_image is not None
        interval_ms = max(10, int(interval_s * 1000))
        sampler = self.engine.client.containers.run(
            self.sampler_image,
            entrypoint=["/app/loadgen"],
            command=["sample", "--cgroup", f"{account.name}/{container_id}", "--interval-ms", str(interval_ms)],
            volumes={"/sys/fs/cgroup": {"bind": "/host/cgroup", "mode": "ro"}},
            detach=True,
            network_mode="none",
            labels={**self.labels, **run_labels(), f"{LABEL}.sampler": "1"},
        )
        lines = (chunk.decode(errors="replace") for chunk in sampler.logs(stream=True, follow=True))
        return sampler, StreamSampler(_split_lines(lines), interval_s).start()

    def destroy(self, proc: ContainerProc) -> None:
        proc.destroy()
        if proc.sampler_container is not None:
            try:
                proc.sampler_container.remove(force=True)
            except Exception:
                pass
        if proc.cpu_account and self.engine.local:
            proc.cpu_account.remove()  # on a remote engine the parent stays (empty): the next local cleanup or nobody


def run_labels() -> dict[str, str]:
    return {
        f"{LABEL}.managed": "1",
        f"{LABEL}.run": RUN_ID,
        f"{LABEL}.harness-pid": str(os.getpid()),
        f"{LABEL}.harness-host": socket.gethostname(),
    }


def remove_leftovers(engine: Engine, only_this_run: bool = False) -> int:
    """Remove containers of this run, or those whose harness (on this host) is gone:
    a harness killed with SIGKILL cannot clean up, the next one does."""
    import psutil

    removed = 0
    for c in engine.client.containers.list(all=True, filters={"label": f"{LABEL}.managed=1"}):
        labels = c.labels or {}
        mine = labels.get(f"{LABEL}.run") == RUN_ID
        orphan = labels.get(f"{LABEL}.harness-host") == socket.gethostname() and not psutil.pid_exists(
            int(labels.get(f"{LABEL}.harness-pid", "0") or 0)
        )
        if mine or (orphan and not only_this_run):
            try:
                c.remove(force=True)
                removed += 1
            except Exception:
                pass
    return removed


def _final_from_logs(sampler_container) -> dict | None:
    """The sampler container's result line, read from its whole log once it has exited."""
    import json

    try:
        sampler_container.wait(timeout=15)
        text = sampler_container.logs(stdout=True, stderr=False).decode(errors="replace")
    except Exception:
        return None
    for line in reversed(text.splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("type") == "result":
            return obj
    return None


def _split_lines(chunks):
    """Text chunks of a log stream as whole lines."""
    pending = ""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split("\n")
        yield from lines
    if pending:
        yield pending
