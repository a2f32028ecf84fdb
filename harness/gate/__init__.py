"""The regression gate: reads two results files (or the two sides of one
`harness ab` session) and decides, per benchmark and metric, whether the
candidate regressed. Exit 0 no regression, 1 regression (or a failed or missing
benchmark; with --strict also an undecided one), 2 unusable input."""

from __future__ import annotations

from pathlib import Path

from harness.gate import compare
from harness.gate.compare import Options
from harness.gate.sequential import StopRule
from harness.gate.verdict import Verdict
from harness.record.model import Results

__all__ = ["Options", "StopRule", "Verdict", "run"]


def run(
    base: Results, cand: Results, opts: Options, strict: bool, verdict_path: Path | None, rounds: int | None = None
) -> int:
    """Compare, print the markdown table (and append it to $GITHUB_STEP_SUMMARY),
    write the JSON verdict; return the exit code."""
    comparisons = compare.gate(base, cand, opts)
    code = compare.exit_code(comparisons, strict, opts.allow_missing)
    md = compare.markdown(comparisons, base, cand, opts, rounds)
    print(md)
    method = "paired" if compare.paired_session(base, cand) else "unpaired"
    compare.write_outputs(comparisons, md, verdict_path, code, opts, method, rounds)
    return code
