"""live: N tasks alive at once, parked on a gate (no timers), memory read from
outside while they are held, then released."""

from __future__ import annotations

import statistics

from harness.errors import TrialError
from harness.record.metrics import Metric
from harness.subjects.scenarios.scenario import Scenario, check_checksum, exit_cpu_s
from harness.suitekeys import Key, int_key


class Live(Scenario):
    name = "live"
    plots_rss_over_time = True
    notes = (
        "time to release all: every runtime releases with a broadcast by the releaser (Go close, tokio "
        "notify_waiters, Java unpark of every parked thread; PROTOCOL.md's audit); what stays longer for Java "
        "is its own cost: each released virtual thread is mounted on the carriers (W) in turn",
    )
    suite_keys = {
        "tasks": int_key(1, 100_000_000, 1_000_000),
        "work": int_key(0, 1_000_000, 100),
        "hold_ms": int_key(0, 3_600_000, 300),  # how long the sampler watches the plateau
        # a full collection (Go runtime.GC(), Java System.gc()) before the baseline and before the plateau reading.
        # One plateau per process: RSS does not go back to the OS after a release, so rounds in one
        # process would not measure the same thing.
        "force_gc": Key(bool, False),
    }
    metrics = (
        Metric("bytes_per_task", "bytes per live task", "B/task", "lower", steal_free=True),
        Metric("time_to_plateau_ns", "time to reach the plateau", "ns", "lower"),
        Metric("plateau_rss_bytes", "RSS at the plateau", "B", "lower", headline=False, steal_free=True),
        Metric("release_ns", "time to release all", "ns", "lower", headline=False),
        # with force_gc: what the runtime's own collector accounts per task (Go: heap and goroutine stacks;
        # Java: heap, where a parked virtual thread's stack lives), the cross-check of the RSS figure
        Metric(
            "heap_bytes_per_task",
            "heap per live task (runtime's own account)",
            "B/task",
            "lower",
            headline=False,
            steal_free=True,
        ),
        Metric(
            "process_cpu_s", "CPU time of the whole process (kernel)", "s", "lower", headline=False, steal_free=True
        ),
    )

    def memory_units(self, params):
        return params["tasks"], "live.tasks"

    def learnt_per_unit(self, metrics, params):
        return metrics["plateau_rss_bytes"] / params["tasks"] if metrics.get("plateau_rss_bytes") else None

    def workload_args(self, params: dict) -> list[str]:
        return [
            "--tasks",
            str(params["tasks"]),
            "--work",
            str(params["work"]),
            "--force-gc",
            "1" if params["force_gc"] else "0",
        ]

    def drive(self, trial, params, context):
        trial.phase(f"spawning {params['tasks']:,} tasks to park")
        event = trial.wait_event("plateau")
        trial.phase(f"plateau: {event['alive']:,} alive, holding {params['hold_ms']} ms")
        t0 = trial.sampler.now()
        trial.hold(params["hold_ms"] / 1000.0)
        t1 = trial.sampler.now()
        window = trial.sampler.between(t0, t1)
        if not window:  # sampler off, or a hold shorter than one interval: read once now
            sample = trial.sample_once()
            window = [sample] if sample else []
        trial.send_line("release")
        trial.phase("released: waiting for every task to finish")
        if not window:
            raise TrialError("could not read the workload's memory at the plateau (process gone?)")
        return {
            "plateau_event": event,
            "_plateau_rss_samples": [s.rss for s in window],
            "_plateau_cgroup_samples": [s.cgroup for s in window if s.cgroup is not None],
        }

    def verify(self, result, params, observations):
        super().verify(result, params, observations)
        check_checksum(result, params)
        n = params["tasks"]
        if result["alive_max"] != n or result["completed"] != n:
            raise TrialError(
                f"live did not hold all tasks at once: alive_max={result['alive_max']}, "
                f"completed={result['completed']}, tasks={n}"
            )

    def measure(self, result, observations, trial, params):
        plateau_rss = statistics.median(observations["_plateau_rss_samples"])
        cgroup = observations["_plateau_cgroup_samples"]
        return {
            # RSS read from outside at the plateau, above the program's own
            # baseline taken just before its first spawn.
            "bytes_per_task": (plateau_rss - result["baseline_rss_bytes"]) / params["tasks"],
            "self_bytes_per_task": result["bytes_per_task"],
            "plateau_rss_bytes": plateau_rss,
            "self_plateau_rss_bytes": result["plateau_rss_bytes"],
            "time_to_plateau_ns": result["time_to_plateau_ns"],
            "release_ns": result["release_ns"],
            "heap_bytes_per_task": result.get("heap_bytes_per_task"),
            # the trial's memory cgroup at the plateau, where it has one (containers; native trials where the
            # host gives one): includes page cache and kernel memory
            "cgroup_plateau_bytes": statistics.median(cgroup) if cgroup else None,
            "process_cpu_s": exit_cpu_s(trial),
        }
