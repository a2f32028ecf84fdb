"""The session's plan: every trial of a run in the order it runs, built once
from the suite, before the first trial. The progress display counts it, the
scheduler runs it, and a resumed run skips what the results file already has.

Order: per scenario, round by round (the floor first where the scenario has
one), point by point, runtime by runtime, and side by side in an A/B session
(in a random order per round, drawn from the session's seed), so machine drift
spreads evenly over everything compared. A sequential A/B may append rounds."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from harness import config
from harness.kinds import KINDS
from harness.measure.cpuplan import CpuPlan, make_plan
from harness.record.writer import FLOOR, floor_id
from harness.subjects import RUNTIMES, SCENARIOS


@dataclass(frozen=True)
class Point:
    """One point of a sweep (the only one, with no values, when nothing is swept):
    the suite with its values in place and its CPU plan (W may be what is swept)."""

    values: dict[str, Any]
    suite: config.Suite
    plan: CpuPlan

    def relevant(self, scenario: str) -> dict[str, Any]:
        """The swept values that change this scenario's benchmarks."""
        return {k: v for k, v in self.values.items() if k == config.SWEEPABLE_CPUS or k.startswith(f"{scenario}.")}

    def suffix(self, scenario: str) -> str:
        """How a benchmark id names the point: spawn/go@tasks=10000, spawn/go@W=2."""
        parts = [
            f"W={self.plan.workers}" if k == config.SWEEPABLE_CPUS else f"{k.partition('.')[2]}={v}"
            for k, v in self.relevant(scenario).items()
        ]
        return "".join(f"@{p}" for p in parts)


def needs_loadgen(suite: config.Suite) -> bool:
    """A load generator runs beside the servers (on CPUs of its own)."""
    return any(SCENARIOS[s].needs_loadgen for s in suite.scenarios)


def builds_loadgen(suite: config.Suite) -> bool:
    """The load generator is built: it runs beside the servers, or it is a scenario's floor (its responder)."""
    return any(SCENARIOS[s].needs_loadgen or SCENARIOS[s].has_floor for s in suite.scenarios)


def sweep_points(suite: config.Suite, available: list[int] | None) -> list[Point]:
    """Every point, each validated (its CPU plan included) before anything is built."""
    out = []
    for values in config.sweep_points(suite):
        at = config.at_point(suite, values) if values else suite
        out.append(Point(values, at, make_plan(at["cpus"], needs_loadgen(at), available)))
    return out


def scenario_points(points: list[Point], scenario: str) -> list[Point]:
    """The points that differ for this scenario (a sweep of spawn.tasks leaves live alone)."""
    seen: dict[str, Point] = {}
    for p in points:
        seen.setdefault(json.dumps(p.relevant(scenario), sort_keys=True), p)
    return list(seen.values())


@dataclass(frozen=True)
class Planned:
    """One trial of the plan. `side` is None for the instrument's floor trial, which
    every side's results file records; `point` indexes the scenario's sweep points."""

    scenario: str
    round: int
    warmup: bool
    runtime: str
    side: int | None
    point: int = 0
    profile: bool = False  # the benchmark's profiled trial, after its measured ones

    @property
    def instrument(self) -> bool:
        """The scenario's instrument against its reference (every side's file records it), not a subject."""
        return self.side is None

    @property
    def key(self) -> tuple:
        """What identifies a planned trial across a run and its resumption."""
        return (self.scenario, self.runtime, self.side, self.round, self.point, self.profile)


@dataclass(frozen=True)
class Rounds:
    """A scenario's rounds: warm-up, then measured; an A/B session may add up to `most` in all."""

    warmup: int
    measured: int
    most: int

    @property
    def planned(self) -> int:
        return self.warmup + self.measured


def _not_measured(suite: config.Suite, subject: str) -> dict[str, str]:
    rt = RUNTIMES.get(suite.runtime_of(subject))
    return rt.not_measured if rt else {}


def subjects_measuring(suite: config.Suite, scenario: str) -> list[str]:
    """The subjects that run in `scenario`: a runtime that cannot measure it honestly is left out (its readers
    say why)."""
    return [s for s in suite.subjects_for(scenario) if scenario not in _not_measured(suite, s)]


def why_not_measured(suite: config.Suite, scenario: str) -> str:
    """Each subject's reason for leaving `scenario` out, in one line."""
    return "; ".join(
        f"{s}: {why}" for s in suite.subjects_for(scenario) if (why := _not_measured(suite, s).get(scenario))
    )


def _no_profiler(runtime: str) -> str:
    rt = RUNTIMES.get(runtime)
    return rt.no_profiler if rt else ""


class Plan:
    """Every trial of a session, built once (the scheduler appends sequential rounds)."""

    def __init__(
        self,
        suite: config.Suite,
        sides: int,
        points: list[Point],
        has_floor: bool,
        rng: random.Random | None = None,
        max_rounds: int | None = None,
        profiles: bool = False,
    ) -> None:
        self.sides, self.points, self.has_floor, self.rng = sides, points, has_floor, rng
        self.runtime_of = suite.runtime_of
        self.subjects = {scenario: subjects_measuring(suite, scenario) for scenario in suite.scenarios}
        self.rounds: dict[str, Rounds] = {}
        self.items: list[Planned] = []
        for scenario in suite.scenarios:
            warmup, measured = config.rounds_of(suite, scenario)
            self.rounds[scenario] = Rounds(warmup, measured, warmup + max(measured, max_rounds or 0))
            for rnd in range(warmup + measured):
                self.items.extend(self.round(scenario, rnd))
            # a run's profiled trials (a gate compares measured trials alone), where the kind can profile
            if profiles and sides == 1 and KINDS[SCENARIOS[scenario].trial_kind].profiles:
                self.items.extend(self._profiles(scenario, warmup + measured))

    def round(self, scenario: str, rnd: int, only: set[str] | None = None) -> list[Planned]:
        """One round of a scenario (the floor first where it has one); sides in random order when `rng`.
        `only`: the benchmark ids this round is for (a precision round adds trials where they are missed)."""
        warmup = rnd < self.rounds[scenario].warmup
        out = []
        if self.has_floor and SCENARIOS[scenario].has_floor and (only is None or floor_id(scenario) in only):
            out.append(Planned(scenario, rnd, warmup, FLOOR, None))
        for k in range(len(scenario_points(self.points, scenario))):
            for runtime in self.subjects[scenario]:
                if only is not None and self.bench_id(Planned(scenario, rnd, warmup, runtime, 0, k)) not in only:
                    continue
                order = list(range(self.sides))
                if self.rng is not None:
                    self.rng.shuffle(order)
                out.extend(Planned(scenario, rnd, warmup, runtime, side, k) for side in order)
        return out

    def _profiles(self, scenario: str, after: int) -> list[Planned]:
        """One profiled trial per benchmark after all its measured ones (a profiler
        perturbs what it watches: its figures are never summarised with the others)."""
        return [
            Planned(scenario, after, False, runtime, 0, k, profile=True)
            for k in range(len(scenario_points(self.points, scenario)))
            for runtime in self.subjects[scenario]
            if not _no_profiler(self.runtime_of(runtime))
        ]

    def extend(self, scenario: str, rnd: int, only: set[str] | None = None) -> list[Planned]:
        """A round appended to the plan after the scenario's own (sequential A/B, or precision)."""
        items = self.round(scenario, rnd, only)
        self.items.extend(items)
        return items

    def of(self, scenario: str) -> list[Planned]:
        return [i for i in self.items if i.scenario == scenario]

    def bench_id(self, item: Planned) -> str:
        point = scenario_points(self.points, item.scenario)[item.point]
        return f"{item.scenario}/{item.runtime}" + point.suffix(item.scenario)

    def point(self, item: Planned) -> Point:
        return scenario_points(self.points, item.scenario)[item.point]
