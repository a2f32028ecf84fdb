"""`harness ab`: the base ref's workloads and the working tree's, built
separately, their trials interleaved in one session (pairs in random order),
sequential rounds added while the gate's stop rule says undecided. The gate
itself then reads the two results files."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness import config
from harness.output.progress import Reporter
from harness.paths import ROOT
from harness.record.writer import ResultsFile, check_writable
from harness.session import git_ref
from harness.session.commands import RESULTS_DIR, console_log
from harness.session.finish import run_sides
from harness.session.plan import Plan, Planned, scenario_points
from harness.session.prepare import at_tree, guard_cpus, header, prepare, runtimes_of
from harness.session.rounds import StopRule
from harness.session.scheduler import Scheduler, Side
from harness.subjects import LOADGEN


@dataclass
class Session:
    """What an A/B session leaves for the gate and for what follows it (profiling a regression)."""

    sides: list[Side]
    points: list
    loadgen: object | None
    plan: Plan


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
    stop: StopRule | None = None  # (scenario, the sides' documents so far) -> decided

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


def ab(
    suite: config.Suite,
    candidate_suite: config.Suite,
    base_ref: str,
    out_dir: Path | None,
    console: Console,
    sequencing: Sequencing,
    wait_for_cpus: bool = False,
    candidate_ref: str | None = None,
) -> tuple[int, Session]:
    """harness ab: the base ref's workloads and the working tree's (or `candidate_ref`'s), built
    separately, their trials interleaved in one session, pairs in random order."""
    log = console_log(console)
    prep = prepare(suite, "native", None, log, native_only=True)  # a docker A/B would need both trees' images
    base_sha, base_tree = git_ref.checkout(base_ref, ROOT)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    paths = {label: (out_dir or RESULTS_DIR) / f"ab-{stamp}-{label}.json" for label in ("base", "candidate")}
    check_writable(paths["base"])
    locks = guard_cpus(prep, str(paths["candidate"]), wait_for_cpus, log)
    for w in prep.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    # each side's subjects configured by its own suite: a candidate-set toolchain or pin builds the candidate only
    cand_found = prep.backend.discover(runtimes_of(candidate_suite), candidate_suite)
    cand_git = prep.git
    if candidate_ref:
        cand_sha, cand_tree = git_ref.checkout(candidate_ref, ROOT)
        cand_found = at_tree(cand_found, cand_tree)
        cand_git = {"sha": cand_sha, "short_sha": cand_sha[:8], "dirty": False, "ref": candidate_ref}
    cand_prepared = prep.backend.build_all(cand_found, candidate_suite, log)
    loadgen = cand_prepared.pop(LOADGEN.name, None)
    base_found = {n: found for n, found in at_tree(prep.found, base_tree).items() if n != LOADGEN.name}
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
                {**header(prep, candidate_suite, cand_git, cand_prepared, loadgen), "ab": ab_header("candidate")},
            ),
        ),
    ]
    plan = Plan(suite, 2, prep.points, loadgen is not None, sequencing.rng, sequencing.max_rounds)
    stop = sequencing.stop if sequencing.max_rounds else None
    try:
        return run_sides(sides, prep.points, loadgen, console, plan, stop), Session(sides, prep.points, loadgen, plan)
    finally:
        locks.release()


def profile_benchmarks(session: Session, bench_ids: set[str], console: Console) -> int:
    """One more round of each side of these benchmarks, with the runtime's profiler on (the gate found
    them regressed: the profiles say why). Recorded in each side's results file as profiled trials,
    never in a statistic. Returns how many profiles were taken."""
    plan = session.plan
    items = []
    for scenario, rounds in plan.rounds.items():
        for k, _ in enumerate(scenario_points(session.points, scenario)):
            for runtime in plan.subjects[scenario]:
                if plan.bench_id(Planned(scenario, 0, False, runtime, 0, k)) in bench_ids:
                    after = rounds.most + 1  # after every measured and sequential round
                    items += [Planned(scenario, after, False, runtime, side, k, profile=True) for side in (0, 1)]
    if not items:
        return 0
    with Reporter(console, [plan.bench_id(i) for i in items]) as reporter:
        scheduler = Scheduler(session.sides, plan, session.loadgen, reporter)  # type: ignore[arg-type]
        ok = [scheduler.run_one(item) for item in items]
    return sum(ok)
