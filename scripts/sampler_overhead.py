#!/usr/bin/env python3
"""Sampler overhead: spawn N Go tasks with the psutil sampler at 20 ms and
without it, interleaved, PAIRS pairs; prints the median ratio of tasks/s.

    .venv/bin/python scripts/sampler_overhead.py [--pairs 10] [--tasks 1000000] [--runtime go]

The harness runs on CPU 0 and the workload on CPU 1, as in the default suite.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import config  # noqa: E402
from harness.backends.native import NativeLauncher, build  # noqa: E402
from harness.measure.trial import TrialSpec, run_trial  # noqa: E402
from harness.subjects import RUNTIMES, SCENARIOS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--runtime", default="go")
    ap.add_argument("--workload-cpu", type=int, default=1)
    ap.add_argument("--harness-cpu", type=int, default=0)
    a = ap.parse_args()
    rt = RUNTIMES[a.runtime]
    tc = rt.toolchain()
    built = build(rt, tc)
    os.sched_setaffinity(0, [a.harness_cpu])
    scenario = SCENARIOS["spawn"]
    params = {**scenario.params(config.load_suite("default")), "tasks": a.tasks}  # the default suite's rounds
    argv = [
        *rt.launch(built.artifact_dir, 1, rt.default_settings(), tc),
        "spawn",
        *scenario.workload_args(params),
        "--workers",
        "1",
    ]

    def trial(interval_ms: float) -> dict:
        spec = TrialSpec(
            "overhead",
            argv,
            {},
            [a.workload_cpu],
            scenario,
            params,
            interval_ms,
            200,
            300,
            launcher=NativeLauncher(tc.env),
        )
        rec = run_trial(spec)
        if not rec.ok:
            raise SystemExit(f"trial failed: {rec.error}")
        return rec.to_json()

    trial(20)  # warm-up, discarded
    ratios, on_rates, off_rates, ticks = [], [], [], []
    for i in range(a.pairs):
        order = (20, 0) if i % 2 == 0 else (0, 20)  # alternate which goes first
        recs = {ms: trial(ms) for ms in order}
        on, off = recs[20]["metrics"]["tasks_per_sec"], recs[0]["metrics"]["tasks_per_sec"]
        ratios.append(on / off)
        on_rates.append(on)
        off_rates.append(off)
        ticks.append(recs[20]["sampler"]["mean_tick_us"])
        print(
            f"pair {i + 1}: sampler on {on:,.0f} tasks/s, off {off:,.0f} tasks/s, ratio {on / off:.4f}, "
            f"steal {recs[20]['host_load']['steal_pct']}%/{recs[0]['host_load']['steal_pct']}%",
            flush=True,
        )
    print(f"median tasks/s: on {statistics.median(on_rates):,.0f}, off {statistics.median(off_rates):,.0f}")
    print(
        f"median ratio on/off over {a.pairs} pairs: {statistics.median(ratios):.4f} "
        f"(min {min(ratios):.4f}, max {max(ratios):.4f}); mean sampler tick {statistics.median(ticks):.1f} us"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
