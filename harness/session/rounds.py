"""The rounds a session adds after a scenario's planned ones: sequential rounds of
an A/B session for the benchmarks the gate's stop rule still finds undecided
(as Pinpoint adds attempts only while a comparison is UNKNOWN), or precision
rounds of a run for the benchmarks whose intervals miss the suite's targets
(until reached, the scenario's budget is spent, or max_trials)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from harness.record import model
from harness.record.writer import finite
from harness.session.plan import Planned
from harness.stats import precision

if TYPE_CHECKING:
    from harness.session.scheduler import Scheduler

# The sequential stop rule of an A/B session: (scenario, the sides' documents so far) -> the benchmarks
# still undecided, which get another round (the gate's own rule, harness.gate.sequential).
StopRule = Callable[[str, list[dict]], set[str]]


def added_rounds(s: Scheduler, name: str) -> Iterator[Planned]:
    """Sequential rounds while the stop rule finds benchmarks undecided, then (a run) precision rounds."""
    rounds = s.plan.rounds[name]
    rnd = rounds.planned
    for rnd in range(rounds.planned, rounds.most):
        undecided = s.stop(name, [side.results.doc for side in s.sides]) if s.stop else set()
        if not undecided:
            break  # every gated metric of this scenario is decided (or no sequencing asked)
        yield from _extend(s, name, rnd, undecided)  # the floor is not gated: not repeated
    if len(s.sides) == 1:
        yield from _precision_rounds(s, name, max(rnd, rounds.planned))


def _extend(s: Scheduler, name: str, rnd: int, only: set[str]) -> list[Planned]:
    items = s.plan.extend(name, rnd, only)
    s.reporter.extend([s.plan.bench_id(i) for i in items])
    return items


def _precision_rounds(s: Scheduler, name: str, first: int) -> Iterator[Planned]:
    """Rounds for the benchmarks that miss their precision target, until each reaches it, the
    scenario's budget is spent, or a benchmark has precision.max_trials measured trials."""
    section = s.suite["precision"]
    target = precision.Target.of_suite(section)
    if target.default_pct <= 0 and not target.per_metric:
        return
    t0, rnd, stopped = time.monotonic(), first, "reached"
    results = s.sides[0].results
    while True:
        doc = model.from_doc(finite(results.doc))
        benches = [b for b in doc.benchmarks if b.scenario == name]
        floor = doc.floor_of(name)
        missed = {
            b.id
            for b in [*benches, *([floor] if floor else [])]
            if any(not st.reached for st in precision.standings(b, target)) and len(b.measured) < section["max_trials"]
        }
        if not missed:
            reached = not any(not st.reached for b in benches for st in precision.standings(b, target))
            stopped = "reached" if reached else "max trials"
            break
        if time.monotonic() - t0 > section["budget_s"]:
            stopped = "budget"
            break
        yield from _extend(s, name, rnd, missed)
        rnd += 1
    results.note_precision(name, rounds_added=rnd - first, spent_s=time.monotonic() - t0, stopped=stopped)
