"""Unpaired: two results files from different sessions (a release against the one
before it, two runs of `harness run`). Welch's t-test on the logs of the trials'
values and its interval of the ratio of geometric means (times and rates are
near log-normal); where the values are not all positive (counts of errors), a
Mann-Whitney U test with a bootstrap interval of the ratio of medians."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.gate import statistics as st

if TYPE_CHECKING:
    from harness.record.model import Benchmark, Results


@dataclass(frozen=True)
class Measured:
    """What a method made of one metric: its estimate, the method that made it, the pairs it left out."""

    estimate: st.Estimate
    method: str
    pairs_left_out: int = 0


class Unpaired:
    name = "unpaired"
    test = "Welch's t-test on the logs"

    def applies(self, base: Results, cand: Results) -> bool:
        return True  # any two comparable files

    def estimate(self, b: Benchmark, c: Benchmark, key: str, confidence: float, steal_pair_pct: float = 0) -> Measured:
        return Measured(st.unpaired(b.values(key), c.values(key), confidence), self.name)

    def describe(self, confidence: str, rounds: int | None = None) -> str:
        return (
            "unpaired: two separate results files (runs from different times differ by more than most "
            f"regressions; prefer `harness ab`); Welch's t-test on the logs, {confidence} interval of the ratio "
            "of geometric means"
        )
