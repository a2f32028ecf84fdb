#!/usr/bin/env python3
"""Why does the instrument's floor sometimes read milliseconds at p99? The load
generator against its reference responder, as the http scenario's floor runs
it (the responder on the workload's CPU, the load generator on CPU 0 at nice
-10, the largest stage's connections and rate), outside the harness and in
alternating conditions, each run a fresh pair of processes:

  quiet     nothing else on CPU 0
  sampler   a thread of this process reading the responder with psutil every
            250 ms on CPU 0 (what the harness's sampler does during http)
  busy      a second process spinning on CPU 0 half of the time (a neighbour)

Per run: the corrected latency p50/p99/max, the send lag p99/max, and the
load generator's involuntary context switches (preemptions). Prints the
medians per condition and which condition the tail follows.

    .venv/bin/python scripts/floor_tail.py [--runs 6] [--connections 10000] [--rate 10000] [--seconds 5]
        [--conditions quiet,sampler,busy] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from harness.backends.native import build  # noqa: E402
from harness.subjects import LOADGEN  # noqa: E402


def one_run(loadgen: str, cpus: list[int], condition: str, a) -> dict:
    responder = subprocess.Popen(
        ["taskset", "-c", str(cpus[-1]), loadgen, "respond", "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert responder.stdout is not None
    port = json.loads(responder.stdout.readline())["port"]
    stop = threading.Event()
    neighbour = None
    if condition == "sampler":
        proc = psutil.Process(responder.pid)

        def sample() -> None:
            while not stop.wait(0.25):
                with proc.oneshot():
                    proc.memory_info()
                    proc.cpu_times()
                    proc.num_threads()
                    proc.num_ctx_switches()

        threading.Thread(target=sample, daemon=True).start()
    elif condition == "busy":  # half of CPU 0, in 5 ms bursts
        neighbour = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(cpus[0]),
                sys.executable,
                "-c",
                "import time\nwhile True:\n t=time.monotonic()\n while time.monotonic()-t<0.005: pass\n"
                " time.sleep(0.005)",
            ]
        )
    ramp = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(cpus[0]),
            loadgen,
            "ramp",
            "--workers",
            "1",
            "--stages",
            str(a.connections),
            "--rate",
            str(a.rate),
            "--stage-duration-s",
            str(a.seconds),
            "--spin-us",
            str(a.spin_us),
            "--nice",
            str(a.nice),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ps = psutil.Process(ramp.pid)
    ctx0 = ps.num_ctx_switches()
    softirqd = [p for p in psutil.process_iter(["name"]) if p.info["name"] == f"ksoftirqd/{cpus[0]}"]
    irq0 = sum(p.cpu_times().system for p in softirqd)
    end = None
    ctx1 = ctx0
    assert ramp.stdout is not None
    for line in ramp.stdout:
        obj = json.loads(line)
        if obj.get("type") == "stage_end":
            end = obj
            try:
                ctx1 = ps.num_ctx_switches()
            except psutil.Error:
                pass
    ramp.wait()
    irq_s = sum(p.cpu_times().system for p in softirqd) - irq0
    stop.set()
    if neighbour:
        neighbour.kill()
        neighbour.wait()
    responder.terminate()
    responder.wait()
    assert end is not None, "the ramp printed no stage_end"
    return {
        "condition": condition,
        "p50_us": end["corrected"]["p50_us"],
        "p99_us": end["corrected"]["p99_us"],
        "max_us": end["corrected"]["max_us"],
        "lag_p99_us": end["lag"]["p99_us"],
        "lag_max_us": end["lag"]["max_us"],
        "achieved": end["achieved_rate"],
        "preemptions": ctx1.involuntary - ctx0.involuntary,
        "ksoftirqd_s": round(irq_s, 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--connections", type=int, default=10_000)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--conditions", default="quiet,sampler,busy")
    ap.add_argument("--spin-us", type=int, default=2000)  # the http scenario's defaults
    ap.add_argument("--nice", type=int, default=-10)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("needs two CPUs", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, cpus[:1])
    loadgen = str(build(LOADGEN, LOADGEN.toolchain()).artifact_dir / "loadgen")
    rows = []
    for r in range(a.runs):
        for condition in a.conditions.split(","):
            rows.append(one_run(loadgen, cpus, condition, a))
            x = rows[-1]
            print(
                f"run {r + 1} {condition:8} p99 {x['p99_us']:>7,.0f} µs  max {x['max_us']:>7,.0f}  lag p99 "
                f"{x['lag_p99_us']:>5,.0f} max {x['lag_max_us']:>6,.0f}  preempted {x['preemptions']}  "
                f"ksoftirqd {x['ksoftirqd_s']} s",
                flush=True,
            )
    print("\nmedians per condition (corrected p99 / max, send lag p99, preemptions of the load generator):")
    for condition in a.conditions.split(","):
        xs = [x for x in rows if x["condition"] == condition]
        print(
            f"  {condition:8} p99 {statistics.median(x['p99_us'] for x in xs):,.0f} µs "
            f"[{min(x['p99_us'] for x in xs):,.0f}, {max(x['p99_us'] for x in xs):,.0f}], max "
            f"{statistics.median(x['max_us'] for x in xs):,.0f} µs, lag p99 "
            f"{statistics.median(x['lag_p99_us'] for x in xs):,.0f} µs, preempted "
            f"{statistics.median(x['preemptions'] for x in xs):,.0f}"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
