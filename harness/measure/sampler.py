"""Samples the workload's whole process tree from outside with psutil.

One thread, one tick every `interval_s`: RSS, CPU time, threads and context
switches summed over the tree, each sample with its timestamp. The child list
is refreshed every few ticks only, because walking /proc for descendants costs
more than reading the processes themselves. Each tick's own duration is kept,
so the sampler's overhead is itself measured.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil

from harness.measure.cgroup import CgroupMemory

CHILD_REFRESH_TICKS = 25


@dataclass
class Sample:
    t: float  # seconds since the sampler started
    rss: int  # bytes, summed over the tree
    cpu: float  # user+system seconds, summed over the tree
    threads: int
    ctx: int  # voluntary + involuntary context switches
    cgroup: int | None = None  # container backend: the memory cgroup's usage (bytes)
    cgroup_peak: int | None = None  # ... its high-water mark
    sock: int | None = None  # ... and the socket buffers' share of it


@dataclass
class Sampler:
    pid: int
    interval_s: float
    cgroup: CgroupMemory | None = None  # a container's memory cgroup, read in the same tick
    samples: list[Sample] = field(default_factory=list)
    tick_seconds: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _origin: float = 0.0

    def start(self) -> Sampler:
        self._origin = time.monotonic()
        if self.interval_s > 0:
            self._thread = threading.Thread(target=self._run, name=f"sampler-{self.pid}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def tick(self, procs: list[psutil.Process]) -> Sample | None:
        rss = threads = ctx = 0
        cpu = 0.0
        alive = False
        for p in procs:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu += t.user + t.system
                    threads += p.num_threads()
                    c = p.num_ctx_switches()
                    ctx += c.voluntary + c.involuntary
                alive = True
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        if not alive or rss == 0:  # gone, or a zombie between exit and reaping
            return None
        s = Sample(round(time.monotonic() - self._origin, 4), rss, cpu, threads, ctx)
        if self.cgroup is not None:
            s.cgroup, s.cgroup_peak, s.sock = self.cgroup.read()
        self.samples.append(s)
        return s

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        procs = [root]
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            started = time.perf_counter()
            if n % CHILD_REFRESH_TICKS == 0:
                try:
                    procs = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    return
            if self.tick(procs) is None and not root.is_running():
                return
            self.tick_seconds.append(time.perf_counter() - started)
            n += 1
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def sample_now(self) -> Sample | None:
        """One extra sample of the whole tree, outside the timer (a hold shorter than one interval)."""
        try:
            root = psutil.Process(self.pid)
            return self.tick([root, *root.children(recursive=True)])
        except psutil.NoSuchProcess:
            return None

    # --- views used by the runner ------------------------------------------------

    def peak_rss(self) -> int | None:
        return max((s.rss for s in self.samples), default=None)

    def cgroup_peak(self) -> int | None:
        return max((s.cgroup_peak or s.cgroup or 0 for s in self.samples), default=0) or None

    def between(self, t0: float, t1: float) -> list[Sample]:
        return [s for s in self.samples if t0 <= s.t <= t1]

    def now(self) -> float:
        return time.monotonic() - self._origin

    def overhead(self) -> dict:
        ticks = self.tick_seconds
        return {
            "ticks": len(ticks),
            "mean_tick_us": round(1e6 * sum(ticks) / len(ticks), 2) if ticks else None,
            "busy_fraction": round(sum(ticks) / max(self.now(), 1e-9), 6) if ticks else 0.0,
        }


def pick_peaks(samples: list[Sample], points: int, key=lambda s: s.rss) -> list[Sample]:
    """At most `points` samples; each bucket keeps its maximum by `key` so that
    peaks survive (an average would shave them off)."""
    if len(samples) <= points:
        return list(samples)
    out = []
    size = len(samples) / points
    for i in range(points):
        bucket = samples[int(i * size) : int((i + 1) * size)] or [samples[min(int(i * size), len(samples) - 1)]]
        out.append(max(bucket, key=key))
    return out


def downsample(samples: list[Sample], points: int) -> list[list[float]]:
    """[[t, rss], ...] with at most `points` entries, peaks kept."""
    return [[s.t, s.rss] for s in pick_peaks(samples, points)]


class StatsSampler(Sampler):
    """For a remote engine, where neither host PIDs nor cgroup files are readable:
    the docker stats API, one sample per second or so (the engine's pace).
    rss is the cgroup's usage without page cache, the nearest thing to RSS."""

    def __init__(self, client, container_id: str, interval_s: float) -> None:
        super().__init__(pid=0, interval_s=interval_s)
        self.client, self.container_id = client, container_id

    def _sample(self, st: dict) -> Sample | None:
        mem = st.get("memory_stats") or {}
        usage = mem.get("usage")
        if not usage:
            return None
        stats = mem.get("stats") or {}
        cache = stats.get("cache", stats.get("file", 0))
        cpu = ((st.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage", 0) / 1e9
        threads = (st.get("pids_stats") or {}).get("current", 0)
        s = Sample(
            round(time.monotonic() - self._origin, 4),
            usage - cache,
            cpu,
            threads,
            0,
            cgroup=usage,
            cgroup_peak=mem.get("max_usage"),
            sock=stats.get("sock"),
        )
        self.samples.append(s)
        return s

    def _run(self) -> None:
        try:
            for st in self.client.api.stats(self.container_id, stream=True, decode=True):
                if self._stop.is_set():
                    return
                started = time.perf_counter()
                self._sample(st)
                self.tick_seconds.append(time.perf_counter() - started)
        except Exception:  # the container is gone
            return

    def sample_now(self) -> Sample | None:
        try:
            return self._sample(self.client.api.stats(self.container_id, stream=False, one_shot=True))
        except Exception:
            return None


class StreamSampler(Sampler):
    """Samples that arrive as JSON lines from a sampler running where the workload
    runs (a container on a remote engine reading the workload's cgroup, see
    loadgen `sample`): usage without page cache stands for RSS, as docker stats does.
    Its last line carries the whole container's CPU time, from the kernel, at exit."""

    def __init__(self, lines, interval_s: float) -> None:
        super().__init__(pid=0, interval_s=interval_s)
        self.lines = lines  # an iterator of text lines (the sampler container's stdout)
        self.final: dict | None = None
        self._done = threading.Event()

    def start(self) -> StreamSampler:
        self._origin = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="stream-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        import json

        try:
            for line in self.lines:
                started = time.perf_counter()
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if obj.get("type") == "sample":
                    usage, cache = obj["usage"], obj.get("cache") or 0
                    cpu = (obj.get("cpu_ns") or 0) / 1e9
                    self.samples.append(
                        Sample(
                            round(time.monotonic() - self._origin, 4),
                            usage - cache,
                            cpu,
                            0,
                            0,
                            cgroup=usage,
                            cgroup_peak=obj.get("peak"),
                        )
                    )
                elif obj.get("type") == "result":
                    self.final = obj
                self.tick_seconds.append(time.perf_counter() - started)
        except Exception:  # the sampler container is gone
            pass
        finally:
            self._done.set()

    def sample_now(self) -> Sample | None:
        return self.samples[-1] if self.samples else None  # at most one interval old

    def wait_final(self, timeout_s: float) -> dict | None:
        self._done.wait(timeout_s)
        return self.final
