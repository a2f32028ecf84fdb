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

CHILD_REFRESH_TICKS = 25


@dataclass
class Sample:
    t: float          # seconds since the sampler started
    rss: int          # bytes, summed over the tree
    cpu: float        # user+system seconds, summed over the tree
    threads: int
    ctx: int          # voluntary + involuntary context switches


@dataclass
class Sampler:
    pid: int
    interval_s: float
    samples: list[Sample] = field(default_factory=list)
    tick_seconds: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _origin: float = 0.0

    def start(self) -> "Sampler":
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

    # --- views used by the runner ------------------------------------------------

    def peak_rss(self) -> int | None:
        return max((s.rss for s in self.samples), default=None)

    def between(self, t0: float, t1: float) -> list[Sample]:
        return [s for s in self.samples if t0 <= s.t <= t1]

    def now(self) -> float:
        return time.monotonic() - self._origin

    def overhead(self) -> dict:
        ticks = self.tick_seconds
        return {"ticks": len(ticks), "mean_tick_us": round(1e6 * sum(ticks) / len(ticks), 2) if ticks else None,
                "busy_fraction": round(sum(ticks) / max(self.now(), 1e-9), 6) if ticks else 0.0}


def downsample(samples: list[Sample], points: int) -> list[list[float]]:
    """[[t, rss], ...] with at most `points` entries; each bucket keeps its maximum
    RSS so that peaks survive (an average would shave them off)."""
    if len(samples) <= points:
        return [[s.t, s.rss] for s in samples]
    out = []
    size = len(samples) / points
    for i in range(points):
        bucket = samples[int(i * size): int((i + 1) * size)] or [samples[min(int(i * size), len(samples) - 1)]]
        top = max(bucket, key=lambda s: s.rss)
        out.append([top.t, top.rss])
    return out
