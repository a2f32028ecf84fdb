#!/usr/bin/env python3
"""The synchronisation-primitives audit (workloads/PROTOCOL.md, "Synchronisation
primitives"): every runtime's choice for each synchronisation point against its
ecosystem's idiomatic alternatives, in the same conditions, interleaved.

    .venv/bin/python scripts/primitives_audit.py [--tasks 1000000] [--repeats 3] [--workers 1]
        [--runtimes go,rust,java] [--points join,release,accumulate] [--json OUT.json]

Each (runtime, point, choice) is one fresh process of the real workload with
WORKLOAD_SYNC=point=choice (the other points at the protocol's choices), pinned
to the last CPU this process may use (W = --workers CPUs from the end), the
script itself on the first. join and accumulate run `spawn` (2 warm-up rounds,
3 measured: tasks/s and CPU ns per task, medians of the measured rounds);
release runs `live` (time to release all, time to the plateau, the program's
own bytes per task). Within a repeat the choices run in a shuffled order
(seeded); every checksum is checked against the protocol's. Prints a markdown
table: per choice the median over repeats and its ratio to the protocol's
choice (median of the per-repeat ratios: the pairs ran minutes apart at most).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.backends.native import build  # noqa: E402
from harness.subjects import RUNTIMES  # noqa: E402
from harness.subjects.scenarios.checksum import expected_checksum  # noqa: E402

# The choices each runtime's workload offers (its sync module), the protocol's first.
CHOICES = {
    "go": {
        "join": ["waitgroup", "counter", "channel"],
        "release": ["close", "cond", "waitgroup"],
        "accumulate": ["atomic", "slots"],
    },
    "rust": {
        "join": ["counter", "joinset", "channel", "handles"],
        "release": ["notify", "watch", "semaphore"],
        "accumulate": ["atomic", "slots"],
    },
    "java": {
        "join": ["latch", "counter", "executor"],
        "release": ["unpark", "latch", "condition", "monitor"],
        "accumulate": ["atomic", "adder", "slots"],
    },
}
SCENARIO = {"join": "spawn", "accumulate": "spawn", "release": "live"}
METRICS = {
    "spawn": ["tasks_per_sec", "cpu_ns_per_task"],
    "live": ["release_ns", "time_to_plateau_ns", "bytes_per_task"],
}


def measure(argv: list[str], env: dict, cpus: list[int], scenario: str, tasks: int, workers: int) -> dict:
    args = ["--tasks", str(tasks), "--workers", str(workers), "--work", "100"]
    if scenario == "spawn":
        args += ["--iterations", "3", "--warmup-iterations", "2"]
    else:
        args += ["--hold-ms", "0"]
    p = subprocess.run(
        ["taskset", "-c", ",".join(map(str, cpus)), *argv, scenario, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if p.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[-3:])} {scenario} {env.get('WORKLOAD_SYNC')}: exit {p.returncode}: "
            f"{p.stderr.strip().splitlines()[-1:]}"
        )
    result = json.loads(p.stdout.strip().splitlines()[-1])
    if result["checksum"] != expected_checksum(tasks, 100):
        raise SystemExit(f"{env.get('WORKLOAD_SYNC')}: wrong checksum {result['checksum']}")
    if scenario == "spawn":
        rounds = [r for r in result["iterations"] if not r["warmup"]]
        return {
            "tasks_per_sec": statistics.median(r["tasks_per_sec"] for r in rounds),
            "cpu_ns_per_task": statistics.median(r["cpu_ns"] / tasks for r in rounds),
            "settings": result["settings"],
        }
    assert result["alive_max"] == tasks and result["completed"] == tasks
    return {
        "release_ns": result["release_ns"],
        "time_to_plateau_ns": result["time_to_plateau_ns"],
        "bytes_per_task": result["bytes_per_task"],
        "settings": result["settings"],
    }


def fmt(metric: str, v: float) -> str:
    if metric.endswith("_ns"):
        return f"{v / 1e6:,.1f} ms"
    if metric == "tasks_per_sec":
        return f"{v / 1e3:,.0f}k/s"
    return f"{v:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--points", default="join,release,accumulate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < a.workers + 1:
        print(f"needs {a.workers + 1} CPUs (W for the workload, one for this script)", file=sys.stderr)
        return 2
    cpus = allowed[-a.workers :]
    os.sched_setaffinity(0, allowed[:1])
    rng = random.Random(a.seed)
    runs = []
    launch = {}
    for name in a.runtimes.split(","):
        rt = RUNTIMES[name]
        tc = rt.toolchain()
        launch[name] = (
            [*rt.launch(build(rt, tc).artifact_dir, a.workers, rt.default_settings(), tc)],
            {**os.environ, **tc.env},
        )
        runs += [(name, point, choice) for point in a.points.split(",") for choice in CHOICES[name][point]]
    values: dict[tuple, list[dict]] = {}
    for r in range(a.repeats):
        order = list(runs)
        rng.shuffle(order)
        for name, point, choice in order:
            argv, env = launch[name]
            m = measure(argv, {**env, "WORKLOAD_SYNC": f"{point}={choice}"}, cpus, SCENARIO[point], a.tasks, a.workers)
            assert m["settings"][f"sync_{point}"] == choice, m["settings"]  # the program did what it was asked
            values.setdefault((name, point, choice), []).append(m)
        print(f"repeat {r + 1}/{a.repeats} done", file=sys.stderr, flush=True)
    rows = []
    print(
        f"\nW = {a.workers}, N = {a.tasks:,}, {a.repeats} repeats; ratio = choice / protocol's choice "
        "(median of per-repeat ratios; < 1 is faster for times, > 1 faster for tasks/s)\n"
    )
    print("| runtime | point | choice | " + " | ".join(["metric", "median", "ratio"]) + " |")
    print("|---|---|---|---|---|---|")
    for name, point, choice in runs:
        base = values[(name, point, CHOICES[name][point][0])]
        mine = values[(name, point, choice)]
        for metric in METRICS[SCENARIO[point]]:
            med = statistics.median(m[metric] for m in mine)
            ratio = statistics.median(x[metric] / b[metric] for x, b in zip(mine, base, strict=True) if b[metric])
            rows.append(
                {
                    "runtime": name,
                    "point": point,
                    "choice": choice,
                    "protocol": choice == CHOICES[name][point][0],
                    "metric": metric,
                    "median": med,
                    "ratio": ratio,
                    "values": [m[metric] for m in mine],
                    "workers": a.workers,
                    "tasks": a.tasks,
                }
            )
            star = " ★" if choice == CHOICES[name][point][0] else ""
            print(f"| {name} | {point} | {choice}{star} | {metric} | {fmt(metric, med)} | {ratio:.2f} |")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
