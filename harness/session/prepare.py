"""Preparation: every check that can fail on bad input, in the order a user can
fix them, before anything is built; and the results file's header."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import backends, config
from harness.backends import Backend, Prepared
from harness.backends.base import Placement
from harness.errors import HarnessError
from harness.measure import host, memory
from harness.measure.cpulock import CpuLocks
from harness.measure.cpuplan import CpuPlan, make_plan
from harness.paths import ROOT
from harness.session.plan import (
    Point,
    builds_loadgen,
    needs_loadgen,
    subjects_measuring,
    sweep_points,
    why_not_measured,
)
from harness.subjects import LOADGEN, SCENARIOS, resolve_runtime, shown
from harness.subjects.runtimes.runtime import Runtime
from harness.subjects.scenarios import protocol

Log = Callable[[str], None]


@dataclass
class Preparation:
    """What a run needs before anything is built, each part checked."""

    suite: config.Suite
    backend: Backend
    placement: Placement
    arch: str
    plan: CpuPlan
    git: dict
    found: dict  # name -> (Runtime, Toolchain | None), the load generator included when a scenario needs it
    warnings: list[str]
    points: list[Point]  # the sweep's points (one, with no values, when nothing is swept)


def at_tree(found: dict, tree: Path) -> dict:
    """The same subjects built from another tree's sources (a commit's); the load generator stays
    this tree's: it is the instrument, part of the method."""
    return {n: ((rt.at_tree(tree), tc) if n != LOADGEN.name else (rt, tc)) for n, (rt, tc) in found.items()}


def runtimes_of(suite: config.Suite) -> dict[str, Runtime]:
    found = {
        name: resolve_runtime(name, suite.runtime_settings.get(name, {}), suite.runtime_of(name))
        for name in suite.runtimes
    }
    if builds_loadgen(suite):
        found[LOADGEN.name] = LOADGEN
    return found


def prepare(suite: config.Suite, backend: str, arch: str | None, log: Log, native_only: bool = False) -> Preparation:
    """Every check that can fail on bad input, in the order a user can fix them; nothing is built yet."""
    arch = arch or host.native_arch()
    wanted = runtimes_of(suite)
    chosen = backends.select(
        "native" if native_only else backend, arch, needs_native=any(rt.image is None for rt in wanted.values())
    )
    placement = chosen.placement(suite)
    say_backend(backend, chosen, placement, arch, log)
    if placement.emulates(arch):  # qemu translates every instruction: the same trial takes far longer
        factor = suite["trials"]["emulation_timeout_factor"]
        log(f"under emulation: trial time limits x{factor:g} (trials.emulation_timeout_factor)")
        suite = config.with_value(suite, "trials.timeout_s", suite["trials"]["timeout_s"] * factor)
    remote_only = []
    if not placement.local:  # e.g. startup: timed from this machine, it needs the engine here
        remote_only = [s for s in suite.scenarios if SCENARIOS[s].needs_local_engine]
        kept = [s for s in suite.scenarios if s not in remote_only]
        if not kept:
            raise HarnessError(
                f"{', '.join(remote_only)} needs the engine on this machine ({placement.docker_host} is remote): "
                "run it with a local engine"
            )
        if remote_only:
            log(f"skipping {', '.join(remote_only)}: it needs the engine on this machine")
            suite = config.with_value(suite, "scenarios", kept)
    host_only = [s for s in suite.scenarios if SCENARIOS[s].needs_native] if chosen.name != "native" else []
    if host_only:  # build times the host's toolchains; the docker images are cached by content
        kept = [s for s in suite.scenarios if s not in host_only]
        if not kept:
            raise HarnessError(f"{', '.join(host_only)} runs natively only: use --backend native")
        log(f"skipping {', '.join(host_only)} in docker: it times this host's toolchains (--backend native)")
        suite = config.with_value(suite, "scenarios", kept)
    unmeasured = [s for s in suite.scenarios if not subjects_measuring(suite, s)]
    if unmeasured:  # e.g. --runtimes zig --scenarios live: nobody here measures it
        kept = [s for s in suite.scenarios if s not in unmeasured]
        why = "; ".join(why_not_measured(suite, s) for s in unmeasured)
        if not kept:
            raise HarnessError(
                f"{', '.join(unmeasured)}: no subject of this run measures it ({why}): add one that does"
            )
        log(f"skipping {', '.join(unmeasured)}: no subject of this run measures it ({why})")
        suite = config.with_value(suite, "scenarios", kept)
    plan = make_plan(suite["cpus"], needs_loadgen(suite), chosen.available_cpus())
    points = sweep_points(suite, chosen.available_cpus())
    warnings = list(
        dict.fromkeys(
            [w for p in points for w in p.plan.warnings()]
            + [w for p in points for name in p.suite.scenarios for w in SCENARIOS[name].preflight(p.suite)]
            + [f"{s} not run: it needs the engine on this machine (the engine is remote)" for s in remote_only]
            + [f"{s} not run: it runs natively only (--backend native)" for s in host_only]
        )
    )
    found = chosen.discover(runtimes_of(suite), suite)  # the subjects of the scenarios that stayed
    placement = chosen.placement(suite)
    if suite["memory"]["guard"]:
        check_memory(points, found, placement)
    return Preparation(suite, chosen, placement, arch, plan, host.git_state(ROOT), found, warnings, points)


def check_memory(points: list[Point], found: dict, placement: Placement) -> None:
    """Refuse, before anything is built, a benchmark whose trials would not fit in memory here: within
    each trial's own limit, and (where the engine is this machine) within what this harness may use."""
    limit = placement.trial_memory_limit_bytes
    available = memory.available_bytes(limit) if placement.local else float(limit or placement.memory_bytes or 0)
    for p in points:
        for name in p.suite.scenarios:
            scenario = SCENARIOS[name]
            for subject in p.suite.subjects_for(name):
                rt = found[subject][0]
                n = memory.need(scenario, rt, scenario.params(p.suite))
                if n is not None and not n.fits(available):
                    raise HarnessError(f"{n.describe(subject, name, available)}: use {n.advice(available)}, or --force")


def guard_cpus(prep: Preparation, results: str, wait: bool, log: Log) -> CpuLocks:
    """The host-wide locks of every CPU this session pins (workload and load generator, every sweep
    point's), taken before the first build or trial. A remote engine's CPUs are not this host's."""
    cpus: list[int] = []
    if prep.placement.local:
        for p in prep.points:
            cpus += p.plan.workload + (p.plan.loadgen if needs_loadgen(p.suite) else [])
    locks = CpuLocks(
        sorted(set(cpus)), {"pid": os.getpid(), "results": results, "since": time.time(), "command": " ".join(sys.argv)}
    )
    locks.take(wait, log)
    return locks


def say_backend(asked: str, backend: Backend, placement: Placement, arch: str, log: Log) -> None:
    emulated = " [bold red]under qemu emulation[/bold red]" if placement.emulates(arch) else ""
    picked = "backend auto: picked" if asked == "auto" else "backend"
    log(f"{picked} {backend.name}{placement.where}; arch {arch}{emulated}")


def header(
    prep: Preparation, suite: config.Suite, git: dict, prepared: dict[str, Prepared], loadgen: Prepared | None
) -> dict:
    """The results file's header: everything about the run that is not a trial."""
    return {
        "command": sys.argv,
        "protocol": protocol.VERSION,  # the workloads' contract: figures of different versions are never joined
        "backend": prep.backend.name,
        "arch": prep.arch,
        "emulated": prep.placement.emulates(prep.arch),  # the target differs from what runs it
        "host": host.host_facts(prep.arch),
        "placement": prep.placement.to_json(),
        "git": git,
        "suite": suite.to_json(),
        "cpu_plan": prep.plan.to_json(),
        "toolchains": {n: (p.toolchain.to_json() if p.toolchain else None) for n, p in prepared.items()},
        "subjects": shown({n: (p.runtime, p.settings) for n, p in prepared.items()}, floor=loadgen is not None),
        "loadgen": loadgen.built.to_json() if loadgen else None,
    }
