"""spawn: N tasks, each its own goroutine / tokio task / virtual thread doing a
fixed piece of work; how fast they are spawned and finished, and at what
memory cost."""

from __future__ import annotations

from harness.record.metrics import Metric
from harness.subjects.scenario import Scenario, check_checksum
from harness.suitekeys import int_key


class Spawn(Scenario):
    name = "spawn"
    suite_keys = {"tasks": int_key(1, 100_000_000, 1_000_000), "work": int_key(0, 1_000_000, 100)}
    metrics = (
        Metric("tasks_per_sec", "tasks per second", "tasks/s", "higher"),
        Metric("latency_mean_ns", "mean spawn-to-start latency", "ns", "lower"),
        Metric("latency_p99_ns", "p99 spawn-to-start latency", "ns", "lower", headline=False),
        Metric("peak_rss_bytes", "peak RSS", "B", "lower"),
        Metric("total_ns", "time to spawn and finish all", "ns", "lower", headline=False),
    )

    def workload_args(self, params: dict) -> list[str]:
        return ["--tasks", str(params["tasks"]), "--work", str(params["work"])]

    def verify(self, result: dict, params: dict, observations: dict) -> None:
        super().verify(result, params, observations)
        check_checksum(result, params)

    def measure(self, result, observations, trial, params):
        lat = result["latency_ns"]
        return {
            "tasks_per_sec": result["tasks_per_sec"],
            "latency_mean_ns": lat["mean"],
            "latency_p99_ns": lat["p99"],
            # The kernel's high-water mark is exact; the 20 ms samples can miss a
            # short peak, so they are kept as the outside cross-check.
            "peak_rss_bytes": result["peak_rss_bytes"],
            "sampled_peak_rss_bytes": trial.sampler.peak_rss(),
            "cgroup_peak_bytes": trial.sampler.cgroup_peak(),  # containers: the memory cgroup's high-water mark
            "total_ns": result["total_ns"],
        }
