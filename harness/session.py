"""One benchmark session: config -> toolchains -> builds -> interleaved,
pinned, sampled trials -> results file. Everything after the results file
(summary, report, gate) reads only that file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness import build as builder
from harness import host, runtimes, scenarios, toolchains
from harness.config import Suite
from harness.cpuplan import CpuPlan, make_plan
from harness.errors import HarnessError
from harness.results import ResultsFile, check_writable, default_path
from harness.runner import TrialSpec, run_trial, workload_env

ROOT = runtimes.ROOT


@dataclass
class Prepared:
    runtime: runtimes.Runtime
    toolchain: toolchains.Toolchain | None
    built: builder.Built
    settings: dict


def check_backend(backend: str, arch: str) -> str:
    """Only the native backend exists so far; say so rather than pretend."""
    native = host.native_arch()
    if backend == "docker":
        raise HarnessError("the docker backend is not available in this version: use --backend native")
    if arch != native:
        raise HarnessError(f"--arch {arch} on this {native} host needs the docker backend with qemu emulation, "
                           "which this version does not have: use --arch " + native)
    return "native"


def needs_loadgen(suite: Suite) -> bool:
    return any(scenarios.get(s).needs_loadgen for s in suite.scenarios)


def discover(suite: Suite) -> dict[str, tuple[runtimes.Runtime, toolchains.Toolchain | None]]:
    """Resolve every runtime of the suite and its toolchain (and the load generator
    when a scenario needs it), before anything is built."""
    found = {}
    for name in suite.runtimes:
        rt = runtimes.resolve(name, suite.runtime_settings.get(name, {}))
        tc = toolchains.find(rt.toolchain) if rt.toolchain else None
        found[name] = (rt, tc)
    if needs_loadgen(suite):
        found["loadgen"] = (runtimes.LOADGEN, toolchains.find(runtimes.LOADGEN.toolchain))
    return found


def build_all(found, suite: Suite, log: Callable[[str], None]) -> dict[str, Prepared]:
    """Build every entry of `found` (runtimes, and loadgen when http runs); cached by content."""
    prepared = {}
    for name, (rt, tc) in found.items():
        log(f"building {name} ...")
        built = builder.build(rt, tc, log=log)
        log(f"built {name}: {'cached' if built.cached else 'compiled'} {built.artifact_dir.name}")
        prepared[name] = Prepared(rt, tc, built, suite.runtime_settings.get(name, {}))
    return prepared


def prepare_run(suite: Suite, backend: str, arch: str, out: str | None, results_dir: Path):
    """Every check that can fail on bad input, in the order a user can fix them; nothing is built yet."""
    used_backend = check_backend(backend, arch)
    plan = make_plan(suite["cpus"], needs_loadgen(suite))
    limit_warnings = [w for name in suite.scenarios for w in scenarios.get(name).preflight(suite)]
    git = host.git_state(ROOT)
    path = Path(out) if out else default_path(results_dir, arch, git["short_sha"])
    check_writable(path)
    found = discover(suite)
    return used_backend, plan, git, path, found, limit_warnings


def trial_argv(p: Prepared, scenario_name: str, params: dict, workers: int) -> list[str]:
    prefix = p.runtime.launch(p.built.artifact_dir, workers, p.settings, p.toolchain)
    return [*prefix, scenario_name, *scenarios.get(scenario_name).workload_args(params), "--workers", str(workers)]


@dataclass
class Side:
    """One set of builds writing one results file. A normal run has one side;
    `harness ab` has two (base, candidate) whose trials alternate."""
    label: str
    suite: Suite
    prepared: dict[str, Prepared]
    results: ResultsFile


def run_session(sides: list[Side], plan: CpuPlan, progress: Callable[[str, dict | None], None],
                loadgen: Prepared | None = None) -> bool:
    """Run every trial: per scenario, round by round, runtime by runtime (and side
    by side), so machine drift spreads evenly. True if all trials succeeded."""
    all_ok = True
    first = sides[0].suite
    context = {}
    if loadgen:
        context = {"loadgen_argv": loadgen.runtime.launch(loadgen.built.artifact_dir, 0, {}, None),
                   "loadgen_cpus": plan.loadgen, "env": dict(os.environ)}
    trials_cfg, noise = first["trials"], first["noise"]
    rounds = trials_cfg["warmup"] + trials_cfg["count"]
    harness_affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, plan.harness)  # the sampler threads inherit this
    try:
        for scenario_name in first.scenarios:
            scenario = scenarios.get(scenario_name)
            for side in sides:
                params = scenario.params(side.suite)
                for name, p in side.prepared.items():
                    side.results.benchmark(f"{scenario_name}/{name}", scenario_name, name, params=params,
                                           argv=trial_argv(p, scenario_name, params, plan.workers),
                                           metrics={m.key: m.to_json() for m in scenario.metrics},
                                           workers_setting=p.runtime.workers_setting, build=p.built.to_json())
            for rnd in range(rounds):
                for name in first.runtimes:
                    for side in sides:
                        p = side.prepared[name]
                        params = scenario.params(side.suite)
                        bench_id = f"{scenario_name}/{name}"
                        label = f"{bench_id}{' ' + side.label if len(sides) > 1 else ''} round {rnd + 1}/{rounds}"
                        repeats = 0
                        while True:
                            progress(label + (" (warm-up)" if rnd < trials_cfg["warmup"] else ""), None)
                            spec = TrialSpec(bench_id, trial_argv(p, scenario_name, params, plan.workers),
                                             workload_env(p.settings.get("env", {}),
                                                          p.toolchain.env if p.toolchain else {}),
                                             plan.workload, scenario, params, first["sampling"]["interval_ms"],
                                             first["sampling"]["series_points"], trials_cfg["timeout_s"], context)
                            record = run_trial(spec)
                            record["round"] = rnd
                            record["warmup"] = rnd < trials_cfg["warmup"]
                            steal = record["host_load"].get("steal_pct")
                            record["noisy"] = steal is not None and steal > noise["steal_threshold_pct"]
                            repeat = (record["noisy"] and noise["repeat_noisy"] and repeats < noise["max_repeats"]
                                      and record["ok"])
                            if repeat:
                                record["excluded"] = f"steal {steal}% above {noise['steal_threshold_pct']}%: repeated"
                            side.results.add_trial(bench_id, record)
                            if record["noisy"]:
                                side.results.warn(f"{bench_id}: trial(s) with CPU steal above "
                                                  f"{noise['steal_threshold_pct']}%")
                            if not record["ok"]:
                                all_ok = False
                            progress(bench_id, record)
                            if not repeat:
                                break
                            repeats += 1
    finally:
        os.sched_setaffinity(0, harness_affinity)
    return all_ok
