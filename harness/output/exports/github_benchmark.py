"""github-action-benchmark's customBiggerIsBetter and customSmallerIsBetter JSON
(one tool per file, so two files: PREFIX-bigger.json and PREFIX-smaller.json):
name, unit, value (the median), range (the interval of the median, as "± half
its width") and extra (the interval and n)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import HarnessError
from harness.output.exports.common import headline, name, write
from harness.record.model import Results


class GithubBenchmark:
    flag = "--github-benchmark"
    metavar = "PREFIX"
    help = "github-action-benchmark custom JSON: PREFIX-bigger.json and PREFIX-smaller.json"

    def write(self, doc: Results, dest: Path) -> str:
        bigger, smaller, n = to_github_benchmark(doc, dest)
        return f"wrote {n} github-action-benchmark entries to {bigger} and {smaller}"


def to_github_benchmark(doc: Results, prefix: Path) -> tuple[Path, Path, int]:
    files: dict[str, list[dict]] = {"higher": [], "lower": []}
    for b, _key, meta, s in headline(doc):
        half = (s["ci_high"] - s["ci_low"]) / 2
        files[meta.better].append(
            {
                "name": f"{name(doc, b.id)} {meta.label}",
                "unit": meta.unit,
                "value": float(s["median"]),
                "range": f"± {half:.6g}",
                "extra": f"interval of the median [{s['ci_low']:.6g}, {s['ci_high']:.6g}] "
                f"({100 * s.get('ci_coverage', 0):.4g}% confidence), n={s['n']}",
            }
        )
    if not files["higher"] and not files["lower"]:
        raise HarnessError("no successful measured trials to export")
    bigger, smaller = Path(f"{prefix}-bigger.json"), Path(f"{prefix}-smaller.json")
    write(bigger, json.dumps(files["higher"], indent=1))
    write(smaller, json.dumps(files["lower"], indent=1))
    return bigger, smaller, len(files["higher"]) + len(files["lower"])
