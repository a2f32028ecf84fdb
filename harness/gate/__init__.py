"""The regression gate: reads two results files (or the two sides of one
`harness ab` session) and decides, per benchmark and metric, whether the
candidate regressed. Exit 0 no regression, 1 regression, 2 unusable input."""

from __future__ import annotations

from pathlib import Path

from harness.gate import compare
from harness.record.model import Results


def run(
    base: Results,
    cand: Results,
    threshold: float,
    alpha: float,
    strict: bool,
    force: bool,
    all_metrics: bool,
    verdict_path: Path | None,
    ignore_params: frozenset[str] | set[str] = frozenset(),
) -> int:
    """Compare, print the markdown table (and append it to $GITHUB_STEP_SUMMARY),
    write the JSON verdict; return the exit code."""
    comparisons = compare.gate(base, cand, threshold, alpha, force, all_metrics, ignore_params)
    code = compare.exit_code(comparisons, strict)
    md = compare.markdown(comparisons, threshold, alpha)
    print(md)
    compare.write_outputs(comparisons, md, verdict_path, code, threshold, alpha)
    return code
