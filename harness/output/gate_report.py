"""Why a regression: the gate's report, a differential flame graph per
regressed benchmark (the candidate's profile, each frame tinted by how its
share of the samples moved from the base's, in the runtime's colour; static,
no script) and the frames that moved most, from the profiled round of each
side that `harness ab` adds when the gate fails. Read only from the two
results files."""

from __future__ import annotations

from pathlib import Path

from harness.output import flamegraph
from harness.output.report import env, write_atomically
from harness.record.model import Results


def write(base: Results, cand: Results, bench_ids: list[str], out: Path) -> int:
    """The report's HTML at `out`; returns how many benchmarks it could draw (both sides profiled)."""
    figures: list[dict] = []
    for bid in bench_ids:
        b, c = base.benchmark(bid), cand.benchmark(bid)
        bp, cp = (x.profiled if x else None for x in (b, c))
        if not (bp and cp and bp.ok and cp.ok and b and c):
            figures.append({"id": bid, "svg": "", "moved": [], "why": "no profiled round of both sides"})
            continue
        svg, moved = flamegraph.diff_svg(
            (bp.profile or {})["stacks"],
            (cp.profile or {})["stacks"],
            cand.colour(c.runtime),
            f"{bid}: candidate vs base",
        )
        figures.append(
            {
                "id": bid,
                "svg": svg,
                "moved": [
                    {
                        "frame": path.split(";")[-1],
                        "path": path,
                        "base": f"{100 * x:.1f}%",
                        "cand": f"{100 * y:.1f}%",
                        "change": f"{100 * (y - x):+.1f}",
                    }
                    for path, x, y in moved
                ],
                "samples": ((bp.profile or {}).get("samples"), (cp.profile or {}).get("samples")),
                "why": "",
            }
        )
    html = env.get_template("gate_report.html.j2").render(
        figures=figures, base=base.git.get("short_sha", "?"), cand=cand.git.get("short_sha", "?")
    )
    write_atomically(out, html)
    return sum(1 for f in figures if f["svg"])
