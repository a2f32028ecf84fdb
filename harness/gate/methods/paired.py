"""Paired: the two sides of one `harness ab` session, whose rounds ran base and
candidate back to back in a random order. Per round the log-ratio
candidate/base cancels whatever drifted on the machine between rounds; a
one-sample t-test of the log-ratios against 0 and a BCa bootstrap interval of
their mean. A benchmark with fewer than two pairs (or a value that is not
positive) is compared unpaired, and the verdict says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.gate import statistics as st
from harness.gate.methods.unpaired import Unpaired

if TYPE_CHECKING:
    from harness.record.model import Benchmark, Results


def session_of(base: Results, cand: Results) -> str | None:
    """The `harness ab` session both files come from (their trials pair by round), or None."""
    a, b = base.raw.get("ab") or {}, cand.raw.get("ab") or {}
    if (
        a.get("session")
        and a.get("session") == b.get("session")
        and {a.get("side"), b.get("side")}
        == {
            "base",
            "candidate",
        }
    ):
        return a["session"]
    return None


def pairs(b: Benchmark, c: Benchmark, key: str) -> tuple[list[float], list[float]]:
    """The metric of base and candidate in the same rounds (measured trials only)."""
    by_round = {t.round: v for t in b.measured if (v := t.metrics.get(key)) is not None}
    both = [(by_round[t.round], v) for t in c.measured if (v := t.metrics.get(key)) is not None and t.round in by_round]
    return [x for x, _ in both], [y for _, y in both]


class Paired:
    name = "paired"
    test = "paired t-test of per-round log-ratios"

    def applies(self, base: Results, cand: Results) -> bool:
        return session_of(base, cand) is not None

    def estimate(self, b: Benchmark, c: Benchmark, key: str, confidence: float) -> tuple[st.Estimate, str]:
        pb, pc = pairs(b, c, key)
        if len(pb) >= 2 and all(x > 0 for x in pb + pc):
            return st.paired(pb, pc, confidence), self.name
        return Unpaired().estimate(b, c, key, confidence)

    def describe(self, confidence: str, rounds: int | None = None) -> str:
        return (
            f"paired: base and candidate interleaved in random order in one `harness ab` session"
            f"{f' ({rounds} rounds)' if rounds else ''}; per round the log-ratio candidate/base, t-test of the "
            f"log-ratios, {confidence} BCa bootstrap interval of the change"
        )
