"""The regression gate: reads two results files (or the two sides of one
`harness ab` session) and decides, per benchmark and metric, whether the
candidate regressed. Exit 0 no regression, 1 regression (or a failed or missing
benchmark; with --strict also an undecided one), 2 unusable input."""

from __future__ import annotations

import os
from pathlib import Path

from harness.gate import compare, design
from harness.gate.compare import Options
from harness.gate.design import design_lines
from harness.gate.sequential import StopRule
from harness.gate.verdict import Verdict
from harness.record.model import Results

__all__ = ["Options", "StopRule", "Verdict", "design_lines", "run"]


def run(
    base: Results, cand: Results, opts: Options, strict: bool, verdict_path: Path | None, rounds: int | None = None
) -> int:
    """Compare, print the markdown table (and append it to $GITHUB_STEP_SUMMARY),
    write the JSON verdict; return the exit code."""
    comparisons = compare.gate(base, cand, opts)
    code = compare.exit_code(comparisons, strict, opts.allow_missing)
    method = "paired" if compare.paired_session(base, cand) else "unpaired"
    md = compare.markdown(comparisons, base, cand, opts, rounds) + "".join(
        f"\n{line}\n" for line in design.summary(comparisons, opts, method)
    )
    print(md)
    compare.write_outputs(comparisons, md, verdict_path, code, opts, method, rounds)
    return code


def regressed_benchmarks(base: Results, cand: Results, opts: Options) -> set[str]:
    """The benchmarks with a measured regression (not a crash: a profile of a crash says nothing)."""
    return {c.benchmark for c in compare.gate(base, cand, opts) if c.verdict is Verdict.REGRESSION and c.reason is None}


def note(line: str) -> None:
    """One more line in the job summary, where the gate's table went."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    print(line)
    if summary_file:
        with open(summary_file, "a") as f:
            f.write(f"\n{line}\n")
