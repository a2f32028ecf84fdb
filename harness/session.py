"""A run's whole life: prepare (every check that can fail on bad input, before
anything is built) -> build -> the results file's header -> interleaved,
pinned, sampled trials -> finish (complete, failed, interrupted or crashed),
then the terminal summary. `harness ab` is the same life with two sides
(base and candidate) whose trials alternate. Scripts call this module too.

Everything after the results file (summary, report, gate) reads only that file.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness import backends, config
from harness.backends import Backend, Prepared
from harness.errors import EXIT_BENCHMARK_FAILED, EXIT_INTERRUPTED, EXIT_OK, HarnessError
from harness.measure import host
from harness.measure.cpuplan import CpuPlan, make_plan
from harness.measure.trial import TrialSpec, kill_all, run_trial
from harness.output import summary
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
    plan = make_plan(suite["cpus"], needs_loadgen(suite), chosen.available_cpus())
    warnings = plan.warnings() + [w for name in suite.scenarios for w in SCENARIOS[name].preflight(suite)]
    found = chosen.discover(wanted, suite)
    return Preparation(suite, chosen, arch, plan, host.git_state(ROOT), found, warnings)


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
        return run_sides([Side("run", suite, prepared, results)], prep.plan, loadgen, console)
    finally:
        prep.backend.close()


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
    return run_sides(sides, prep.plan, loadgen, console, sequencing), sides


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


def run_sides(
    sides: list[Side], plan: CpuPlan, loadgen: Prepared | None, console: Console, sequencing: Sequencing | None = None
) -> int:
    """Run the trials of one or more sides; finish every results file however it ends."""
    total = len(plan_trials(sides, loadgen is not None))
    done = [0]
    t0 = time.monotonic()

    def progress(label: str, record: dict | None) -> None:
        if record is None:
            console.print(f"[dim][{done[0] + 1}/{total}] {label} ...[/dim]", highlight=False)
            return
        done[0] += 1
        if not record["ok"]:
            console.print(f"[red]  failed: {record['error']}[/red]", highlight=False)

    try:
        all_ok = run_trials(sides, plan, progress, loadgen, sequencing)
    except KeyboardInterrupt:
        kill_all()
        for side in sides:
            side.results.finish("interrupted")
        kept = sum(len(b["trials"]) for side in sides for b in side.results.doc["benchmarks"])
        where = ", ".join(str(side.results.path) for side in sides)
        print(f"harness: interrupted; {kept} finished trial(s) kept in {where}", file=sys.stderr)
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
    trial, which every side's results file records."""

    scenario: str
    round: int
    warmup: bool
    runtime: str
    side: int | None


def plan_round(
    sides: list[Side], scenario: str, rnd: int, has_floor: bool, rng: random.Random | None = None
) -> list[Planned]:
    """One round of a scenario: the floor first (if it has one), then runtime by
    runtime, each runtime's sides one after the other (in random order when `rng`)."""
    warmup, _ = config.rounds_of(sides[0].suite, scenario)
    planned = []
    if has_floor and SCENARIOS[scenario].floor_argv([], 1) is not None:
        planned.append(Planned(scenario, rnd, rnd < warmup, "floor", None))
    for runtime in sides[0].suite.runtimes:
        order = list(range(len(sides)))
        if rng is not None:
            rng.shuffle(order)
        planned.extend(Planned(scenario, rnd, rnd < warmup, runtime, k) for k in order)
    return planned


def plan_trials(sides: list[Side], has_floor: bool) -> list[Planned]:
    """Per scenario, round by round, runtime by runtime (and side by side), so
    machine drift spreads evenly over everything compared (a sequential A/B may add rounds)."""
    suite = sides[0].suite
    return [
        item
        for scenario in suite.scenarios
        for rnd in range(sum(config.rounds_of(suite, scenario)))
        for item in plan_round(sides, scenario, rnd, has_floor)
    ]


def run_trials(
    sides: list[Side],
    plan: CpuPlan,
    progress: Callable[[str, dict | None], None],
    loadgen: Prepared | None = None,
    sequencing: Sequencing | None = None,
) -> bool:
    """Run every trial, scenario by scenario, round by round; True if all succeeded."""
    all_ok = True
    first = sides[0].suite
    context: dict = {}
    loadgen_prefix: list[str] = []
    if loadgen:
        loadgen_prefix = loadgen.runtime.launch(loadgen.built.artifact_dir, 0, {}, None)
        context = {"loadgen_argv": loadgen_prefix, "loadgen_cpus": plan.loadgen, "loadgen_launcher": loadgen.launcher}
    for name in first.scenarios:
        scenario = SCENARIOS[name]
        for side in sides:
            params = scenario.params(side.suite)
            for runtime, p in side.prepared.items():
                side.results.benchmark(
                    f"{name}/{runtime}",
                    name,
                    runtime,
                    params=params,
                    argv=p.argv([name, *scenario.workload_args(params)], plan.workers),
                    metrics={m.key: m.to_json() for m in scenario.metrics},
                    workers_setting=p.runtime.workers_setting,
                    build=p.built.to_json(),
                )
            if loadgen and (floor := scenario.floor_argv(loadgen_prefix, plan.workers)):
                side.results.floor(
                    name,
                    params=scenario.floor_params(params),
                    argv=floor,
                    metrics={m.key: m.to_json() for m in scenario.metrics},
                )
    harness_affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, plan.harness)  # the sampler threads inherit this
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
                for item in plan_round(sides, name, rnd, loadgen is not None, rng):
                    all_ok = (
                        _run_planned(item, sides, plan, loadgen, loadgen_prefix, context, progress, most) and all_ok
                    )
    finally:
        os.sched_setaffinity(0, harness_affinity)
    return all_ok


def _run_planned(
    item: Planned,
    sides: list[Side],
    plan: CpuPlan,
    loadgen: Prepared | None,
    loadgen_prefix: list[str],
    context: dict,
    progress: Callable[[str, dict | None], None],
    rounds: int,
) -> bool:
    first = sides[0].suite
    scenario = SCENARIOS[item.scenario]
    owner = sides[item.side if item.side is not None else 0]
    params = scenario.params(owner.suite)
    if item.side is None:  # the instrument against its reference responder, on the workload's CPUs
        assert loadgen is not None
        argv = scenario.floor_argv(loadgen_prefix, plan.workers) or []
        env, launcher, params = {}, loadgen.launcher, scenario.floor_params(params)
    else:
        p = owner.prepared[item.runtime]
        argv = p.argv([item.scenario, *scenario.workload_args(params)], plan.workers)
        env, launcher = dict(p.settings.get("env", {})), p.launcher
    bench_id = f"{item.scenario}/{item.runtime}"
    side_label = f" {owner.label}" if len(sides) > 1 and item.side is not None else ""
    label = f"{bench_id}{side_label} round {item.round + 1}/{rounds}" + (" (warm-up)" if item.warmup else "")
    spec = TrialSpec(
        bench_id,
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
    )
    files = [s.results for s in sides] if item.side is None else [owner.results]
    return bool(_run_one(spec, item, first["noise"], label, progress, files)["ok"])


def _run_one(
    spec: TrialSpec,
    item: Planned,
    noise: dict,
    label: str,
    progress: Callable[[str, dict | None], None],
    files: list[ResultsFile],
) -> dict:
    """One planned trial, repeated while it is noisy when the suite asks for that; recorded as it finishes."""
    repeats = 0
    while True:
        progress(label, None)
        record = run_trial(spec)
        record["round"] = item.round
        record["warmup"] = item.warmup
        steal = record["host_load"].get("steal_pct")
        record["noisy"] = steal is not None and steal > noise["steal_threshold_pct"]
        repeat = record["noisy"] and noise["repeat_noisy"] and repeats < noise["max_repeats"] and record["ok"]
        if repeat:
            record["excluded"] = f"steal {steal}% above {noise['steal_threshold_pct']}%: repeated"
        for f in files:
            if item.side is None:
                f.add_floor_trial(record)
            else:
                f.add_trial(spec.benchmark_id, record)
            if record["noisy"]:
                f.warn(f"{spec.benchmark_id}: trial(s) with CPU steal above {noise['steal_threshold_pct']}%")
        progress(spec.benchmark_id, record)
        if not repeat:
            return record
        repeats += 1
