#!/usr/bin/env python3
"""Which of a runtime's run-to-run randomness to pin, measured: each candidate setting runs as a variant
beside the runtime's defaults in one interleaved run of the gate suite (round by round, so that the
machine's drift falls on both), and the variance of the gated metric is split between processes and
within one (harness.stats.variance, Kalibera & Jones). A candidate is worth adopting where it cuts the
variance between processes and leaves the metric's median where it was (it must not change what the
metric means): both are printed, with the interval of the ratio of medians.

    .venv/bin/python scripts/randomness_pinning.py [--trials 12] [--only java-heap,go-layout,...]
        [--set KEY=VALUE ...] [--json OUT.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.record.model import load  # noqa: E402
from harness.stats import ratios, variance  # noqa: E402


@dataclass(frozen=True)
class Candidate:
    name: str
    scenario: str
    runtime: str
    metric: str  # the gated metric whose variance it should cut
    settings: str  # the variant's overrides, as --variant takes them
    why: str


CANDIDATES = (
    Candidate(
        "java-heap",
        "spawn",
        "java",
        "cpu_ns_per_task",
        'jvm_flags=["-Xms1g","-Xmx1g","-XX:+AlwaysPreTouch"]',
        "heap pre-sized and touched: no heap growth, no resizing decisions",
    ),
    Candidate(
        "java-heap-fixed",
        "spawn",
        "java",
        "cpu_ns_per_task",
        'jvm_flags=["-Xms1g","-Xmx1g"]',
        "heap pre-sized, not touched: no resizing decisions, RSS still what the program touches",
    ),
    Candidate(
        "java-cds",
        "startup",
        "java",
        "cpu_to_first_answer_ns",
        'jvm_flags=["-XX:+AutoCreateSharedArchive","-XX:SharedArchiveFile=build/cds/java-startup.jsa",'
        '"-Xlog:disable","-Xlog:all=warning:stderr"]',
        "an application class-data archive: the classes' loading and verification done once",
    ),
    Candidate(
        "go-gogc",
        "spawn",
        "go",
        "cpu_ns_per_task",
        'env={GOGC="off",GOMEMLIMIT="2GiB"}',
        "no collection below 2 GiB: GC pacing out of the round",
    ),
    Candidate("go-layout", "spawn", "go", "cpu_ns_per_task", 'layout="per-round"', "ASLR off, layout varied by round"),
    Candidate(
        "rust-layout", "spawn", "rust", "cpu_ns_per_task", 'layout="per-round"', "ASLR off, layout varied by round"
    ),
    Candidate(
        "java-layout", "spawn", "java", "cpu_ns_per_task", 'layout="per-round"', "ASLR off, layout varied by round"
    ),
    Candidate(
        "go-http-layout",
        "http",
        "go",
        "stage_cpu_us_per_request",
        'layout="per-round"',
        "ASLR off, layout varied by round",
    ),
)


def measure(c: Candidate, trials: int, sets: list[str], out: Path) -> dict:
    variant = f"{c.runtime}@pinned"
    (ROOT / "build" / "cds").mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "harness", "run", "--suite", "gate", "--backend", "native"]
    cmd += ["--scenarios", c.scenario, "--runtimes", f"{c.runtime},{variant}", "--variant", f"{variant}:{c.settings}"]
    cmd += ["--trials", str(trials), *(x for s in sets for x in ("--set", s)), "--out", str(out)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"{c.name}: harness run failed: {p.stderr.strip().splitlines()[-1:]}")
    doc = load(out)
    row: dict = {"candidate": c.name, "metric": c.metric, "settings": c.settings, "why": c.why}
    by = {b.runtime: b for b in doc.benchmarks}
    for label, bench in (("default", by[c.runtime]), ("pinned", by[variant])):
        groups = [t.rounds_of(c.metric) for t in bench.measured if t.rounds_of(c.metric)]
        comp = variance.components(groups)
        values = bench.values(c.metric)
        row[label] = {
            "median": sorted(values)[len(values) // 2] if values else None,
            "processes": len(groups),
            "cv_between_pct": 100 * math.sqrt(comp.between) if comp else None,
            "cv_within_pct": 100 * math.sqrt(comp.within) if comp and comp.levels == 2 else None,
        }
    r = ratios.of_pair(by[variant], by[c.runtime], c.metric)
    row["ratio"] = None if r is None else {"value": r.ratio, "low": r.low, "high": r.high}
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=12, help="processes of each subject")
    ap.add_argument("--only", default="", help=f"candidates, of {', '.join(c.name for c in CANDIDATES)}")
    ap.add_argument("--set", action="append", default=[], help="suite overrides")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None)
    a = ap.parse_args()
    chosen = [c for c in CANDIDATES if not a.only or c.name in a.only.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        where = a.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        print(
            f"{'candidate':<15} {'metric':<26} {'default: CV between/within':>27} {'pinned':>18} {'pinned/default':>26}"
        )
        for c in chosen:
            row = measure(c, a.trials, a.set, where / f"{c.name}.json")
            rows.append(row)
            d, p, r = row["default"], row["pinned"], row["ratio"]

            def cv(x: dict) -> str:
                within = "-" if x["cv_within_pct"] is None else f"{x['cv_within_pct']:.1f}%"
                return f"{x['cv_between_pct']:.1f}% / {within}" if x["cv_between_pct"] is not None else "-"

            ratio = "-" if r is None else f"{r['value']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
            print(f"{c.name:<15} {c.metric:<26} {cv(d):>27} {cv(p):>18} {ratio:>26}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
