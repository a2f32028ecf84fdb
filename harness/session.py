"""A run's whole life: prepare (every check that can fail on bad input, before
anything is built) -> build -> the results file's header -> interleaved,
pinned, sampled trials -> finish (complete, failed, interrupted or crashed),
then the terminal summary. `harness ab` is the same life with two sides
(base and candidate) whose trials alternate. Scripts call this module too.

Everything after the results file (summary, report, gate) reads only that file.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from harness import backends, config
from harness.backends import Backend, Prepared
from harness.errors import EXIT_BENCHMARK_FAILED, EXIT_INTERRUPTED, EXIT_OK, HarnessError
from harness.measure import host
from harness.measure.cpuplan import CpuPlan, make_plan
from harness.measure.trial import TrialSpec, kill_all, run_trial
from harness.output import summary
from harness.output.progress import Reporter
from harness.record import model
from harness.record.writer import ResultsFile, check_writable, default_path
from harness.subjects import LOADGEN, RUNTIMES, SCENARIOS, git_ref, resolve_runtime
from harness.subjects.runtime import ROOT, Runtime

RESULTS_DIR = ROOT / "results"
Log = Callable[[str], None]


@dataclass
class Preparation:
    """What a run needs before anything is built, each part checked."""

    suite: config.Suite
    backend: Backend
    arch: str
    plan: CpuPlan
    git: dict
    found: dict  # name -> (Runtime, Toolchain | None), the load generator included when a scenario needs it
    warnings: list[str]
    points: list[Point]  # the sweep's points (one, with no values, when nothing is swept)


def needs_loadgen(suite: config.Suite) -> bool:
    return any(SCENARIOS[s].needs_loadgen for s in suite.scenarios)


def runtimes_of(suite: config.Suite) -> dict[str, Runtime]:
    found = {name: resolve_runtime(name, suite.runtime_settings.get(name, {})) for name in suite.runtimes}
    if needs_loadgen(suite):
        found[LOADGEN.name] = LOADGEN
    return found


def prepare(suite: config.Suite, backend: str, arch: str | None, log: Log, native_only: bool = False) -> Preparation:
    """Every check that can fail on bad input, in the order a user can fix them; nothing is built yet."""
    arch = arch or host.native_arch()
    wanted = runtimes_of(suite)
    chosen = backends.select(
        "native" if native_only else backend, arch, needs_native=any(rt.image is None for rt in wanted.values())
    )
    say_backend(backend, chosen, arch, log)
    facts = chosen.facts()
    if facts and facts["arch"] != arch:  # qemu translates every instruction: the same trial takes far longer
        factor = suite["trials"]["emulation_timeout_factor"]
        log(f"under emulation: trial time limits x{factor:g} (trials.emulation_timeout_factor)")
        suite = config.with_value(suite, "trials.timeout_s", suite["trials"]["timeout_s"] * factor)
    remote_only = []
    if facts and not facts.get("local"):  # e.g. startup: timed from this machine, it needs the engine here
        remote_only = [s for s in suite.scenarios if SCENARIOS[s].needs_local_engine]
        kept = [s for s in suite.scenarios if s not in remote_only]
        if not kept:
            raise HarnessError(
                f"{', '.join(remote_only)} needs the engine on this machine ({facts['docker_host']} is remote): "
                "run it with a local engine"
            )
        if remote_only:
            log(f"skipping {', '.join(remote_only)}: it needs the engine on this machine")
            suite = config.with_value(suite, "scenarios", kept)
    plan = make_plan(suite["cpus"], needs_loadgen(suite), chosen.available_cpus())
    points = sweep_points(suite, chosen.available_cpus())
    warnings = list(
        dict.fromkeys(
            [w for p in points for w in p.plan.warnings()]
            + [w for p in points for name in p.suite.scenarios for w in SCENARIOS[name].preflight(p.suite)]
            + [f"{s} not run: it needs the engine on this machine (the engine is remote)" for s in remote_only]
        )
    )
    found = chosen.discover(wanted, suite)
    return Preparation(suite, chosen, arch, plan, host.git_state(ROOT), found, warnings, points)


def say_backend(asked: str, backend: Backend, arch: str, log: Log) -> None:
    facts = backend.facts()
    where = f" (engine {facts['engine_hostname']} at {facts['docker_host']}, {facts['arch']})" if facts else ""
    emulated = " [bold red]under qemu emulation[/bold red]" if facts and facts["arch"] != arch else ""
    picked = "backend auto: picked" if asked == "auto" else "backend"
    log(f"{picked} {backend.name}{where}; arch {arch}{emulated}")


def header(
    prep: Preparation, suite: config.Suite, git: dict, prepared: dict[str, Prepared], loadgen: Prepared | None
) -> dict:
    """The results file's header: everything about the run that is not a trial."""
    docker = prep.backend.facts()
    runs_on = docker["arch"] if docker else host.native_arch()  # emulated: the target differs from what runs it
    return {
        "command": sys.argv,
        "backend": prep.backend.name,
        "arch": prep.arch,
        "emulated": prep.arch != runs_on,
        "host": host.host_facts(prep.arch),
        "docker": docker,
        "git": git,
        "suite": suite.to_json(),
        "cpu_plan": prep.plan.to_json(),
        "toolchains": {n: (p.toolchain.to_json() if p.toolchain else None) for n, p in prepared.items()},
        "loadgen": loadgen.built.to_json() if loadgen else None,
    }


@dataclass
class Side:
    """One set of builds writing one results file. A normal run has one side;
    `harness ab` has two (base, candidate) whose trials alternate."""

    label: str
    suite: config.Suite
    prepared: dict[str, Prepared]
    results: ResultsFile


def console_log(console: Console) -> Log:
    return lambda m: console.print(f"[dim]{m}[/dim]", highlight=False)


# --- the commands ---------------------------------------------------------------------


def run(suite: config.Suite, backend: str, arch: str | None, out: str | None, console: Console) -> int:
    """harness run: build, run every trial into one results file, print the summary."""
    log = console_log(console)
    prep = prepare(suite, backend, arch, log)
    suite = prep.suite  # with its time limits scaled under emulation
    path = Path(out) if out else default_path(RESULTS_DIR, prep.arch, prep.git["short_sha"])
    check_writable(path)
    for stale in mark_crashed_runs(path.parent):
        console.print(f"[yellow]warning:[/yellow] {stale}: its harness is gone; marked crashed", highlight=False)
    for w in prep.warnings + prep.backend.notes:
        console.print(f"[yellow]warning:[/yellow] {w}")
    try:
        prepared = prep.backend.build_all(prep.found, suite, log)
        loadgen = prepared.pop(LOADGEN.name, None)
        results = ResultsFile(path, header(prep, suite, prep.git, prepared, loadgen))
        for w in prep.warnings:
            results.warn(w)
        console.print(f"results file: {path}", highlight=False)
        return run_sides([Side("run", suite, prepared, results)], prep.points, loadgen, console)
    finally:
        prep.backend.close()


def resume(path: Path, console: Console) -> int:
    """harness run --resume FILE: continue an interrupted or crashed run in the same file,
    with the suite and settings it recorded, skipping the trials it has and keeping
    the interleaving. Refused when the code or the toolchains changed since."""
    log = console_log(console)
    doc = model.load(path).raw
    where = f"cannot resume {path}"
    if doc["status"] == "complete":
        raise HarnessError(f"{where}: it is complete; start a new run")
    if "ab" in doc:
        raise HarnessError(f"{where}: it is one side of a harness ab session; run the A/B again")
    raw = {k: v for k, v in (doc.get("suite") or {}).items() if k != "source"}
    suite = config.validate(raw, source=(doc.get("suite") or {}).get("source", str(path)))
    prep = prepare(suite, doc["backend"], doc["arch"], log)
    check_writable(path)
    try:
        prepared = prep.backend.build_all(prep.found, suite, log)
        loadgen = prepared.pop(LOADGEN.name, None)
        changed = _changed_builds(doc, prepared, loadgen)
        if changed:
            raise HarnessError(f"{where}: {changed} since it started; start a new run")
        results = ResultsFile.reopen(path, doc)
        side = Side("run", suite, prepared, results)
        finished = frozenset(
            key(i)
            for i in plan_trials([side], prep.points, loadgen is not None)
            if _has_trial(doc, bench_id(i, prep.points), i)
        )
        console.print(f"resuming {path}: {len(finished)} trial(s) kept, the rest in the same order", highlight=False)
        return run_sides([side], prep.points, loadgen, console, finished=finished)
    finally:
        prep.backend.close()


def _changed_builds(doc: dict, prepared: dict[str, Prepared], loadgen: Prepared | None) -> str:
    """What differs between the builds the run recorded and today's (sources and toolchain, by content key)."""
    recorded = {b["runtime"]: (b.get("build") or {}).get("cache_key") for b in doc["benchmarks"]}
    for name, p in prepared.items():
        now = p.built.to_json().get("cache_key")
        if name in recorded and recorded[name] != now:
            return f"the {name} workload or its toolchain changed (build {recorded[name]}, now {now})"
    if loadgen and doc.get("loadgen") and doc["loadgen"].get("cache_key") != loadgen.built.to_json().get("cache_key"):
        return "the load generator or its toolchain changed"
    return ""


def _has_trial(doc: dict, bid: str, item: Planned) -> bool:
    if item.side is None:
        bench = doc.get("floor") or {}
    else:
        bench = next((b for b in doc["benchmarks"] if b["id"] == bid), {})
    if item.profile:
        return any(t.get("profile") for t in bench.get("trials", []))
    return any(t.get("round") == item.round and not t.get("excluded") for t in bench.get("trials", []))


def build(suite: config.Suite, backend: str, arch: str | None, console: Console) -> int:
    """harness build: build (or find cached) every workload of the suite."""
    log = lambda m: console.print(m, highlight=False)  # noqa: E731
    prep = prepare(suite, backend, arch, log)
    try:
        prep.backend.build_all(prep.found, suite, log)
    finally:
        prep.backend.close()
    return EXIT_OK


@dataclass
class Sequencing:
    """How an A/B session orders and extends its rounds. Within each round and
    runtime the two sides run in a random order (randomised multiple interleaved
    trials, Abedi & Brecht, ICPE'17): a fixed order would let any warm-up or
    drift within a round always favour one side. Past the suite's rounds, a
    scenario gets more rounds, up to `max_rounds`, until `stop(scenario)` says
    every gated metric of it is decided (the gate's own rule, on the documents so far)."""

    seed: int
    max_rounds: int | None = None
    stop: Callable[[str, list[dict]], bool] | None = None  # (scenario, the sides' documents so far)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


def ab(
    suite: config.Suite,
    candidate_suite: config.Suite,
    base_ref: str,
    out_dir: Path | None,
    console: Console,
    sequencing: Sequencing,
) -> tuple[int, list[Side]]:
    """harness ab: the base ref's workloads and the working tree's, built separately,
    their trials interleaved in one session, pairs in random order."""
    log = console_log(console)
    prep = prepare(suite, "native", None, log, native_only=True)  # a docker A/B would need both trees' images
    base_sha, base_tree = git_ref.checkout(base_ref, ROOT)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    paths = {label: (out_dir or RESULTS_DIR) / f"ab-{stamp}-{label}.json" for label in ("base", "candidate")}
    check_writable(paths["base"])
    for w in prep.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    cand_prepared = prep.backend.build_all(prep.found, candidate_suite, log)
    loadgen = cand_prepared.pop(LOADGEN.name, None)
    base_found = {n: (rt.at_tree(base_tree), tc) for n, (rt, tc) in prep.found.items() if n != LOADGEN.name}
    base_prepared = prep.backend.build_all(base_found, suite, log)
    base_git = {"sha": base_sha, "short_sha": base_sha[:8], "dirty": False, "ref": base_ref}
    session = uuid.uuid4().hex[:12]

    def ab_header(side: str) -> dict:  # both files name the session: a reader pairs their trials by round
        return {
            "session": session,
            "side": side,
            "base_ref": base_ref,
            "seed": sequencing.seed,
            "max_rounds": sequencing.max_rounds,
        }

    sides = [
        Side(
            "base",
            suite,
            base_prepared,
            ResultsFile(
                paths["base"], {**header(prep, suite, base_git, base_prepared, loadgen), "ab": ab_header("base")}
            ),
        ),
        Side(
            "candidate",
            candidate_suite,
            cand_prepared,
            ResultsFile(
                paths["candidate"],
                {**header(prep, candidate_suite, prep.git, cand_prepared, loadgen), "ab": ab_header("candidate")},
            ),
        ),
    ]
    return run_sides(sides, prep.points, loadgen, console, sequencing), sides


def images(arch: str | None, names: list[str], mirror: str | None, console: Console) -> int:
    """harness images bootstrap: the base images the docker backend needs where no registry is reachable."""
    from harness.backends.docker import base_images, engine

    eng = engine.require()
    wanted = base_images.for_runtimes(
        [LOADGEN if n == LOADGEN.name else RUNTIMES[n] for n in names], eng.arch, arch or eng.arch
    )
    t0 = time.monotonic()
    made = base_images.bootstrap(
        eng.client, wanted, lambda m: console.print(m, highlight=False), mirror or base_images.DEFAULT_MIRROR
    )
    total = sum(m["size_bytes"] or 0 for m in made)
    console.print(
        f"{len(made)} base image(s), {total / 2**20:.0f} MiB in all, in {time.monotonic() - t0:.0f} s; "
        "docker builds of the workloads now use them",
        highlight=False,
    )
    return EXIT_OK


def env(console: Console) -> int:
    """harness env: what this machine has for each runtime and scenario, and what is missing."""
    import shutil

    from harness.backends.docker import engine

    console.print(
        f"arch: {host.native_arch()} ({host.cpu_model()}), CPUs this process may use: "
        f"{sorted(os.sched_getaffinity(0))}",
        highlight=False,
    )
    missing: dict[str, list[str]] = {}
    for name, rt in RUNTIMES.items():
        try:
            assert rt.find_toolchain is not None
            tc = rt.find_toolchain()
            extra = f" ({tc.paths['java_home']})" if "java_home" in tc.paths else ""
            console.print(f"{name}: {tc.version}{extra}", highlight=False)
            rt.build_steps(tc, Path("/OUT"), Path("/SRC"))  # the descriptor names missing build tools (e.g. mvn)
        except HarnessError as e:
            console.print(f"{name}: [red]missing[/red] — {e}", highlight=False)
            missing.setdefault(name, []).append(str(e))
    eng = engine.connect()
    if eng:
        f = eng.facts()
        console.print(
            f"docker engine: {f['server_version']} on {f['engine_hostname']} ({f['arch']}, {f['cpus']} CPUs) "
            f"at {f['docker_host']}; arm64 emulation: "
            f"{'yes' if engine.emulation_available('arm64') else 'no'}",
            highlight=False,
        )
    else:
        console.print(
            "docker engine: none answers (the docker backend needs one; mmdebstrap: "
            f"{'yes' if shutil.which('mmdebstrap') else 'no'})",
            highlight=False,
        )
    lim = host.limits()
    console.print(
        f"open files: soft {lim['nofile_soft']}, hard {lim['nofile_hard']}; somaxconn "
        f"{lim['somaxconn']}; local port range {lim['ip_local_port_range']}",
        highlight=False,
    )
    for scenario in SCENARIOS:
        if missing:
            console.print(
                f"scenario {scenario}: runs for {', '.join(r for r in RUNTIMES if r not in missing)}; "
                f"missing for {', '.join(missing)}",
                highlight=False,
            )
        else:
            console.print(f"scenario {scenario}: ready for {', '.join(RUNTIMES)}", highlight=False)
    return EXIT_OK


def mark_crashed_runs(directory: Path) -> list[Path]:
    """Results files in `directory` still 'running' whose harness (on this host) is
    gone: killed with SIGKILL, it could not say so itself. Loading marks them."""
    marked = []
    for f in sorted(directory.glob("*.json")):
        try:
            with f.open("rb") as fh:
                head = fh.read(4096)  # the status is near the top; most files are not running
        except OSError:
            continue
        if b'"status": "running"' not in head:
            continue
        try:
            if model.load(f).status == "crashed":
                marked.append(f)
        except HarnessError:
            continue  # not ours to judge
    return marked


# --- trials -----------------------------------------------------------------------------


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


def run_sides(
    sides: list[Side],
    points: list[Point],
    loadgen: Prepared | None,
    console: Console,
    sequencing: Sequencing | None = None,
    finished: frozenset[tuple] = frozenset(),
) -> int:
    """Run the trials of one or more sides (skipping those already `finished`, when
    resuming); finish every results file however it ends."""
    planned = [bench_id(i, points) for i in plan_trials(sides, points, loadgen is not None) if key(i) not in finished]
    t0 = time.monotonic()
    try:
        with Reporter(console, planned) as reporter:
            all_ok = run_trials(sides, points, reporter, loadgen, sequencing, finished)
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


@dataclass(frozen=True)
class Planned:
    """One trial of the session's plan. `side` is None for the instrument's floor
    trial, which every side's results file records; `point` indexes the
    scenario's sweep points."""

    scenario: str
    round: int
    warmup: bool
    runtime: str
    side: int | None
    point: int = 0
    profile: bool = False  # the benchmark's profiled trial, after its measured ones


def key(item: Planned) -> tuple:
    """What identifies a planned trial across a run and its resumption."""
    return (item.scenario, item.runtime, item.side, item.round, item.point, item.profile)


def bench_id(item: Planned, points: list[Point]) -> str:
    return f"{item.scenario}/{item.runtime}" + scenario_points(points, item.scenario)[item.point].suffix(item.scenario)


def plan_round(
    sides: list[Side], points: list[Point], scenario: str, rnd: int, has_floor: bool, rng: random.Random | None = None
) -> list[Planned]:
    """One round of a scenario: the floor first (if it has one), then point by point,
    runtime by runtime, each runtime's sides one after the other (in random order when `rng`)."""
    warmup, _ = config.rounds_of(sides[0].suite, scenario)
    planned = []
    if has_floor and SCENARIOS[scenario].floor_argv([], 1) is not None:
        planned.append(Planned(scenario, rnd, rnd < warmup, "floor", None))
    for k in range(len(scenario_points(points, scenario))):
        for runtime in sides[0].suite.runtimes:
            order = list(range(len(sides)))
            if rng is not None:
                rng.shuffle(order)
            planned.extend(Planned(scenario, rnd, rnd < warmup, runtime, side, k) for side in order)
    return planned


def plan_profiles(sides: list[Side], points: list[Point], scenario: str) -> list[Planned]:
    """One profiled trial per benchmark after all its measured ones (a profiler
    perturbs what it watches: its figures are never summarised with the others).
    Runs only, not A/B sessions: a gate compares measured trials alone."""
    suite = sides[0].suite
    if not suite["profile"]["enabled"] or len(sides) > 1:
        return []
    after = sum(config.rounds_of(suite, scenario))
    return [
        Planned(scenario, after, False, runtime, 0, k, profile=True)
        for k in range(len(scenario_points(points, scenario)))
        for runtime in suite.runtimes
    ]


def plan_trials(sides: list[Side], points: list[Point], has_floor: bool) -> list[Planned]:
    """Per scenario, round by round, point by point, runtime by runtime (and side by
    side), so machine drift spreads evenly over everything compared (a sequential
    A/B may add rounds)."""
    suite = sides[0].suite
    planned: list[Planned] = []
    for scenario in suite.scenarios:
        for rnd in range(sum(config.rounds_of(suite, scenario))):
            planned.extend(plan_round(sides, points, scenario, rnd, has_floor))
        planned.extend(plan_profiles(sides, points, scenario))
    return planned


def run_trials(
    sides: list[Side],
    points: list[Point],
    reporter: Reporter,
    loadgen: Prepared | None = None,
    sequencing: Sequencing | None = None,
    finished: frozenset[tuple] = frozenset(),
) -> bool:
    """Run every trial, scenario by scenario, round by round; True if all succeeded."""
    all_ok = True
    first = sides[0].suite
    base = points[0].plan
    context: dict = {}
    loadgen_prefix: list[str] = []
    if loadgen:
        loadgen_prefix = loadgen.runtime.launch(loadgen.built.artifact_dir, 0, {}, None)
        context = {"loadgen_argv": loadgen_prefix, "loadgen_cpus": base.loadgen, "loadgen_launcher": loadgen.launcher}
    for name in first.scenarios:
        register(sides, points, name, loadgen_prefix if loadgen else None)
    harness_affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, base.harness)  # the sampler threads inherit this
    try:
        for name in first.scenarios:
            warmup, count = config.rounds_of(first, name)
            most = warmup + max(count, sequencing.max_rounds or 0) if sequencing else warmup + count
            for rnd in range(most):
                if rnd >= warmup + count and (
                    sequencing is None
                    or sequencing.stop is None
                    or sequencing.stop(name, [side.results.doc for side in sides])
                ):
                    break  # every gated metric of this scenario is decided (or no sequencing asked)
                rng = sequencing.rng if sequencing and len(sides) > 1 else None
                items = [
                    i for i in plan_round(sides, points, name, rnd, loadgen is not None, rng) if key(i) not in finished
                ]
                if rnd >= warmup + count:
                    reporter.extend([bench_id(i, points) for i in items])  # a sequential round
                for item in items:
                    ok = _run_planned(item, sides, points, loadgen, loadgen_prefix, context, reporter, most)
                    all_ok = ok and all_ok
            for item in plan_profiles(sides, points, name):
                if key(item) not in finished:
                    ok = _run_planned(item, sides, points, loadgen, loadgen_prefix, context, reporter, most)
                    all_ok = ok and all_ok
    finally:
        os.sched_setaffinity(0, harness_affinity)
    return all_ok


def register(sides: list[Side], points: list[Point], name: str, loadgen_prefix: list[str] | None) -> None:
    """Each benchmark (scenario x point x runtime) and the floor in every side's results file, before any trial."""
    scenario = SCENARIOS[name]
    for side in sides:
        for point in scenario_points(points, name):
            params = scenario.params(point.suite if point.values else side.suite)  # a side may have its own suite
            for runtime, p in side.prepared.items():
                side.results.benchmark(
                    f"{name}/{runtime}{point.suffix(name)}",
                    name,
                    runtime,
                    params=params,
                    point=point.relevant(name),
                    workers=point.plan.workers,
                    cpus=point.plan.workload,
                    argv=p.argv([scenario.program, *scenario.workload_args(params)], point.plan.workers),
                    metrics={m.key: m.to_json() for m in scenario.metrics},
                    workers_setting=p.runtime.workers_setting,
                    build=p.built.to_json(),
                )
        if loadgen_prefix is not None and (floor := scenario.floor_argv(loadgen_prefix, points[0].plan.workers)):
            side.results.floor(
                name,
                params=scenario.floor_params(scenario.params(side.suite)),
                argv=floor,
                metrics={m.key: m.to_json() for m in scenario.metrics},
            )


def _run_planned(
    item: Planned,
    sides: list[Side],
    points: list[Point],
    loadgen: Prepared | None,
    loadgen_prefix: list[str],
    context: dict,
    reporter: Reporter,
    rounds: int,
) -> bool:
    first = sides[0].suite
    scenario = SCENARIOS[item.scenario]
    owner = sides[item.side if item.side is not None else 0]
    point = scenario_points(points, item.scenario)[item.point]
    suite = point.suite if point.values else owner.suite
    plan = point.plan
    params = scenario.params(suite)
    if item.side is None:  # the instrument against its reference responder, on the workload's CPUs
        assert loadgen is not None
        argv = scenario.floor_argv(loadgen_prefix, plan.workers) or []
        env, launcher, params = {}, loadgen.launcher, scenario.floor_params(params)
    else:
        p = owner.prepared[item.runtime]
        argv = p.argv([scenario.program, *scenario.workload_args(params)], plan.workers)
        env, launcher = dict(p.settings.get("env", {})), p.launcher
    bid = bench_id(item, points)
    side_label = f" {owner.label}" if len(sides) > 1 and item.side is not None else ""
    label = f"{bid}{side_label} round {item.round + 1}/{rounds}" + (" (warm-up)" if item.warmup else "")
    profile_dir = None
    if item.profile:
        label = f"{bid} profiled"
        results_path = Path(owner.results.path)
        profile_dir = results_path.parent / f"{results_path.stem}.profiles" / bid.replace("/", "-")
    spec = TrialSpec(
        bid,
        argv,
        env,
        plan.workload,
        scenario,
        params,
        scenario.sampling_interval_ms(params, first["sampling"]["interval_ms"]),
        first["sampling"]["series_points"],
        first["trials"]["timeout_s"],
        launcher,
        context,
        reporter,
        profile_dir,
    )
    files = [s.results for s in sides] if item.side is None else [owner.results]
    return bool(_run_one(spec, item, first["noise"], label, reporter, files)["ok"])


def _run_one(
    spec: TrialSpec, item: Planned, noise: dict, label: str, reporter: Reporter, files: list[ResultsFile]
) -> dict:
    """One planned trial, repeated while it is noisy when the suite asks for that; recorded as it finishes."""
    repeats = 0
    while True:
        reporter.trial_started(label)
        record = run_trial(spec)
        record["round"] = item.round
        record["warmup"] = item.warmup
        if item.profile:
            record["excluded"] = "profiled: the profiler perturbs what it measures (see the report's overhead)"
        steal = record["host_load"].get("steal_pct")
        record["noisy"] = steal is not None and steal > noise["steal_threshold_pct"]
        repeat = (
            record["noisy"]
            and noise["repeat_noisy"]
            and repeats < noise["max_repeats"]
            and record["ok"]
            and not item.profile
        )
        if repeat:
            record["excluded"] = f"steal {steal}% above {noise['steal_threshold_pct']}%: repeated"
        for f in files:
            if item.side is None:
                f.add_floor_trial(record)
            else:
                f.add_trial(spec.benchmark_id, record)
            if record["noisy"]:
                f.warn(f"{spec.benchmark_id}: trial(s) with CPU steal above {noise['steal_threshold_pct']}%")
        reporter.trial_finished(spec.benchmark_id, record)
        if not repeat:
            return record
        repeats += 1
