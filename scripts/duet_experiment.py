#!/usr/bin/env python3
"""Does `harness ab --duet` help here? (Bulej et al., ICPE'20: base and candidate at
the same time on disjoint CPUs, swapped every round, so both feel the same
interference.) A/A sessions through the real CLI, alternating with and without
--duet: the same build on both sides, so every per-round log-ratio
candidate/base is pure noise, and the narrower their spread, the finer the
paired gate.

    .venv/bin/python scripts/duet_experiment.py [--sessions 4] [--rounds 6] [--runtimes go,rust,java]
        [--tasks 200000] [--json OUT.json]

Prints, per runtime and metric, the standard deviation of the per-round
log-ratios (pooled over sessions) for each method and their ratio
duet/sequential (below 1: the duet is finer), and for the duet the mean
log-ratio by CPU assignment (what sharing a CPU with the harness costs a side;
swapping every round cancels it in the mean, not in the spread).
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("tasks_per_sec", "cpu_ns_per_task")


def session(duet: bool, a, out_dir: Path) -> dict:
    args = [sys.executable, "-m", "harness", "ab", "--base", "HEAD", "--suite", "quick", "--scenarios", "spawn",
            "--runtimes", a.runtimes, "--trials", str(a.rounds), "--set", f"spawn.tasks={a.tasks}",
            "--out-dir", str(out_dir), *(["--duet"] if duet else [])]
    p = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"harness ab failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
    files = sorted(out_dir.glob("ab-*.json"))
    base = json.loads(next(f for f in files if f.name.endswith("-base.json")).read_text())
    cand = json.loads(next(f for f in files if f.name.endswith("-candidate.json")).read_text())
    for f in files:
        f.unlink()
    rows: dict = {}
    for b, c in zip(base["benchmarks"], cand["benchmarks"], strict=True):
        for tb, tc in zip(b["trials"], c["trials"], strict=True):
            if tb["warmup"] or not (tb["ok"] and tc["ok"]):
                continue
            where = tuple(tb["duet"]["cpus"]) if duet else None
            for m in METRICS:
                rows.setdefault((b["runtime"], m), []).append((where, math.log(tc["metrics"][m] / tb["metrics"][m])))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    pooled: dict = {"sequential": {}, "duet": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.sessions):
            for duet in ((False, True) if k % 2 == 0 else (True, False)):  # alternate: drift hits both
                method = "duet" if duet else "sequential"
                for key, rows in session(duet, a, Path(tmp)).items():
                    pooled[method].setdefault(key, []).append(rows)
                print(f"session {k + 1}/{a.sessions} {method} done", flush=True)
    report = []
    for key in pooled["sequential"]:
        entry: dict = {"runtime": key[0], "metric": key[1], "sessions": a.sessions, "rounds": a.rounds}
        for method in ("sequential", "duet"):
            # spread within each session around its own mean (a session's mean is its A/A "change")
            resid = [x - statistics.mean(v for _, v in s) for s in pooled[method][key] for _, x in s]
            dof = len(resid) - len(pooled[method][key])
            entry[f"sd_{method}"] = math.sqrt(sum(r * r for r in resid) / dof)
        by_cpu: dict = {}
        for s in pooled["duet"][key]:
            for where, x in s:
                by_cpu.setdefault(str(list(where)), []).append(x)
        entry["duet_mean_log_ratio_by_base_cpus"] = {w: statistics.mean(v) for w, v in by_cpu.items()}
        entry["duet_over_sequential"] = entry["sd_duet"] / entry["sd_sequential"]
        report.append(entry)
        cpu_text = ", ".join(f"base on {w}: {100 * m:+.1f}%" for w, m in entry["duet_mean_log_ratio_by_base_cpus"].items())
        print(f"{key[0]} {key[1]}: A/A sd of the per-round log-ratio: sequential {100 * entry['sd_sequential']:.2f}%, "
              f"duet {100 * entry['sd_duet']:.2f}%, duet/sequential {entry['duet_over_sequential']:.2f} "
              f"(duet, mean by CPUs: {cpu_text})")
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
