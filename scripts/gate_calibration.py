#!/usr/bin/env python3
"""Calibrate the regression gate on this machine (measured, not assumed).

A/A: the same build against itself, TRIES times (`harness ab --base HEAD`): how
many false alarms. Power: a known slowdown of one runtime's spawn, made real
with the `--work` knob (more rounds of the work function per task, fitted from
two runs so that tasks/s drops by the asked share), TRIES times per size: how
often the gate catches it. Every gate is paired and sequential: it starts with
--trials rounds and adds rounds until every gated metric is decided, up to
--max-rounds. Reports false alarms, power, rounds used and wall time per gate.

    .venv/bin/python scripts/gate_calibration.py [--tries 20] [--trials 6] [--max-rounds 20]
        [--runtimes go,rust,java] [--power-runtime go] [--slowdowns 5,10] [--threshold 2%]
        [--tasks 200000] [--json OUT.json]

Everything runs through the real CLI on the quick suite's spawn scenario.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = [sys.executable, "-m", "harness"]


def ab(args: list[str], out_dir: Path) -> tuple[int, dict, float]:
    verdict = out_dir / "verdict.json"
    verdict.unlink(missing_ok=True)
    t0 = time.monotonic()
    p = subprocess.run(
        [
            *HARNESS,
            "ab",
            "--base",
            "HEAD",
            "--suite",
            "quick",
            "--scenarios",
            "spawn",
            "--out-dir",
            str(out_dir),
            "--verdict",
            str(verdict),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if p.returncode not in (0, 1) or not verdict.exists():
        raise SystemExit(f"harness ab failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
    return p.returncode, json.loads(verdict.read_text()), time.monotonic() - t0


def work_for_slowdown(runtime: str, slowdown: float, tasks: int, out_dir: Path) -> tuple[int, float]:
    """Fit CPU time per task = a + b * work from runs at work 100 and 300, then solve
    for the work that lowers steady tasks/s by `slowdown`."""
    rates = {}
    for work in (100, 300):
        out = out_dir / f"fit-{work}.json"
        p = subprocess.run(
            [
                *HARNESS,
                "run",
                "--suite",
                "quick",
                "--scenarios",
                "spawn",
                "--runtimes",
                runtime,
                "--trials",
                "5",
                "--set",
                f"spawn.tasks={tasks}",
                "--set",
                f"spawn.work={work}",
                "--backend",
                "native",
                "--out",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if p.returncode != 0:
            raise SystemExit(f"calibration run failed: {p.stderr.strip().splitlines()[-1:]}")
        doc = json.loads(out.read_text())
        rates[work] = doc["benchmarks"][0]["summary"]["tasks_per_sec"]["median"]
    t100, t300 = 1 / rates[100], 1 / rates[300]
    b = (t300 - t100) / 200
    target = t100 / (1 - slowdown)
    return max(101, round(100 + (target - t100) / b)), rates[100]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--max-rounds", type=int, default=20)
    ap.add_argument("--threshold", default="2%")
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--power-runtime", default="go")
    ap.add_argument("--slowdowns", default="5,10")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    common = [
        "--trials",
        str(a.trials),
        "--max-rounds",
        str(a.max_rounds),
        "--threshold",
        a.threshold,
        "--set",
        f"spawn.tasks={a.tasks}",
    ]
    report: dict = {
        "tries": a.tries,
        "trials": a.trials,
        "max_rounds": a.max_rounds,
        "threshold": a.threshold,
        "alpha": 0.05,
        "tasks": a.tasks,
    }
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        alarms, undecided, rounds, walls = 0, 0, [], []
        for i in range(a.tries):
            code, verdict, wall = ab(["--runtimes", a.runtimes, *common], out_dir)
            alarms += code == 1
            undecided += any(c["verdict"] == "undecided" for c in verdict["comparisons"])
            rounds.append(verdict["rounds"])
            walls.append(wall)
            flagged = [
                f"{c['benchmark']}:{c['metric']} {100 * c['change']:+.1f}%"
                for c in verdict["comparisons"]
                if c["verdict"] == "regression"
            ]
            print(f"A/A {i + 1}/{a.tries}: exit {code}, {verdict['rounds']} rounds, {wall:.0f} s {flagged}", flush=True)
        report["aa"] = {
            "runtimes": a.runtimes,
            "false_alarms": alarms,
            "undecided": undecided,
            "mean_rounds": statistics.mean(rounds),
            "median_wall_s": statistics.median(walls),
        }
        print(
            f"A/A: {alarms} false alarm(s) in {a.tries}, {undecided} with an undecided metric, "
            f"{statistics.mean(rounds):.1f} rounds on average, median {statistics.median(walls):.0f} s per gate"
        )
        report["power"] = []
        for pct in (float(x) for x in a.slowdowns.split(",")):
            work, base_rate = work_for_slowdown(a.power_runtime, pct / 100, a.tasks, out_dir)
            caught, changes, rounds, walls = 0, [], [], []
            for i in range(a.tries):
                code, verdict, wall = ab(
                    ["--runtimes", a.power_runtime, *common, "--candidate-set", f"spawn.work={work}"], out_dir
                )
                hit = next(c for c in verdict["comparisons"] if c["metric"] == "tasks_per_sec")
                changes.append(hit["change"])
                caught += hit["verdict"] == "regression"
                rounds.append(verdict["rounds"])
                walls.append(wall)
                print(
                    f"slowdown {pct:g}% (work {work}) {i + 1}/{a.tries}: tasks/s {100 * hit['change']:+.1f}% "
                    f"[{100 * (hit['ci_low'] or 0):+.1f}%, {100 * (hit['ci_high'] or 0):+.1f}%], "
                    f"{verdict['rounds']} rounds, {hit['verdict']}",
                    flush=True,
                )
            entry = {
                "target_slowdown_pct": pct,
                "runtime": a.power_runtime,
                "work": work,
                "measured_change_median_pct": round(100 * statistics.median(changes), 2),
                "caught": caught,
                "tries": a.tries,
                "mean_rounds": statistics.mean(rounds),
                "median_wall_s": statistics.median(walls),
            }
            report["power"].append(entry)
            print(
                f"power at {pct:g}%: caught {caught}/{a.tries} (work 100 -> {work}, median measured change "
                f"{entry['measured_change_median_pct']:+.1f}%, {entry['mean_rounds']:.1f} rounds on average)"
            )
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
