"""How the gate compares one metric of a baseline and a candidate benchmark: one
method per file behind one small interface (as benchstat keeps one file per
statistical assumption behind benchmath.Assumption). The gate picks the method
for the pair of files (`for_files`); a method may hand a comparison it cannot
make to another (a paired session's benchmark with too few pairs is compared
unpaired), and says which one decided in the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from harness.gate.methods.paired import Paired
from harness.gate.methods.unpaired import Measured, Unpaired

if TYPE_CHECKING:
    from harness.record.model import Benchmark, Results


class Method(Protocol):
    name: str  # in the verdict: "paired", "unpaired"
    test: str  # the test, in words, for the design line

    def applies(self, base: Results, cand: Results) -> bool:
        """Whether the two files can be compared this way."""
        ...

    def estimate(self, b: Benchmark, c: Benchmark, key: str, confidence: float, steal_pair_pct: float) -> Measured:
        """The change of `key` from b to c with its interval and p, and the name of the method that made it.
        `steal_pair_pct`: a pair of trials whose steal differs by more is left out (0: none is)."""
        ...

    def describe(self, confidence: str, rounds: int | None = None) -> str:
        """How it compares, for the verdict's first line."""
        ...


METHODS: tuple[Method, ...] = (Paired(), Unpaired())  # the first that applies to two files decides them
BY_NAME: dict[str, Method] = {m.name: m for m in METHODS}


def for_files(base: Results, cand: Results) -> Method:
    return next(m for m in METHODS if m.applies(base, cand))
