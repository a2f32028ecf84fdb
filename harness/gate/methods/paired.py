"""Paired: the two sides of one `harness ab` session, whose rounds ran base and
candidate back to back in a random order. Per round the log-ratio
candidate/base cancels whatever drifted on the machine between rounds; a
one-sample t-test of the log-ratios against 0 and a BCa bootstrap interval of
their mean. A benchmark with fewer than two pairs (or a value that is not
positive) is compared unpaired, and the verdict says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.gate import statistics as st
from harness.gate.methods.unpaired import Measured, Unpaired

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


def pairs(b: Benchmark, c: Benchmark, key: str, steal_pair_pct: float = 0) -> tuple[list[float], list[float], int]:
    """The metric of base and candidate in the same rounds (measured trials only), and how many pairs were
    left out because the two trials' CPU steal differed by more than `steal_pair_pct` points (0: none is):
    one side lost that much more of its wall time to the hypervisor, which a rate or a latency shows as a
    change of the code."""
    by_round = {t.round: t for t in b.measured if t.metrics.get(key) is not None}
    xs: list[float] = []
    ys: list[float] = []
    left_out = 0
    for t in c.measured:
        v, mate = t.metrics.get(key), by_round.get(t.round)
        x = mate.metrics.get(key) if mate else None
        if v is None or x is None or mate is None:
            continue
        sb, sc = mate.steal_pct, t.steal_pct
        if steal_pair_pct > 0 and sb is not None and sc is not None and abs(sb - sc) > steal_pair_pct:
            left_out += 1
            continue
        xs.append(x)
        ys.append(v)
    return xs, ys, left_out


class Paired:
    name = "paired"
    test = "paired t-test of per-round log-ratios"

    def applies(self, base: Results, cand: Results) -> bool:
        return session_of(base, cand) is not None

    def estimate(self, b: Benchmark, c: Benchmark, key: str, confidence: float, steal_pair_pct: float = 0) -> Measured:
        pb, pc, left_out = pairs(b, c, key, steal_pair_pct)
        if len(pb) >= 2 and all(x > 0 for x in pb + pc):
            return Measured(st.paired(pb, pc, confidence), self.name, left_out)
        return Unpaired().estimate(b, c, key, confidence)

    def describe(self, confidence: str, rounds: int | None = None) -> str:
        return (
            f"paired: base and candidate interleaved in random order in one `harness ab` session"
            f"{f' ({rounds} rounds)' if rounds else ''}; per round the log-ratio candidate/base, t-test of the "
            f"log-ratios, {confidence} BCa bootstrap interval of the change"
        )
