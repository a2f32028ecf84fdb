"""The gate's sequential stop rule for `harness ab` (--max-rounds, or the suite's
gate.max_rounds): after each round past the suite's own, which benchmarks of a
scenario still have a gated metric undecided on the documents so far? Only
those get another round: a metric decided stops costing rounds (Pinpoint asks
for more attempts only while UNKNOWN). The session asks; the gate alone knows."""

from __future__ import annotations

from dataclasses import dataclass

from harness.gate import compare
from harness.gate.compare import Options
from harness.record.model import from_doc
from harness.record.writer import finite


@dataclass(frozen=True)
class StopRule:
    opts: Options

    def __call__(self, scenario: str, docs: list[dict]) -> set[str]:
        """The benchmarks of `scenario` whose verdicts more rounds could still change (base, candidate
        = docs); empty: stop. Holm's family is the whole run's gated metrics, not this scenario's alone."""
        base, cand = (from_doc(finite(doc)) for doc in docs)
        family = compare.gated_metric_count(base, self.opts)
        comparisons = compare.gate(base, cand, self.opts, only_scenario=scenario, family_size=family)
        return {c.benchmark for c in comparisons if c.gated and not c.final}
