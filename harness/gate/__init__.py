"""The regression gate: reads two results files (or the two sides of one
`harness ab` session) and decides, per benchmark and metric, whether the
candidate regressed. Exit 0 no regression, 1 regression (or a failed or missing
benchmark; with --strict also an undecided one), 2 unusable input. It decides
only: harness.output.verdict renders what it decided."""

from __future__ import annotations

from dataclasses import dataclass

from harness.gate import compare, design, methods
from harness.gate.compare import Comparison, Options
from harness.gate.design import design_lines
from harness.gate.methods import Method
from harness.gate.sequential import StopRule
from harness.gate.verdict import Verdict
from harness.record.model import Results

__all__ = ["Decision", "Options", "StopRule", "Verdict", "decide", "design_lines", "regressed_benchmarks"]


@dataclass(frozen=True)
class Decision:
    comparisons: list[Comparison]
    exit_code: int
    method: Method
    design: list[str]  # what the design could reach, said after the table


def decide(base: Results, cand: Results, opts: Options, strict: bool) -> Decision:
    comparisons = compare.gate(base, cand, opts)
    method = methods.for_files(base, cand)
    return Decision(
        comparisons,
        compare.exit_code(comparisons, strict, opts.allow_missing),
        method,
        design.summary(comparisons, opts, method),
    )


def regressed_benchmarks(base: Results, cand: Results, opts: Options) -> set[str]:
    """The benchmarks with a measured regression (not a crash: a profile of a crash says nothing)."""
    return {c.benchmark for c in compare.gate(base, cand, opts) if c.verdict is Verdict.REGRESSION and c.reason is None}
