#!/usr/bin/env python3
"""Calibrate the regression gate on this machine (issue: measured, not assumed).

A/A: the same build against itself, TRIES times (`harness ab --base HEAD`):
how many false alarms at the default settings.
Power: a known slowdown of one runtime's spawn, made real with the `--work`
knob (more rounds of the work function per task), TRIES times per size:
how often the gate catches it.

    .venv/bin/python scripts/gate_calibration.py [--tries 20] [--trials 6] [--runtimes go,rust,java]
        [--power-runtime go] [--slowdowns 10,25] [--json OUT.json]

Everything runs through the real CLI on the quick suite's spawn scenario.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = [sys.executable, "-m", "harness"]


def ab(args: list[str], out_dir: Path) -> tuple[int, dict]:
    verdict = out_dir / "verdict.json"
    verdict.unlink(missing_ok=True)
    p = subprocess.run([*HARNESS, "ab", "--base", "HEAD", "--suite", "quick", "--scenarios", "spawn",
                        "--out-dir", str(out_dir), "--verdict", str(verdict), *args],
                       cwd=ROOT, capture_output=True, text=True)
    if p.returncode not in (0, 1) or not verdict.exists():
        raise SystemExit(f"harness ab failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
    return p.returncode, json.loads(verdict.read_text())


def work_for_slowdown(runtime: str, slowdown: float, trials: int, out_dir: Path) -> tuple[int, float]:
    """Fit time per task = a + b * work from runs at work 100 and 600, then solve
    for the work that lowers tasks/s by `slowdown`."""
    rates = {}
    for work in (100, 600):
        out = out_dir / f"fit-{work}.json"
        p = subprocess.run([*HARNESS, "run", "--suite", "quick", "--scenarios", "spawn", "--runtimes", runtime,
                            "--trials", str(trials), "--set", f"spawn.work={work}", "--backend", "native", "--out", str(out)],
                           cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"calibration run failed: {p.stderr.strip().splitlines()[-1:]}")
        doc = json.loads(out.read_text())
        rates[work] = doc["benchmarks"][0]["summary"]["tasks_per_sec"]["median"]
    t100, t600 = 1 / rates[100], 1 / rates[600]
    b = (t600 - t100) / 500
    target = t100 / (1 - slowdown)
    return max(101, round(100 + (target - t100) / b)), rates[100]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--power-runtime", default="go")
    ap.add_argument("--slowdowns", default="10,25")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    report: dict = {"tries": a.tries, "trials_per_side": a.trials, "threshold": "5%", "alpha": 0.05}
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        alarms = 0
        for i in range(a.tries):
            code, verdict = ab(["--runtimes", a.runtimes, "--trials", str(a.trials)], out_dir)
            alarms += code == 1
            flagged = [f"{c['benchmark']}:{c['metric']} {100 * c['change']:+.1f}%" for c in verdict["comparisons"]
                       if c["verdict"] == "regression"]
            print(f"A/A {i + 1}/{a.tries}: exit {code} {flagged}", flush=True)
        report["aa"] = {"runtimes": a.runtimes, "false_alarms": alarms}
        print(f"A/A: {alarms} false alarm(s) in {a.tries} (runtimes {a.runtimes}, {a.trials} trials per side)")
        report["power"] = []
        for pct in (float(x) for x in a.slowdowns.split(",")):
            work, base_rate = work_for_slowdown(a.power_runtime, pct / 100, a.trials, out_dir)
            caught, changes = 0, []
            for i in range(a.tries):
                code, verdict = ab(["--runtimes", a.power_runtime, "--trials", str(a.trials),
                                    "--candidate-set", f"spawn.work={work}"], out_dir)
                hit = [c for c in verdict["comparisons"] if c["metric"] == "tasks_per_sec"][0]
                changes.append(hit["change"])
                caught += hit["verdict"] == "regression"
                print(f"slowdown {pct:g}% (work {work}) {i + 1}/{a.tries}: tasks/s {100 * hit['change']:+.1f}%, "
                      f"p={hit['p_value']}, {hit['verdict']}", flush=True)
            entry = {"target_slowdown_pct": pct, "runtime": a.power_runtime, "work": work,
                     "measured_change_median_pct": round(100 * statistics.median(changes), 2),
                     "caught": caught, "tries": a.tries}
            report["power"].append(entry)
            print(f"power at {pct:g}%: caught {caught}/{a.tries} (work 100 -> {work}, median measured change "
                  f"{entry['measured_change_median_pct']:+.1f}%)")
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
