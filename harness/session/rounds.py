"""The rounds a session adds after a scenario's planned ones: sequential rounds of
an A/B session for the benchmarks the gate's stop rule still finds undecided
(as Pinpoint adds attempts only while a comparison is UNKNOWN), or precision
rounds of a run for the benchmarks whose intervals miss the suite's targets
(until reached, the scenario's budget is spent, or max_trials)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.record import model
from harness.record.writer import ResultsFile, finite
from harness.session.plan import Plan, Planned
from harness.stats import precision

if TYPE_CHECKING:
    from harness.output.progress import Reporter

# The sequential stop rule of an A/B session: (scenario, the sides' documents so far) -> the benchmarks
# still undecided, which get another round (the gate's own rule, harness.gate.sequential).
StopRule = Callable[[str, list[dict]], set[str]]


@dataclass(frozen=True)
class Rounds:
    """What deciding the added rounds needs of a session: its plan, its sides' files, the stop rule of an
    A/B session, the progress display (it counts the added trials) and the suite's precision section."""

    plan: Plan
    files: list[ResultsFile]
    stop: StopRule | None
    reporter: Reporter
    precision: dict

    def added(self, name: str) -> Iterator[Planned]:
        """Sequential rounds while the stop rule finds benchmarks undecided, then (a run) precision rounds."""
        rounds = self.plan.rounds[name]
        rnd = rounds.planned
        for rnd in range(rounds.planned, rounds.most):
            undecided = self.stop(name, [f.doc for f in self.files]) if self.stop else set()
            if not undecided:
                break  # every gated metric of this scenario is decided (or no sequencing asked)
            yield from self._extend(name, rnd, undecided)  # the floor is not gated: not repeated
        if len(self.files) == 1:
            yield from self._precision_rounds(name, max(rnd, rounds.planned))

    def _extend(self, name: str, rnd: int, only: set[str]) -> list[Planned]:
        items = self.plan.extend(name, rnd, only)
        self.reporter.extend([self.plan.bench_id(i) for i in items])
        return items

    def _precision_rounds(self, name: str, first: int) -> Iterator[Planned]:
        """Rounds for the benchmarks that miss their precision target, until each reaches it, the
        scenario's budget is spent, or a benchmark has precision.max_trials measured trials."""
        section = self.precision
        target = precision.Target.of_suite(section)
        if target.default_pct <= 0 and not target.per_metric:
            return
        t0, rnd, stopped = time.monotonic(), first, "reached"
        results = self.files[0]
        while True:
            doc = model.from_doc(finite(results.doc))
            benches = [b for b in doc.benchmarks if b.scenario == name]
            floor = doc.floor_of(name)
            missed = {
                b.id
                for b in [*benches, *([floor] if floor else [])]
                if any(not st.reached for st in precision.standings(b, target))
                and len(b.measured) < section["max_trials"]
            }
            if not missed:
                reached = not any(not st.reached for b in benches for st in precision.standings(b, target))
                stopped = "reached" if reached else "max trials"
                break
            if time.monotonic() - t0 > section["budget_s"]:
                stopped = "budget"
                break
            yield from self._extend(name, rnd, missed)
            rnd += 1
        results.note_precision(name, rounds_added=rnd - first, spent_s=time.monotonic() - t0, stopped=stopped)
