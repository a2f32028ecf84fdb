"""Runs a plan: each trial pinned, sampled and recorded as it finishes (a noisy
one repeated when the suite asks), every results file finished however the
session ends, then the terminal summary. The one object that holds what a
trial needs (the sides, the plan, the load generator, the progress display)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from harness import config
from harness.backends import Prepared
from harness.errors import EXIT_BENCHMARK_FAILED, EXIT_INTERRUPTED, EXIT_OK
from harness.measure import memory
from harness.measure.build import build_trial
from harness.measure.host import host_load, read_proc_stat
from harness.measure.trial import Instruments, LoadGenerator, ProfileRequest, TrialSpec, kill_all, run_trial
from harness.output import summary
from harness.output.progress import Reporter
from harness.record import model
from harness.record.writer import ResultsFile, ResultsWriteError, finite
from harness.session.plan import FLOOR, Plan, Planned, Point, scenario_points
from harness.stats import precision, ratios
from harness.subjects import SCENARIOS
from harness.subjects.runtimes.runtime import ROOT
from harness.subjects.scenarios.scenario import WHOLE_RUN

BUILD_SCRATCH = ROOT / "build" / "scratch"  # the build scenario's copies of the sources


@dataclass
class Side:
    """One set of builds writing one results file. A normal run has one side;
    `harness ab` has two (base and candidate) whose trials alternate."""

    label: str
    suite: config.Suite
    prepared: dict[str, Prepared]
    results: ResultsFile


# The sequential stop rule of an A/B session: (scenario, the sides' documents so far) -> the benchmarks
# still undecided, which get another round (the gate's own rule, harness.gate.sequential).
StopRule = Callable[[str, list[dict]], set[str]]


@dataclass
class Scheduler:
    sides: list[Side]
    plan: Plan
    loadgen: Prepared | None
    reporter: Reporter
    stop: StopRule | None = None
    finished: frozenset[tuple] = frozenset()  # keys of the trials a resumed run has already
    instruments: Instruments = field(default_factory=Instruments)

    def __post_init__(self) -> None:
        self.suite = self.sides[0].suite  # the session's settings (sampling, noise, limits) are the first side's
        if self.loadgen:
            prefix = self.loadgen.runtime.launch(self.loadgen.built.artifact_dir, 0, {}, None)
            cpus = self.plan.points[0].plan.loadgen
            self.instruments = Instruments(LoadGenerator(prefix, cpus, self.loadgen.launcher))

    # --- the whole session ---------------------------------------------------------------

    def run(self) -> bool:
        """Every trial, scenario by scenario, round by round; True if all succeeded."""
        all_ok = True
        for name in self.suite.scenarios:
            self.register(name)
        harness_affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, self.plan.points[0].plan.harness)  # the sampler threads inherit this
        try:
            for name in self.suite.scenarios:
                for item in self._scenario_items(name):
                    all_ok = self.run_one(item) and all_ok
        finally:
            os.sched_setaffinity(0, harness_affinity)
        return all_ok

    def _scenario_items(self, name: str):
        """The scenario's planned trials, then sequential rounds while the stop rule says undecided,
        or precision rounds for the benchmarks whose intervals miss their targets."""
        rounds = self.plan.rounds[name]
        planned = [i for i in self.plan.of(name) if i.key not in self.finished]
        yield from (i for i in planned if not i.profile)
        rnd = rounds.planned
        for rnd in range(rounds.planned, rounds.most):
            undecided = self.stop(name, [side.results.doc for side in self.sides]) if self.stop else set()
            if not undecided:
                break  # every gated metric of this scenario is decided (or no sequencing asked)
            items = self.plan.extend(name, rnd, undecided)  # the floor is not gated: not repeated
            self.reporter.extend([self.plan.bench_id(i) for i in items])
            yield from items
        if len(self.sides) == 1:
            yield from self._precision_rounds(name, max(rnd, rounds.planned))
        yield from (i for i in planned if i.profile)

    def _precision_rounds(self, name: str, first: int):
        """Rounds for the benchmarks that miss their precision target, until each reaches it, the
        scenario's budget is spent, or a benchmark has precision.max_trials measured trials."""
        section = self.suite["precision"]
        target = precision.Target.of_suite(section)
        if target.default_pct <= 0 and not target.per_metric:
            return
        t0, rnd, stopped = time.monotonic(), first, "reached"
        results = self.sides[0].results
        while True:
            doc = model.from_doc(finite(results.doc))
            benches = [b for b in doc.benchmarks if b.scenario == name]
            floor = doc.floor_of(name)
            missed = {
                b.id
                for b in [*benches, *([floor] if floor else [])]
                if any(not s.reached for s in precision.standings(b, target))
                and len(b.measured) < section["max_trials"]
            }
            if not missed:
                stopped = (
                    "reached"
                    if not any(not s.reached for b in benches for s in precision.standings(b, target))
                    else "max trials"
                )
                break
            if time.monotonic() - t0 > section["budget_s"]:
                stopped = "budget"
                break
            items = self.plan.extend(name, rnd, missed)
            self.reporter.extend([self.plan.bench_id(i) for i in items])
            yield from items
            rnd += 1
        results.note_precision(name, rounds_added=rnd - first, spent_s=time.monotonic() - t0, stopped=stopped)

    def register(self, name: str) -> None:
        """Each benchmark (scenario x point x runtime) and the floor in every side's results file, before any trial."""
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
                        argv=[]
                        if scenario.runs_builds
                        else p.argv([scenario.program, *scenario.workload_args(params)], point.plan.workers),
                        metrics={m.key: m.to_json() for m in scenario.metrics},
                        workers_setting=p.runtime.workers_setting,
                        build=p.built.to_json(),
                    )
            if self.instruments.loadgen and scenario.has_floor:
                side.results.floor(
                    name,
                    params=scenario.floor_params(scenario.params(side.suite)),
                    argv=scenario.floor_argv(self.instruments.loadgen.prefix, self.plan.points[0].plan.workers),
                    metrics={m.key: m.to_json() for m in scenario.metrics},
                )

    # --- one trial ---------------------------------------------------------------------

    def spec(self, item: Planned) -> TrialSpec:
        scenario = SCENARIOS[item.scenario]
        owner = self.sides[item.side if item.side is not None else 0]
        point = self.plan.point(item)
        params = scenario.params(point.suite if point.values else owner.suite)
        profile = None
        if item.side is None:  # the instrument against its reference, on the workload's CPUs
            assert self.loadgen is not None and self.instruments.loadgen is not None
            argv = scenario.floor_argv(self.instruments.loadgen.prefix, point.plan.workers)
            env, launcher, params = {}, self.loadgen.launcher, scenario.floor_params(params)
        else:
            p = owner.prepared[item.runtime]
            argv = p.argv([scenario.program, *scenario.workload_args(params)], point.plan.workers)
            env, launcher = dict(p.settings.get("env", {})), p.launcher
            if item.profile:
                path = Path(owner.results.path)
                window = scenario.profile_window(params)
                profile = ProfileRequest(
                    path.parent / f"{path.stem}.profiles" / self.plan.bench_id(item).replace("/", "-"),
                    window,
                    window != WHOLE_RUN,
                    p.runtime.profile_reader,
                )
        return TrialSpec(
            self.plan.bench_id(item),
            argv,
            env,
            point.plan.workload,
            scenario,
            params,
            scenario.sampling_interval_ms(params, self.suite["sampling"]["interval_ms"]),
            self.suite["sampling"]["series_points"],
            self.suite["trials"]["timeout_s"],
            launcher,
            self.instruments,
            self.reporter,
            profile,
        )

    def label(self, item: Planned, bench_id: str) -> str:
        if item.profile:
            return f"{bench_id} profiled"
        side = f" {self.sides[item.side].label}" if len(self.sides) > 1 and item.side is not None else ""
        most = self.plan.rounds[item.scenario].most
        return f"{bench_id}{side} round {item.round + 1}/{most}" + (" (warm-up)" if item.warmup else "")

    def run_build(self, item: Planned) -> dict:
        """A build scenario's trial: the subject's build timed (harness.measure.build)."""
        scenario = SCENARIOS[item.scenario]
        p = self.sides[item.side or 0].prepared[item.runtime]
        params = scenario.params(self.sides[item.side or 0].suite)
        scratch = BUILD_SCRATCH / f"{item.runtime}-{p.built.to_json().get('cache_key', 'x')}"
        cpus = self.plan.point(item).plan.workload
        before = read_proc_stat()
        record = build_trial(
            p.runtime,
            p.toolchain,
            cpus,
            scratch,
            params["clean"],
            params["incremental"],
            self.suite["trials"]["timeout_s"],
        )
        record["host_load"] = host_load(before, read_proc_stat(), cpus)
        if record["ok"]:
            record["metrics"] = scenario.metrics_of(record)
        return record

    def run_one(self, item: Planned) -> bool:
        """One planned trial, repeated while it is noisy when the suite asks for that; recorded as it finishes."""
        if SCENARIOS[item.scenario].runs_builds:
            return self._record_build(item)
        spec = self.spec(item)
        refusal = self.memory_refusal(item, spec)
        if refusal:
            return self._record_refused(item, spec, refusal)
        noise = self.suite["noise"]
        files = [s.results for s in self.sides] if item.side is None else [self.sides[item.side].results]
        label = self.label(item, spec.benchmark_id)
        repeats = 0
        while True:
            self.reporter.trial_started(label)
            record = run_trial(spec)
            record["round"] = item.round
            record["warmup"] = item.warmup
            if item.profile:
                record["excluded"] = "profiled: the profiler perturbs what it measures (see the report's overhead)"
            steal = record["host_load"].get("steal_pct")
            others = record["host_load"].get("others_on_workload_cpus_pct")
            causes = []
            if steal is not None and steal > noise["steal_threshold_pct"]:
                causes.append(f"CPU steal {steal}% above {noise['steal_threshold_pct']}%")
            if others is not None and others > noise["others_threshold_pct"]:
                causes.append(f"other processes used {others}% of the workload's CPUs")
            causes += SCENARIOS[item.scenario].noise(record, spec.params)  # e.g. the load generator sent late
            record["noisy"] = bool(causes)
            if causes:
                record["noisy_cause"] = "; ".join(causes)
            repeat = (
                record["noisy"]
                and noise["repeat_noisy"]
                and repeats < noise["max_repeats"]
                and record["ok"]
                and not item.profile
            )
            if repeat:
                record["excluded"] = f"{record['noisy_cause']}: repeated"
            for f in files:
                if item.runtime == FLOOR and item.side is None:
                    f.add_floor_trial(item.scenario, record)
                else:
                    f.add_trial(spec.benchmark_id, record)
                if record["noisy"]:
                    f.warn(f"{spec.benchmark_id}: noisy trial(s): {record['noisy_cause']}")
            self.reporter.trial_finished(spec.benchmark_id, record)
            if not repeat:
                return bool(record["ok"])
            repeats += 1

    def memory_refusal(self, item: Planned, spec: TrialSpec) -> str:
        """Why this trial must not start (its estimate, learnt from this benchmark's trials so far, does
        not fit in the memory available now), or ""."""
        if item.side is None or not self.suite["memory"]["guard"]:
            return ""
        scenario = SCENARIOS[item.scenario]
        results = self.sides[item.side].results
        bench: dict = next((b for b in results.doc["benchmarks"] if b["id"] == spec.benchmark_id), {})
        learnt = [
            v
            for t in bench.get("trials", [])
            if t.get("ok") and (v := scenario.learnt_per_unit(t["metrics"], spec.params))
        ]
        p = self.sides[item.side].prepared[item.runtime]
        n = memory.need(scenario, p.runtime, spec.params, learnt)
        limit = getattr(p.launcher, "memory_limit_bytes", 0)
        available = memory.available_bytes(limit)
        if n is None or n.fits(available):
            return ""
        return f"not run: {n.describe(item.runtime, item.scenario, available)} (use {n.advice(available)}, or --force)"

    def _record_refused(self, item: Planned, spec: TrialSpec, why: str) -> bool:
        record = {
            "ok": False,
            "error": why,
            "round": item.round,
            "warmup": item.warmup,
            "noisy": False,
            "started_at": time.time(),
            "wall_s": 0.0,
            "host_load": {},
        }
        self.reporter.trial_started(self.label(item, spec.benchmark_id))
        self.sides[item.side or 0].results.add_trial(spec.benchmark_id, record)
        self.reporter.trial_finished(spec.benchmark_id, record)
        return False

    def _record_build(self, item: Planned) -> bool:
        bench_id = self.plan.bench_id(item)
        self.reporter.trial_started(self.label(item, bench_id))
        self.reporter.phase("building (clean, then one line changed)")
        record = self.run_build(item)
        record.update(round=item.round, warmup=item.warmup, noisy=False)
        self.sides[item.side or 0].results.add_trial(bench_id, record)
        self.reporter.trial_finished(bench_id, record)
        return bool(record["ok"])


def run_sides(
    sides: list[Side],
    points: list[Point],
    loadgen: Prepared | None,
    console: Console,
    plan: Plan,
    stop: StopRule | None = None,
    finished: frozenset[tuple] = frozenset(),
) -> int:
    """Run the plan's trials for one or more sides (skipping those already `finished`,
    when resuming); finish every results file however it ends; print the summaries."""
    ahead = [plan.bench_id(i) for i in plan.items if i.key not in finished]
    t0 = time.monotonic()
    try:
        with Reporter(console, ahead) as reporter:
            all_ok = Scheduler(sides, plan, loadgen, reporter, stop, finished).run()
    except ResultsWriteError as e:  # a full disk: what was written stays whole, the run can go on later
        kill_all()
        for side in sides:
            try:
                side.results.finish("interrupted")
            except ResultsWriteError:
                pass
        again = f"; free space, then continue with: harness run --resume {e.path}" if len(sides) == 1 else ""
        print(f"harness: {e}{again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        kill_all()
        for side in sides:
            side.results.finish("interrupted")
        kept = sum(len(b["trials"]) for side in sides for b in side.results.doc["benchmarks"])
        where = ", ".join(str(side.results.path) for side in sides)
        again = f"; continue with: harness run --resume {sides[0].results.path}" if len(sides) == 1 else ""
        print(f"harness: interrupted; {kept} finished trial(s) kept in {where}{again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        kill_all()
        for side in sides:
            side.results.finish("crashed")
        raise
    for side in sides:
        done = model.from_doc(finite(side.results.doc))
        side.results.derive(
            "ratios", [r.to_json() for bs in done.by_scenario().values() for r in ratios.of_scenario(bs)]
        )
        side.results.finish("complete" if all_ok else "failed")
    for side in sides:
        if len(sides) > 1:
            console.print(f"[bold]{side.label}[/bold]: {side.results.path}", highlight=False)
        summary.render(model.load(side.results.path))
    console.print(
        f"wall time {time.monotonic() - t0:.1f} s; results in {', '.join(str(side.results.path) for side in sides)}",
        highlight=False,
    )
    if not all_ok:
        print("harness: some trials failed (see above and the results file)", file=sys.stderr)
        return EXIT_BENCHMARK_FAILED
    return EXIT_OK
