"""Runs a plan: for each planned trial, the scenario's trial kind runs it (a
workload process, a build, the instrument's floor: harness.kinds) and
the scheduler records the typed record it returns, marking it noisy (and
repeating it when the suite asks). The rounds added after the plan's own come
from harness.session.rounds; finishing the files, from harness.session.finish."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from harness import config
from harness.backends import Prepared
from harness.kinds import KINDS, TrialKind, TrialRequest, refused
from harness.measure.trial import Instruments, LoadGenerator
from harness.output.progress import Reporter
from harness.record.trial import TrialRecord
from harness.record.writer import ResultsFile
from harness.session.plan import Plan, Planned, scenario_points
from harness.session.rounds import Rounds, StopRule
from harness.subjects import SCENARIOS

PROFILED = "profiled: the profiler perturbs what it measures (see the report's overhead)"


@dataclass
class Side:
    """One set of builds writing one results file. A normal run has one side;
    `harness ab` has two (base and candidate) whose trials alternate."""

    label: str
    suite: config.Suite
    prepared: dict[str, Prepared]
    results: ResultsFile


@dataclass
class Scheduler:
    sides: list[Side]
    plan: Plan
    loadgen: Prepared | None
    reporter: Reporter
    stop: StopRule | None = None
    finished: frozenset[tuple] = frozenset()  # keys of the trials a resumed run has already
    instruments: Instruments = field(default_factory=Instruments)
    kinds: dict[str, TrialKind] = field(default_factory=lambda: dict(KINDS))  # tests give scripted ones
    far: tuple[LoadGenerator, ...] = ()  # load generators on engines of their own (loadgen.engines)

    def __post_init__(self) -> None:
        self.suite = self.sides[0].suite  # the session's settings (sampling, noise, limits) are the first side's
        if self.loadgen:
            prefix = self.loadgen.runtime.launch(self.loadgen.built.artifact_dir, 0, {}, None)
            cpus = self.plan.points[0].plan.loadgen
            self.instruments = Instruments(LoadGenerator(prefix, cpus, self.loadgen.launcher), self.far)

    # --- the whole session ---------------------------------------------------------------

    def run(self) -> bool:
        """Every trial, scenario by scenario, round by round; True if all succeeded."""
        all_ok = True
        for name in self.suite.scenarios:
            self.register(name)
        harness_affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, self.plan.points[0].plan.harness)  # the sampler threads inherit this
        added = Rounds(self.plan, [s.results for s in self.sides], self.stop, self.reporter, self.suite["precision"])
        try:
            for name in self.suite.scenarios:
                planned = [i for i in self.plan.of(name) if i.key not in self.finished]
                for item in (i for i in planned if not i.profile):
                    all_ok = self.run_one(item) and all_ok
                for item in added.added(name):
                    all_ok = self.run_one(item) and all_ok
                for item in (i for i in planned if i.profile):
                    all_ok = self.run_one(item) and all_ok
        finally:
            os.sched_setaffinity(0, harness_affinity)
        return all_ok

    def kind(self, item: Planned) -> TrialKind:
        scenario = SCENARIOS[item.scenario]
        return self.kinds[scenario.instrument_kind if item.instrument else scenario.trial_kind]  # type: ignore[index]

    def register(self, name: str) -> None:
        """Each benchmark (scenario x point x subject) and the scenario's instrument in every side's
        results file, before any trial, with the exact command its trials run."""
        scenario = SCENARIOS[name]
        for side in self.sides:
            for point in scenario_points(self.plan.points, name):
                params = scenario.params(point.suite if point.values else side.suite)  # a side may have its own suite
                for runtime, p in side.prepared.items():
                    if runtime not in self.plan.subjects[name]:
                        continue  # a variant for other scenarios
                    side.results.benchmark(
                        f"{name}/{runtime}{point.suffix(name)}",
                        name,
                        runtime,
                        params=params,
                        point=point.relevant(name),
                        workers=point.plan.workers,
                        cpus=point.plan.workload,
                        argv=self.kinds[scenario.trial_kind].argv(p, scenario, params, point.plan.workers),
                        metrics={m.key: m.to_json() for m in scenario.metrics},
                        workers_setting=p.runtime.workers_setting,
                        build=p.built.to_json(),
                        run_settings={k: v for k, v in p.run_settings(name).items() if k in p.runtime.run_keys},
                    )
            if self.loadgen and scenario.instrument_kind:
                workers = self.plan.points[0].plan.workers
                params = scenario.params(side.suite)
                side.results.floor(
                    name,
                    params=scenario.floor_params(params),
                    argv=self.kinds[scenario.instrument_kind].argv(self.loadgen, scenario, params, workers),
                    metrics={m.key: m.to_json() for m in scenario.metrics},
                )

    # --- one trial ---------------------------------------------------------------------

    def request(self, item: Planned) -> TrialRequest:
        """What the item's kind needs: the scenario's parameters at its point, its side's subject (or the
        load generator, for the instrument), the CPUs and the session's settings."""
        scenario = SCENARIOS[item.scenario]
        owner = self.sides[item.side if item.side is not None else 0]
        point = self.plan.point(item)
        bench_id = self.plan.bench_id(item)
        subject = self.loadgen if item.instrument else owner.prepared[item.runtime]
        assert subject is not None
        profile_dir = None
        if item.profile:
            path = Path(owner.results.path)
            profile_dir = path.parent / f"{path.stem}.profiles" / bench_id.replace("/", "-")
        earlier = tuple(
            TrialRecord.from_json(t)
            for b in owner.results.doc["benchmarks"]
            if b["id"] == bench_id
            for t in b.get("trials", [])
        )
        return TrialRequest(
            bench_id,
            scenario,
            scenario.params(point.suite if point.values else owner.suite),
            point.plan.workload,
            point.plan.workers,
            subject,
            self.suite["sampling"]["interval_ms"],
            self.suite["sampling"]["series_points"],
            self.suite["trials"]["timeout_s"],
            self.instruments,
            self.reporter,
            profile_dir,
            memory_guard=self.suite["memory"]["guard"] and not item.instrument,
            earlier=earlier,
            round=item.round,
        )

    def label(self, item: Planned, bench_id: str) -> str:
        if item.profile:
            return f"{bench_id} profiled"
        side = f" {self.sides[item.side].label}" if len(self.sides) > 1 and item.side is not None else ""
        most = self.plan.rounds[item.scenario].most
        return f"{bench_id}{side} round {item.round + 1}/{most}" + (" (warm-up)" if item.warmup else "")

    def files_of(self, item: Planned) -> list[ResultsFile]:
        """Where its record goes: its side's file; every side's for the instrument (both compare with it)."""
        return [s.results for s in self.sides] if item.instrument else [self.sides[item.side or 0].results]

    def run_one(self, item: Planned) -> bool:
        """One planned trial, repeated while it is noisy when the suite asks for that; recorded as it finishes."""
        kind, req = self.kind(item), self.request(item)
        bench_id = req.benchmark_id
        label = self.label(item, bench_id)
        why = kind.refusal(req)
        if why:
            self.reporter.trial_started(label)
            return self._record(item, bench_id, refused(why))
        repeats = 0
        while True:
            self.reporter.trial_started(label)
            record = kind.run(req)
            if item.profile:
                record.excluded = PROFILED
            causes = self.noise_causes(record, req) if kind.repeatable else []
            record.noisy, record.noisy_cause = bool(causes), "; ".join(causes) or None
            noise = self.suite["noise"]
            again = noise["repeat_noisy"] and repeats < noise["max_repeats"] and not item.profile
            repeat = record.noisy and record.ok and again
            if repeat:
                record.excluded = f"{record.noisy_cause}: repeated"
            self._record(item, bench_id, record)
            if not repeat:
                return record.ok
            repeats += 1

    def noise_causes(self, record: TrialRecord, req: TrialRequest) -> list[str]:
        """Why a trial's measurement is noisy: steal, other processes on its CPUs, and what its scenario says
        of its own instrument (e.g. the load generator sent late)."""
        noise = self.suite["noise"]
        steal = record.host_load.get("steal_pct")
        others = record.host_load.get("others_on_workload_cpus_pct")
        causes = []
        if steal is not None and steal > noise["steal_threshold_pct"]:
            causes.append(f"CPU steal {steal}% above {noise['steal_threshold_pct']}%")
        if others is not None and others > noise["others_threshold_pct"]:
            causes.append(f"other processes used {others}% of the workload's CPUs")
        return causes + req.scenario.noise(record, req.params)

    def _record(self, item: Planned, bench_id: str, record: TrialRecord) -> bool:
        record.round, record.warmup = item.round, item.warmup
        for f in self.files_of(item):
            f.add_trial(bench_id, record)
            if record.noisy:
                f.warn(f"{bench_id}: noisy trial(s): {record.noisy_cause}")
        self.reporter.trial_finished(bench_id, record)
        return record.ok
