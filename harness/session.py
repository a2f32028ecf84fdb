"""One benchmark session: config -> toolchains -> builds -> interleaved,
pinned, sampled trials -> results file. Everything after the results file
(summary, report, gate) reads only that file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness import build as builder
from harness import containers, host, runtimes, scenarios, toolchains
from harness.config import Suite
from harness.cpuplan import CpuPlan, make_plan
from harness.errors import HarnessError
from harness.results import ResultsFile, check_writable, default_path
from harness.runner import NativeLauncher, TrialSpec, run_trial

ROOT = runtimes.ROOT


@dataclass
class Prepared:
    runtime: runtimes.Runtime
    toolchain: toolchains.Toolchain | None
    built: object                      # build.Built (native) or containers.BuiltImage (docker)
    settings: dict
    launcher: NativeLauncher


def needs_loadgen(suite: Suite) -> bool:
    return any(scenarios.get(s).needs_loadgen for s in suite.scenarios)


def _resolve(suite: Suite) -> dict[str, runtimes.Runtime]:
    found = {name: runtimes.resolve(name, suite.runtime_settings.get(name, {})) for name in suite.runtimes}
    if needs_loadgen(suite):
        found["loadgen"] = runtimes.LOADGEN
    return found


class NativeBackend:
    """Workloads built with the host's toolchains and run as pinned processes."""
    name = "native"

    def __init__(self, arch: str) -> None:
        self.arch = arch

    def facts(self) -> dict | None:
        return None

    def available_cpus(self) -> list[int] | None:
        return None  # this process's own affinity

    def discover(self, suite: Suite) -> dict[str, tuple[runtimes.Runtime, toolchains.Toolchain | None]]:
        """Every runtime of the suite (and the load generator when a scenario needs
        it) with its toolchain, found before anything is built."""
        return {name: (rt, toolchains.find(rt.toolchain) if rt.toolchain else None)
                for name, rt in _resolve(suite).items()}

    def build_all(self, found, suite: Suite, log: Callable[[str], None]) -> dict[str, Prepared]:
        prepared = {}
        for name, (rt, tc) in found.items():
            log(f"building {name} ...")
            built = builder.build(rt, tc, log=log)
            log(f"built {name}: {'cached' if built.cached else 'compiled'} {built.artifact_dir.name}")
            prepared[name] = Prepared(rt, tc, built, suite.runtime_settings.get(name, {}),
                                      NativeLauncher(tc.env if tc else {}))
        return prepared

    def close(self) -> None:
        pass


class DockerBackend:
    """Workloads built from their Dockerfiles (images cached by content) and run
    one container per trial, pinned with cpuset, memory-limited, host network."""
    name = "docker"

    def __init__(self, engine: containers.Engine, arch: str) -> None:
        self.engine, self.arch = engine, arch
        removed = containers.remove_leftovers(engine)
        self.notes = [f"removed {removed} container(s) left by a harness that no longer runs"] if removed else []

    def limits(self, suite: Suite) -> tuple[int, int]:
        cfg = suite["docker"]
        memory = cfg["memory_limit_mib"] * 2**20 or int(self.engine.info.get("MemTotal", 8 * 2**30) * 3 / 4)
        nofile = cfg["nofile"] or max(4096, suite["http"]["stages"][-1] + 1024 if "http" in suite.scenarios else 0)
        engine_limit = containers.engine_nofile_limit(self.engine)
        if engine_limit is not None and nofile > engine_limit:
            raise HarnessError(f"containers need an open-files limit of {nofile}, but dockerd's own hard limit is "
                               f"{engine_limit}: start dockerd with a higher one (ulimit -Hn {nofile}; for the "
                               f"service: LimitNOFILE={nofile}) or lower docker.nofile / the http stages")
        return memory, nofile

    def facts(self) -> dict:
        return self.engine.facts()

    def available_cpus(self) -> list[int] | None:
        return None if self.engine.local else list(range(int(self.engine.info.get("NCPU") or 1)))

    def discover(self, suite: Suite) -> dict[str, tuple[runtimes.Runtime, None]]:
        found = _resolve(suite)
        for name, rt in found.items():
            if rt.image is None:
                raise HarnessError(f"runtime '{name}' has no Dockerfile: the docker backend runs "
                                   f"{', '.join(runtimes.RUNTIMES)}; use --backend native for '{name}'")
        if "http" in suite.scenarios and not self.engine.local:
            raise HarnessError("the http scenario needs the engine on this machine (the harness verifies the "
                               "server's answers over loopback): unset DOCKER_HOST or run spawn,live remotely")
        return {name: (rt, None) for name, rt in found.items()}

    def build_all(self, found, suite: Suite, log: Callable[[str], None]) -> dict[str, Prepared]:
        memory, nofile = self.limits(suite)
        prepared = {}
        for name, (rt, _) in found.items():
            log(f"building image {name} ...")
            built = containers.build_image(self.engine, rt, self.arch, log)
            log(f"image {name}: {'cached' if built.cached else 'built'} {built.tag}")
            # inside the image the program and `java` are where the Dockerfile put them
            tc = toolchains.Toolchain(rt.toolchain or name, built.toolchain_version, {"java": "java"})
            launcher = containers.ContainerLauncher(self.engine, built.tag, memory, nofile,
                                                    {f"{containers.LABEL}.runtime": name})
            prepared[name] = Prepared(rt, tc, built, suite.runtime_settings.get(name, {}), launcher)
        return prepared

    def close(self) -> None:
        containers.remove_leftovers(self.engine, only_this_run=True)


def select_backend(backend: str, arch: str, suite: Suite | None = None) -> NativeBackend | DockerBackend:
    """native, docker, or auto (docker when an engine answers and every runtime of
    the suite has a Dockerfile). A foreign --arch needs docker and qemu
    emulation; without them, one line and exit 2."""
    native = host.native_arch()
    if backend == "auto" and suite is not None and any(rt.image is None for rt in _resolve(suite).values()):
        backend = "native"  # a prebuilt [runtime.NAME] command runs on the host only
    engine = containers.connect() if backend in ("docker", "auto") else None
    if backend == "docker" and engine is None:
        containers.require()  # raises with the message
    if engine is None:
        if arch != native:
            raise HarnessError(f"--arch {arch} on this {native} host needs the docker backend (qemu emulation) "
                               "and no Docker engine answers: start one, or use --arch " + native)
        return NativeBackend(arch)
    if arch != engine.arch:
        if not engine.local:
            raise HarnessError(f"--arch {arch}: the engine at {engine.docker_host} is {engine.arch}; point "
                               f"DOCKER_HOST at an {arch} host")
        if not containers.emulation_available(arch):
            raise HarnessError(f"--arch {arch} on this {engine.arch} host needs qemu user emulation: run "
                               "apt-get install -y qemu-user-static binfmt-support (or use --arch "
                               f"{engine.arch})")
    return DockerBackend(engine, arch)


def prepare_run(suite: Suite, backend: str, arch: str, out: str | None, results_dir: Path):
    """Every check that can fail on bad input, in the order a user can fix them; nothing is built yet."""
    chosen = select_backend(backend, arch, suite)
    plan = make_plan(suite["cpus"], needs_loadgen(suite), chosen.available_cpus())
    limit_warnings = [w for name in suite.scenarios for w in scenarios.get(name).preflight(suite)]
    git = host.git_state(ROOT)
    path = Path(out) if out else default_path(results_dir, arch, git["short_sha"])
    check_writable(path)
    found = chosen.discover(suite)
    return chosen, plan, git, path, found, limit_warnings


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
                   "loadgen_cpus": plan.loadgen, "loadgen_launcher": loadgen.launcher}
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
                                             dict(p.settings.get("env", {})), plan.workload, scenario, params,
                                             first["sampling"]["interval_ms"], first["sampling"]["series_points"],
                                             trials_cfg["timeout_s"], context, p.launcher)
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
