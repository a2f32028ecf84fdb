"""Runs one trial: a fresh, pinned workload process, sampled from outside,
driven by its scenario, killed with its whole tree on timeout, and checked
(every stdout line JSON, one schema-valid result line, right checksum).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import resource
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psutil

from harness.errors import TrialError
from harness.measure import profile
from harness.measure.host import cpu_ns_of_tree, host_load, read_proc_stat
from harness.measure.sampler import Sample, Sampler, downsample, pick_peaks
from harness.record.trial import TrialRecord


class Launcher(Protocol):
    """How a backend starts a trial's program (a pinned process, or a pinned
    container shaped like one), samples it, and destroys it with all it started."""

    memory_limit_bytes: int  # each trial's own memory limit (0: none)

    def start(self, argv: list[str], env: dict[str, str], cpus: list[int], sample_interval_s: float = 0) -> Any: ...

    def sampler(self, proc: Any, interval_s: float) -> Sampler: ...

    def exit_cpu(self, proc: Any) -> dict:
        """The kernel's account of the exited program's CPU time: {"user_s", "system_s", "source"}."""
        ...

    def destroy(self, proc: Any) -> None: ...

    def profile_target(self, host_dir: Path) -> str:
        """Where the program writes its profile (WORKLOAD_CPUPROFILE), as it sees the filesystem."""
        ...

    def copy_out(self, proc: Any, inside: str, host_dir: Path) -> None:
        """Bring the exited program's files under `inside` into `host_dir` (a container's filesystem)."""
        ...


# Every process (or container) the harness started and has not yet reaped, with
# the launcher that knows how to destroy it; Ctrl-C and crashes destroy what is
# left here, so no workload outlives the harness.
LIVE_PROCESSES: dict[object, Launcher] = {}
EXIT_GRACE_S = 1.0


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the process, its process group (start_new_session made its pid the
    group id, which outlives the leader) and any descendant that left the group."""
    try:
        descendants = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    except psutil.NoSuchProcess:
        descendants = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for d in descendants:
        try:
            d.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def kill_all() -> None:
    for proc, launcher in list(LIVE_PROCESSES.items()):
        launcher.destroy(proc)
        LIVE_PROCESSES.pop(proc, None)


@dataclass
class TrialProcess:
    """A running workload with its stdout parsed into events as they arrive."""

    argv: list[str]
    env: dict[str, str]
    cpus: list[int]
    sample_interval_s: float
    deadline: float
    launcher: Launcher
    proc: Any = None  # subprocess.Popen, or a container shaped like one
    exit_cpu: dict | None = None  # the kernel's account of its CPU time, once it has exited
    observer: Any = None  # told what phase the trial is in (the progress display)
    sampler: Sampler | None = None
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    events: list[dict] = field(default_factory=list)
    stderr_tail: deque = field(default_factory=lambda: deque(maxlen=20))
    _readers: list[threading.Thread] = field(default_factory=list)
    profiled: bool = False  # profiling on commands (the scenario's profile window)
    launched_at: float = 0.0  # monotonic, just before the exec (or the container's creation)
    first_line_at: float | None = None  # monotonic, when its first stdout line arrived

    def start(self) -> None:
        self.launched_at = time.monotonic()
        self.proc = self.launcher.start(self.argv, self.env, self.cpus, self.sample_interval_s)
        LIVE_PROCESSES[self.proc] = self.launcher
        self.sampler = self.launcher.sampler(self.proc, self.sample_interval_s).start()
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def phase(self, text: str) -> None:
        """Say what the trial is doing now (spawning, plateau, http stage 2/4, ...)."""
        if self.observer is not None:
            self.observer.phase(text)

    def _read_stdout(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            if self.first_line_at is None:
                self.first_line_at = time.monotonic()
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))

    def _next_line(self) -> str | None:
        """The next stdout line; None at EOF, or once the process has exited and
        nothing more arrived within EXIT_GRACE_S (a leftover child may hold the pipe)."""
        exited_at = None
        while True:
            if time.monotonic() >= self.deadline:
                raise TrialError(self._timeout_message())
            try:
                return self.lines.get(timeout=0.1)
            except queue.Empty:
                pass
            if self.proc and self.proc.poll() is not None:
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > EXIT_GRACE_S:
                    return None

    def _timeout_message(self) -> str:
        return "timed out (trials.timeout_s); killed the whole process tree"

    def _parse(self, line: str) -> dict:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise TrialError(f"printed a stdout line that is not JSON: {line[:80]!r}") from None
        if not isinstance(obj, dict) or "type" not in obj:
            raise TrialError(f"printed a stdout line that is not a protocol object: {line[:80]!r}")
        self.events.append(obj)
        return obj

    def wait_event(self, kind: str) -> dict:
        """Block until the workload prints an event of `kind` (or fails, or times out)."""
        while True:
            line = self._next_line()
            if line is None:
                raise TrialError(self._exit_message(f"exited before its '{kind}' line"))
            obj = self._parse(line)
            if obj["type"] == kind:
                return obj

    def _write_line(self, text: str) -> bool:
        assert self.proc and self.proc.stdin
        try:
            self.proc.stdin.write(text + "\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def send_line(self, text: str) -> None:
        """One line on the workload's stdin, then end of file (live's release)."""
        if self._write_line(text):
            try:
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass

    def command(self, text: str) -> None:
        """One line on the workload's stdin, which stays open (PROTOCOL.md: profile commands)."""
        if not self._write_line(text):
            raise TrialError(self._exit_message(f"closed its stdin before {text!r}"))

    def profile_window(self, state: str) -> None:
        """Start or stop the profile of a trial profiled on commands, once the workload says it did."""
        if self.profiled:
            self.command(f"profile {state}")
            while self.wait_event("profile").get("state") != ("started" if state == "start" else "stopped"):
                pass

    def sample_once(self) -> Sample | None:
        assert self.sampler
        return self.sampler.sample_now()

    def cpu_ns(self) -> int | None:
        """The program's CPU time so far, exactly (the scheduler's account of every thread of its tree)."""
        return cpu_ns_of_tree(self.proc.pid) if self.proc is not None else None

    def hold(self, seconds: float) -> None:
        """Wait while the sampler watches; the trial's deadline still applies."""
        if time.monotonic() + seconds > self.deadline:
            time.sleep(max(0.0, self.deadline - time.monotonic()))
            raise TrialError(self._timeout_message())
        time.sleep(seconds)

    def terminate(self) -> None:
        """SIGTERM (a server prints its result and exits 0)."""
        assert self.proc
        self.proc.terminate()

    def finish(self) -> dict:
        """Read to EOF, wait for exit, return the single result object."""
        result = None
        while True:
            line = self._next_line()
            if line is None:
                break
            obj = self._parse(line)
            if obj["type"] == "result":
                if result is not None:
                    raise TrialError("printed more than one result line")
                result = obj
        assert self.proc
        try:
            self.proc.wait(timeout=max(0.1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TrialError(self._timeout_message()) from None
        self.exit_cpu = self.launcher.exit_cpu(self.proc)
        if self.proc.returncode != 0:
            raise TrialError(self._exit_message(f"exited with code {self.proc.returncode}"))
        if result is None:
            raise TrialError(self._exit_message("exited 0 without a result line"))
        return result

    def _exit_message(self, what: str) -> str:
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        for t in self._readers:
            t.join(timeout=1)
        last = self.stderr_tail[-1] if self.stderr_tail else "no stderr"
        code = self.proc.returncode if self.proc else None
        died_of = getattr(self.launcher, "died_of", None)
        cause = died_of(self.proc) if died_of and self.proc else None
        return f"{what}: {cause} (exit code {code})" if cause else f"{what} (exit code {code}); stderr: {last}"

    def stop(self) -> None:
        """Kill whatever is left of the tree (a workload may have exited and left
        children behind), then let the reader threads see EOF before closing."""
        if self.sampler:
            self.sampler.stop()
        if self.proc:
            self.launcher.destroy(self.proc)
            LIVE_PROCESSES.pop(self.proc, None)
            for t in self._readers:
                t.join(timeout=5)
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass


@dataclass(frozen=True)
class LoadGenerator:
    """The load generator as a scenario's drive uses it: its command prefix, the CPUs
    it is pinned to (never the workload's) and the launcher that starts it."""

    prefix: list[str]
    cpus: list[int]
    launcher: Launcher
    where: str = ""  # the Docker engine it runs on when that is not the run's own (loadgen.engines)
    host: str = ""  # that engine's machine, by name

    @contextlib.contextmanager
    def run(self, what: str, args: list[str], timeout_s: float) -> Iterator[TrialProcess]:
        """A pinned load generator process for one phase; its failures name the phase,
        and it never outlives the phase."""
        proc = TrialProcess(
            [*self.prefix, *args],
            env={},
            cpus=self.cpus,
            sample_interval_s=0,
            deadline=time.monotonic() + timeout_s,
            launcher=self.launcher,
        )
        try:
            proc.start()
            yield proc
        except TrialError as e:
            raise TrialError(f"loadgen {what}: {e}") from None
        finally:
            proc.stop()


@dataclass(frozen=True)
class Instruments:
    """What the session hands every scenario's drive beside the trial itself."""

    loadgen: LoadGenerator | None = None
    far: tuple[LoadGenerator, ...] = ()  # generators on engines of their own: they carry the load instead

    @property
    def generators(self) -> tuple[LoadGenerator, ...]:
        """Who generates the load: the far generators when there are any, else the one beside the harness."""
        return self.far or ((self.loadgen,) if self.loadgen else ())


@dataclass(frozen=True)
class ProfileRequest:
    """A profiled trial: where its files go, what its profile covers (the scenario's
    label), whether the scenario opens and closes the window on commands, and the
    runtime's reader of its profiler's files."""

    directory: Path
    window: str
    on_commands: bool
    reader: profile.ProfileReader


@dataclass
class TrialSpec:
    benchmark_id: str
    argv: list[str]
    env: dict[str, str]
    cpus: list[int]
    scenario: Any  # subjects.Scenario
    params: dict
    sample_interval_ms: float
    series_points: int
    timeout_s: float
    launcher: Launcher
    context: Instruments = field(default_factory=Instruments)
    observer: Any = None  # the progress display: attach(trial), phase(text)
    profile: ProfileRequest | None = None


def run_trial(spec: TrialSpec) -> TrialRecord:
    """One trial, always returning its record: ok with metrics, or not ok with the error."""
    started_wall = time.time()
    t0 = time.monotonic()
    before = read_proc_stat()
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    gc_before = sum(s["collections"] for s in gc.get_stats())
    env = spec.env
    prof = spec.profile
    on_commands = prof is not None and prof.on_commands  # the scenario opens the window
    if prof is not None:
        prof.directory.mkdir(parents=True, exist_ok=True)
        env = {**env, profile.PROFILE_ENV: spec.launcher.profile_target(prof.directory)}
        if on_commands:
            env[profile.WINDOW_ENV] = "commands"
    trial = TrialProcess(
        spec.argv,
        env,
        spec.cpus,
        spec.sample_interval_ms / 1000.0,
        deadline=t0 + spec.timeout_s,
        launcher=spec.launcher,
        profiled=on_commands,
    )
    record = TrialRecord(ok=False, started_at=started_wall)
    trial.observer = spec.observer
    try:
        trial.start()
        if spec.observer is not None:
            spec.observer.attach(trial)
        observations = spec.scenario.drive(trial, spec.params, spec.context)
        record.observations = {k: v for k, v in observations.items() if not k.startswith("_")}
        result = trial.finish()
        record.workload = result
        record.cpu = trial.exit_cpu
        if prof is not None:
            spec.launcher.copy_out(trial.proc, env[profile.PROFILE_ENV], prof.directory)
            try:
                record.profile = {
                    "window": prof.window,
                    **profile.collect(prof.directory, prof.directory.parent.parent, prof.reader),
                }
            except ValueError as e:
                raise TrialError(f"profile: {e}") from None
        spec.scenario.verify(result, spec.params, observations)
        record.metrics = spec.scenario.measure(result, observations, trial, spec.params)
        record.rounds = spec.scenario.rounds(result, observations, spec.params)
        record.incomparable = spec.scenario.incomparable(observations)
        record.ok = True
    except TrialError as e:
        record.error = str(e)
        if record.workload is None:
            record.workload = next((ev for ev in reversed(trial.events) if ev.get("type") == "result"), None)
    except OSError as e:
        record.error = f"could not start {spec.argv[0]}: {e.strerror or e}"
    finally:
        trial.stop()
    record.wall_s = round(time.monotonic() - t0, 4)
    record.host_load = host_load(before, read_proc_stat(), spec.cpus)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    # the harness's own CPU time during the trial (its sampler, reader threads, garbage collector): on a
    # small host it shares the load generator's CPU, and what it takes there the sends wait for
    record.harness_cpu_s = round(
        (self_after.ru_utime - self_before.ru_utime) + (self_after.ru_stime - self_before.ru_stime), 4
    )
    record.harness_gc_collections = sum(s["collections"] for s in gc.get_stats()) - gc_before
    # what else ran on the workload's CPUs during the trial: their processes' time minus the workload's own
    own = (record.cpu or {}).get("user_s")
    if own is not None and record.cpu and record.wall_s > 0 and spec.cpus:
        own += record.cpu["system_s"]
        shared = set(spec.cpus) & set(os.sched_getaffinity(0))  # the harness itself, where it shares them
        others = record.host_load["tasks_on_workload_cpus_s"] - own - (record.harness_cpu_s if shared else 0)
        record.host_load["others_on_workload_cpus_pct"] = round(
            max(0.0, 100 * others / (record.wall_s * len(spec.cpus))), 2
        )
    if trial.sampler:
        record.rss_series = downsample(trial.sampler.samples, spec.series_points)
        record.sampler = trial.sampler.overhead()
        last = trial.sampler.samples[-1] if trial.sampler.samples else None
        record.sampled_cpu_s = last.cpu if last else None
        record.sampled_max_threads = max((s.threads for s in trial.sampler.samples), default=None)
        record.sampled_ctx_switches = last.ctx if last else None
        if any(s.cgroup is not None for s in trial.sampler.samples):
            record.cgroup_series = [
                [s.t, s.cgroup, s.sock]
                for s in pick_peaks(trial.sampler.samples, spec.series_points, lambda s: s.cgroup or 0)
            ]
    record.events = [ev for ev in trial.events if ev.get("type") != "result"]
    record.stderr_tail = list(trial.stderr_tail)[-5:]
    return record
