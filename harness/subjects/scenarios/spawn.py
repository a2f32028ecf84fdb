"""spawn: N tasks, each its own goroutine / tokio task / virtual thread doing a
fixed piece of work; how fast they are spawned and finished, at what memory and
CPU cost.

One process runs `warmup_iterations` + `iterations` rounds (as JMH does): the
first round is the cold one (start-up, JIT compilation, heap growth), the
measured rounds give the steady state. Headline tasks/s and CPU per task are
the median of the measured rounds; cold tasks/s stays in the table."""

from __future__ import annotations

import statistics

from harness.errors import TrialError
from harness.record.metrics import Metric
from harness.subjects.scenarios.scenario import Scenario, check_checksum, exit_cpu_s
from harness.suitekeys import Key, int_key


class Spawn(Scenario):
    name = "spawn"
    plots_rss_over_time = True
    suite_keys = {
        "tasks": int_key(1, 100_000_000, 1_000_000),
        "work": int_key(0, 1_000_000, 100),
        # rounds in one process: warm-up (reported, not measured), then measured
        "warmup_iterations": int_key(0, 1000, 2),
        "iterations": int_key(1, 1000, 3),
        # a full collection (Go runtime.GC(), Java System.gc()) before every measured round
        "force_gc": Key(bool, False),
    }
    metrics = (
        Metric("tasks_per_sec", "tasks per second (steady)", "tasks/s", "higher"),
        Metric("cpu_ns_per_task", "CPU time per task (steady)", "ns/task", "lower", steal_free=True),
        Metric(
            "cold_tasks_per_sec",
            "tasks per second (cold: first round)",
            "tasks/s",
            "higher",
            headline=False,
            shown=True,
        ),
        Metric("latency_mean_ns", "mean spawn-to-start latency", "ns", "lower"),
        Metric("latency_p99_ns", "p99 spawn-to-start latency", "ns", "lower", headline=False),
        Metric("peak_rss_bytes", "peak RSS", "B", "lower", steal_free=True),
        Metric("total_ns", "time to spawn and finish all (steady)", "ns", "lower", headline=False),
        Metric(
            "process_cpu_s", "CPU time of the whole process (kernel)", "s", "lower", headline=False, steal_free=True
        ),
    )

    def workload_args(self, params: dict) -> list[str]:
        return [
            "--tasks",
            str(params["tasks"]),
            "--work",
            str(params["work"]),
            "--iterations",
            str(params["iterations"]),
            "--warmup-iterations",
            str(params["warmup_iterations"]),
            "--force-gc",
            "1" if params["force_gc"] else "0",
        ]

    def drive(self, trial, params, context):
        rounds = params["warmup_iterations"] + params["iterations"]
        trial.phase(f"spawning {params['tasks']:,} tasks, round 1/{rounds}")
        for k in range(rounds):
            it = trial.wait_event("iteration")
            kind = "warm-up" if it["warmup"] else "measured"
            trial.phase(f"round {k + 1}/{rounds} ({kind}): {it['tasks_per_sec'] / 1e3:,.0f}k tasks/s")
        return {}

    def verify(self, result: dict, params: dict, observations: dict) -> None:
        super().verify(result, params, observations)
        rounds = result.get("iterations") or []
        want = params["warmup_iterations"] + params["iterations"]
        if len(rounds) != want:
            raise TrialError(f"workload reported {len(rounds)} round(s), asked for {want}")
        for it in rounds:
            check_checksum(it, params)  # every round did the protocol's work, not just the last
        check_checksum(result, params)

    def memory_units(self, params):
        return params["tasks"], "spawn.tasks"

    def learnt_per_unit(self, metrics, params):
        return metrics["peak_rss_bytes"] / params["tasks"] if metrics.get("peak_rss_bytes") else None

    def rounds(self, result, observations, params):
        steady = [it for it in result["iterations"] if not it["warmup"]]
        return {
            "tasks_per_sec": [it["tasks_per_sec"] for it in steady],
            "cpu_ns_per_task": [it["cpu_ns"] / params["tasks"] for it in steady],
            "latency_mean_ns": [it["latency_ns"]["mean"] for it in steady],
            "latency_p99_ns": [it["latency_ns"]["p99"] for it in steady],
            "total_ns": [it["total_ns"] for it in steady],
            "seconds": [it["total_ns"] / 1e9 for it in steady],  # what a round costs (the precision planner)
        }

    def measure(self, result, observations, trial, params):
        rounds = result["iterations"]
        steady = [it for it in rounds if not it["warmup"]]

        def med(f) -> float:
            return statistics.median(f(it) for it in steady)

        return {
            "tasks_per_sec": med(lambda it: it["tasks_per_sec"]),
            "cpu_ns_per_task": med(lambda it: it["cpu_ns"] / params["tasks"]),
            "cold_tasks_per_sec": rounds[0]["tasks_per_sec"],
            "latency_mean_ns": med(lambda it: it["latency_ns"]["mean"]),
            "latency_p99_ns": med(lambda it: it["latency_ns"]["p99"]),
            # The kernel's high-water mark is exact; the 20 ms samples can miss a
            # short peak, so they are kept as the outside cross-check.
            "peak_rss_bytes": result["peak_rss_bytes"],
            "sampled_peak_rss_bytes": trial.sampler.peak_rss(),
            "cgroup_peak_bytes": trial.sampler.cgroup_peak(),  # its memory cgroup's high-water mark, where it has one
            "total_ns": med(lambda it: it["total_ns"]),
            "process_cpu_s": exit_cpu_s(trial),
            "self_cpu_s": (result["cpu_user_ns"] + result["cpu_system_ns"]) / 1e9,  # the program's own account
        }
