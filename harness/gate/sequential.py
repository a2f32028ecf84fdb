"""The gate's sequential stop rule for `harness ab --max-rounds`: after each
round past the suite's own, are all of a scenario's gated metrics decided on
the documents so far? The session asks; the gate alone knows the answer."""

from __future__ import annotations

from dataclasses import dataclass

from harness.gate import compare
from harness.gate.compare import Options
from harness.record.model import from_doc
from harness.record.writer import finite


@dataclass(frozen=True)
class StopRule:
    opts: Options

    def __call__(self, scenario: str, docs: list[dict]) -> bool:
        """True when more rounds would change no verdict of `scenario` (base, candidate = docs).
        Holm's family is the whole run's gated metrics, not this scenario's alone."""
        base, cand = (from_doc(finite(doc)) for doc in docs)
        family = compare.gated_metric_count(base, self.opts)
        comparisons = compare.gate(base, cand, self.opts, only_scenario=scenario, family_size=family)
        return all(c.final for c in comparisons)
