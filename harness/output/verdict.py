"""The gate's verdict, rendered: the markdown table a pull request's comment and
the job summary show, the JSON verdict file, and the design lines under the
table. The gate (harness.gate) decides; this room only says what it decided."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.gate.compare import Comparison, Options
from harness.gate.methods import Method
from harness.gate.verdict import Verdict
from harness.record.model import Results
from harness.record.units import fmt_value

MARKS = {
    Verdict.REGRESSION: "❌ regression",
    Verdict.IMPROVEMENT: "✅ improvement",
    Verdict.NO_CHANGE: "no change",
    Verdict.UNDECIDED: "❔ undecided",
    Verdict.INSUFFICIENT: "⚠️ insufficient data",
    Verdict.MISSING: "❌ missing",
}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def _cells(c: Comparison) -> str:
    """The row's first cells: what, the two medians, the change and its interval."""
    arrow = "↑" if c.better == "higher" else "↓"
    ci = "-" if c.ci_low is None else f"[{_pct(c.ci_low)}, {_pct(c.ci_high)}]"
    return (
        f"| {c.benchmark} | {c.label} {arrow} | {fmt_value(c.baseline_median, c.unit)} | "
        f"{fmt_value(c.candidate_median, c.unit)} | {_pct(c.change)} | {ci} |"
    )


def _n(c: Comparison) -> str:
    n = f"{c.n_pairs} pairs" if c.method == "paired" else f"{c.n_baseline}+{c.n_candidate}"
    return n + (f" ({c.pairs_left_out} left out: steal)" if c.pairs_left_out else "")


def markdown(
    comparisons: list[Comparison],
    base: Results,
    cand: Results,
    opts: Options,
    method: Method,
    rounds: int | None = None,
    design: list[str] | None = None,
) -> str:
    confidence = f"{100 * (1 - opts.alpha):g}%"
    lines = [
        f"Regression gate — {method.describe(confidence, rounds)}; p corrected across the "
        f"{sum(1 for c in comparisons if c.gated and c.p_adjusted is not None)}"
        f" metrics measured (Holm); threshold ±{100 * opts.threshold:.1f}% in each metric's bad direction"
        + "".join(f", {k} ±{100 * v:g}%" for k, v in opts.thresholds if v > 0)
        + f"; alpha "
        f"{opts.alpha}: a regression needs the whole interval worse than the threshold and a significant p.",
        "",
    ]
    for label, doc in (("baseline", base), ("candidate", cand)):
        if doc.status != "complete":
            lines.append(f"**The {label} run's status is `{doc.status}`**: not every trial finished or succeeded.")
    gated = [c for c in comparisons if c.gated]
    shown = [c for c in comparisons if not c.gated]
    lines += [
        "| benchmark | metric | baseline | candidate | change | interval of change | p (Holm) | n | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in gated:
        p = "-" if c.p_value is None else f"{c.p_value:.3g} ({c.p_adjusted:.3g})"
        why = f" — {c.reason.text}" if c.reason and c.reason.shown else ""
        lines.append(f"{_cells(c)} {p} | {_n(c)} | {MARKS[c.verdict] if c.verdict else '-'}{why} |")
    if shown:
        lines += [
            "",
            "Shown, not gated (rates and wall times move with the host's steal and scheduling; the gate decides on "
            "the costs above):",
            "",
            "| benchmark | metric | baseline | candidate | change | interval of change | n |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [f"{_cells(c)} {_n(c)} |" for c in shown]
    left = sum(c.pairs_left_out for c in comparisons)
    if left and opts.steal_pair_pct:
        lines += [
            "",
            f"{left} metric pair(s) left out of rates and wall times: the two trials' CPU steal differed by more "
            f"than {opts.steal_pair_pct:g} points (gate.steal_pair_pct); the steal-free costs keep every pair.",
        ]
    counts = {v: sum(1 for c in gated if c.verdict == v) for v in MARKS}
    lines += [
        "",
        f"**{counts[Verdict.REGRESSION]} regression(s)**, {counts[Verdict.MISSING]} missing, "
        f"{counts[Verdict.UNDECIDED]} undecided, {counts[Verdict.INSUFFICIENT]} with insufficient data, "
        f"in {len(gated)} gated comparisons.",
    ]
    return "\n".join(lines) + "\n" + "".join(f"\n{line}\n" for line in design or [])


def write(
    comparisons: list[Comparison],
    md: str,
    verdict_path: Path | None,
    code: int,
    opts: Options,
    method: Method,
    rounds: int | None,
) -> None:
    """The markdown into the job summary ($GITHUB_STEP_SUMMARY) and beside the JSON verdict."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a") as f:
            f.write(md)
    if verdict_path:
        verdict_path.with_suffix(".md").write_text(md)  # what a pull request's comment shows
        verdict_path.write_text(
            json.dumps(
                {
                    "exit_code": code,
                    "regression": code == 1,
                    "threshold": opts.threshold,
                    "thresholds": dict(opts.thresholds),
                    "alpha": opts.alpha,
                    "method": method.name,
                    "rounds": rounds,
                    "comparisons": [c.to_json() for c in comparisons],
                },
                indent=1,
            )
        )


def note(line: str) -> None:
    """One more line in the job summary, where the gate's table went."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    print(line)
    if summary_file:
        with open(summary_file, "a") as f:
            f.write(f"\n{line}\n")
