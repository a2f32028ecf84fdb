#!/usr/bin/env python3
"""How close a run came to its precision targets: for every headline metric with a target (the
suite's [precision], or --target for all of them), the 95% interval's half-width at the suite's own
trial count and after the trials the session added, as a markdown table.

    .venv/bin/python scripts/precision_report.py RESULTS.json [--target 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.record.model import load  # noqa: E402
from harness.stats import precision  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--target", type=float, default=None, help="a target in percent for every headline metric")
    a = ap.parse_args()
    doc = load(a.results)
    suite = doc.raw["suite"]
    target = (
        precision.Target(a.target, {})
        if a.target is not None
        else precision.Target.of_suite(suite.get("precision") or {})
    )
    print("| benchmark | metric | target | suite's trials: ± | all trials: ± | |")
    print("|---|---|---|---|---|---|")
    for b in [*doc.benchmarks, *doc.floors.values()]:
        own = (suite.get(b.scenario) or {}).get("trials") or suite["trials"]["count"]
        for key, meta in b.metrics.items():
            t = target.of(key)
            values = b.values(key)
            if t <= 0 or not meta.headline or b.incomparable(key) or len(values) < 2:
                continue
            first, last = precision.half_width(values[:own]), precision.half_width(values)
            print(
                f"| {b.id} | {key} | ±{100 * t:g}% | {min(own, len(values))}: ±{100 * first:.1f}% "
                f"| {len(values)}: ±{100 * last:.1f}% | {'reached' if last <= t else 'missed'} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
