#!/usr/bin/env python3
"""Calibrate the release site's change-point detector (E-Divisive, harness/stats/changepoints.py)
on this machine's own noise.

A pool of real A/A results (the same commit, the same method, run RUNS times with `harness run`,
or given with --from) stands in for a project whose releases changed nothing. Histories of
RELEASES releases are drawn from the pool (without replacement where it is large enough), each
headline metric of each benchmark a series of release medians, as the site draws them:
  - false alarms: the share of A/A series in which the detector finds any change point;
  - a planted step: from release AT on, every value moved by STEP in the metric's bad direction
    (the pool's real noise around it); detected: a change point within one release of AT, and
    "releases after": how many releases past AT the history must reach before it is found.

    .venv/bin/python scripts/changepoint_calibration.py [--runs 10] [--from FILE ...]
        [--suite quick] [--scenarios spawn,live,http,startup] [--runtimes go,rust,java]
        [--releases 8] [--at 4] [--steps 5,10] [--histories 200] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.record.model import load  # noqa: E402
from harness.stats import changepoints  # noqa: E402

MIN_SHIFT = 0.03  # the site's own (harness/output/site.py, change_points)


def real_runs(n: int, args, out_dir: Path) -> list[Path]:
    paths = []
    for i in range(n):
        out = out_dir / f"aa-{i}.json"
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--suite",
            args.suite,
            "--backend",
            "native",
            "--scenarios",
            args.scenarios,
            "--runtimes",
            args.runtimes,
            "--out",
            str(out),
            *(x for s in args.set for x in ("--set", s)),
        ]
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"harness run failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
        print(f"run {i + 1}/{n}: {out}", file=sys.stderr)
        paths.append(out)
    return paths


def pool_of(paths: list[Path]) -> dict[tuple[str, str], tuple[str, list[float]]]:
    """(benchmark, metric) -> (better, each run's median), for every headline metric in every run."""
    pool: dict[tuple[str, str], tuple[str, list[float]]] = {}
    for p in paths:
        doc = load(p)
        for b in doc.benchmarks:
            for key, meta in b.metrics.items():
                s = b.summary.get(key) or {}
                if meta.headline and s.get("n") and s.get("median"):
                    pool.setdefault((b.id, key), (meta.better, []))[1].append(float(s["median"]))
    return {k: v for k, v in pool.items() if len(v[1]) == len(paths)}


def histories(values: list[float], releases: int, count: int, rng: random.Random) -> list[list[float]]:
    if len(values) >= releases:
        return [rng.sample(values, releases) for _ in range(count)]
    return [[rng.choice(values) for _ in range(releases)] for _ in range(count)]


def found_near(series: list[float], at: int) -> bool:
    return any(abs(cp.index - at) <= 1 for cp in changepoints.detect(series, min_shift=MIN_SHIFT))


def releases_after(series: list[float], at: int) -> int | None:
    """How many releases past the step the history must hold before the step is found (None: never)."""
    for end in range(at + 1, len(series) + 1):
        if found_near(series[:end], at):
            return end - at
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="real A/A runs to make (0 with --from)")
    ap.add_argument("--from", dest="paths", nargs="*", default=[], type=Path, help="existing A/A results files")
    ap.add_argument("--suite", default="quick")
    ap.add_argument("--scenarios", default="spawn,live,http,startup")
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--set", action="append", default=[], help="passed to harness run")
    ap.add_argument("--releases", type=int, default=8)
    ap.add_argument("--at", type=int, default=4, help="the first release after a planted step")
    ap.add_argument("--steps", default="5,10", help="planted steps in percent")
    ap.add_argument("--histories", type=int, default=200, help="histories drawn per series")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not 2 <= args.at <= args.releases - 2:
        raise SystemExit("--at must leave two releases on each side (E-Divisive's smallest segment)")
    with tempfile.TemporaryDirectory() as tmp:
        paths = list(args.paths) + real_runs(args.runs, args, Path(tmp))
        if len(paths) < 2:
            raise SystemExit("need two A/A results files at least: --runs N or --from FILES")
        pool = pool_of(paths)
    rng = random.Random(20141201)
    steps = [float(s) / 100 for s in args.steps.split(",") if s]
    per_series = []
    for (bench, key), (better, values) in sorted(pool.items()):
        hs = histories(values, args.releases, args.histories, rng)
        alarms = sum(bool(changepoints.detect(h, min_shift=MIN_SHIFT)) for h in hs)
        row: dict[str, Any] = {
            "benchmark": bench,
            "metric": key,
            "cv_pct": 100 * statistics.stdev(values) / statistics.fmean(values),
            "false_alarms": alarms / len(hs),
        }
        for step in steps:
            factor = 1 - step if better == "higher" else 1 + step
            planted = [[v * (factor if i >= args.at else 1) for i, v in enumerate(h)] for h in hs]
            delays = [releases_after(h, args.at) for h in planted]
            caught = [d for d in delays if d is not None]
            row[f"detected_{step:g}"] = len(caught) / len(hs)
            row[f"releases_after_{step:g}"] = statistics.median(caught) if caught else None
        per_series.append(row)
    n = len(per_series)
    print(
        f"{len(paths)} A/A runs, {n} series (benchmark x headline metric), {args.histories} histories of "
        f"{args.releases} releases each; min shift {100 * MIN_SHIFT:g}%"
    )
    fa = [r["false_alarms"] for r in per_series]
    print(
        f"false alarms (any change point in an A/A series): median {100 * statistics.median(fa):.1f}%, "
        f"mean {100 * statistics.fmean(fa):.1f}% of series"
    )
    for step in steps:
        det = [r[f"detected_{step:g}"] for r in per_series]
        after = [r[f"releases_after_{step:g}"] for r in per_series if r[f"releases_after_{step:g}"] is not None]
        print(
            f"planted {100 * step:g}% step at release {args.at}: detected in {100 * statistics.fmean(det):.1f}% "
            f"of series (median series {100 * statistics.median(det):.0f}%), found "
            f"{statistics.median(after) if after else '-'} release(s) after it (median)"
        )
    print("\nper series: CV of the release medians, false alarms, detection per step")
    for r in per_series:
        cells = "  ".join(f"{100 * r[f'detected_{s:g}']:.0f}%" for s in steps)
        print(
            f"  {r['benchmark']:<22} {r['metric']:<26} CV {r['cv_pct']:5.1f}%  "
            f"FA {100 * r['false_alarms']:5.1f}%  {cells}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"runs": len(paths), "releases": args.releases, "series": per_series}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
