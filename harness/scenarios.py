"""What each scenario asks of a workload and what it measures.

A scenario knows its arguments, how to drive a running trial (live holds the
plateau while the sampler watches it; http runs the load generator), how to
verify the answer, and how to turn the raw result into metrics. The runner
does the rest the same way for all of them.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

from harness.checksum import expected_checksum
from harness.errors import TrialError
from harness.metrics import Metric

if TYPE_CHECKING:
    from harness.runner import TrialProcess


class Scenario:
    name: str = ""
    metrics: tuple[Metric, ...] = ()
    needs_loadgen = False

    def params(self, suite) -> dict[str, Any]:
        return dict(suite[self.name])

    def workload_args(self, params: dict) -> list[str]:
        raise NotImplementedError

    def drive(self, trial: "TrialProcess", params: dict, context: dict) -> dict:
        """Interact with the running workload; return observations for measure()."""
        return {}

    def verify(self, result: dict, params: dict) -> None:
        pass

    def measure(self, result: dict, observations: dict, trial: "TrialProcess", params: dict) -> dict[str, float]:
        raise NotImplementedError


def _check_checksum(result: dict, params: dict) -> None:
    want = expected_checksum(params["tasks"], params["work"])
    if result.get("checksum") != want:
        raise TrialError(f"wrong checksum {result.get('checksum')!r}, expected {want} for "
                         f"tasks={params['tasks']} work={params['work']}: the workload did not do the protocol's work")
    if result.get("tasks") != params["tasks"] or result.get("work") != params["work"]:
        raise TrialError(f"workload ran tasks={result.get('tasks')} work={result.get('work')}, "
                         f"asked for tasks={params['tasks']} work={params['work']}")


class Spawn(Scenario):
    name = "spawn"
    metrics = (
        Metric("tasks_per_sec", "tasks per second", "tasks/s", "higher"),
        Metric("latency_mean_ns", "mean spawn-to-start latency", "ns", "lower"),
        Metric("latency_p99_ns", "p99 spawn-to-start latency", "ns", "lower", headline=False),
        Metric("peak_rss_bytes", "peak RSS", "B", "lower"),
        Metric("total_ns", "time to spawn and finish all", "ns", "lower", headline=False),
    )

    def workload_args(self, params: dict) -> list[str]:
        return ["--tasks", str(params["tasks"]), "--work", str(params["work"])]

    def verify(self, result: dict, params: dict) -> None:
        _check_checksum(result, params)

    def measure(self, result, observations, trial, params):
        lat = result["latency_ns"]
        sampled = trial.sampler.peak_rss()
        return {
            "tasks_per_sec": result["tasks_per_sec"],
            "latency_mean_ns": lat["mean"],
            "latency_p99_ns": lat["p99"],
            # The kernel's high-water mark is exact; the 20 ms samples can miss a
            # short peak, so they are kept as the outside cross-check.
            "peak_rss_bytes": result["peak_rss_bytes"],
            "sampled_peak_rss_bytes": sampled,
            "total_ns": result["total_ns"],
        }


class Live(Scenario):
    name = "live"
    metrics = (
        Metric("bytes_per_task", "bytes per live task", "B/task", "lower"),
        Metric("time_to_plateau_ns", "time to reach the plateau", "ns", "lower"),
        Metric("plateau_rss_bytes", "RSS at the plateau", "B", "lower", headline=False),
        Metric("release_ns", "time to release all", "ns", "lower", headline=False),
    )

    def workload_args(self, params: dict) -> list[str]:
        return ["--tasks", str(params["tasks"]), "--work", str(params["work"])]

    def drive(self, trial, params, context):
        event = trial.wait_event("plateau")
        t0 = trial.sampler.now()
        time.sleep(params["hold_ms"] / 1000.0)
        t1 = trial.sampler.now()
        window = trial.sampler.between(t0, t1)
        if not window:  # sampler off, or a hold shorter than one interval: read once now
            sample = trial.sample_once()
            window = [sample] if sample else []
        trial.send_line("release")
        if not window:
            raise TrialError("could not read the workload's memory at the plateau (process gone?)")
        return {"plateau_event": event, "plateau_rss_samples": [s.rss for s in window]}

    def verify(self, result, params):
        _check_checksum(result, params)
        n = params["tasks"]
        if result["alive_max"] != n or result["completed"] != n:
            raise TrialError(f"live did not hold all tasks at once: alive_max={result['alive_max']}, "
                             f"completed={result['completed']}, tasks={n}")

    def measure(self, result, observations, trial, params):
        plateau_rss = statistics.median(observations["plateau_rss_samples"])
        return {
            # RSS read from outside at the plateau, above the program's own
            # baseline taken just before its first spawn.
            "bytes_per_task": (plateau_rss - result["baseline_rss_bytes"]) / params["tasks"],
            "self_bytes_per_task": result["bytes_per_task"],
            "plateau_rss_bytes": plateau_rss,
            "self_plateau_rss_bytes": result["plateau_rss_bytes"],
            "time_to_plateau_ns": result["time_to_plateau_ns"],
            "release_ns": result["release_ns"],
        }


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (Spawn(), Live())}


def get(name: str) -> Scenario:
    return SCENARIOS[name]
