"""Bencher Metric Format (https://bencher.dev/bmf.json; `bencher run --adapter json`):
per benchmark, per measure (the metric's key and unit), its median with the
interval of the median as lower_value and upper_value. BMF has no direction:
Bencher's measures (and thresholds) carry it; the unit is in the name."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import HarnessError
from harness.output.exports.common import headline, name, write
from harness.record.model import Results


class Bencher:
    flag = "--bencher"
    metavar = "OUT.json"
    help = "Bencher Metric Format JSON (bencher run --adapter json)"

    def write(self, doc: Results, dest: Path) -> str:
        n = to_bencher(doc, dest)
        return f"wrote {n} Bencher metric(s) to {dest}"


def to_bencher(doc: Results, out: Path) -> int:
    bmf: dict[str, dict] = {}
    for b, key, meta, s in headline(doc):
        bmf.setdefault(name(doc, b.id), {})[f"{key} ({meta.unit}, {meta.better} is better)"] = {
            "value": float(s["median"]),
            "lower_value": float(s["ci_low"]),
            "upper_value": float(s["ci_high"]),
        }
    if not bmf:
        raise HarnessError("no successful measured trials to export")
    write(out, json.dumps(bmf, indent=1))
    return sum(len(v) for v in bmf.values())
