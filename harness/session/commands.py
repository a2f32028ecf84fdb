"""The session commands: `harness run` (and `--resume`) and `harness build`.
A run's life: prepare (every check that can fail on bad input) -> build -> the
results file's header -> the plan's trials -> finish, then the summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console

from harness import config
from harness.backends import Prepared
from harness.errors import EXIT_OK, HarnessError
from harness.paths import ROOT
from harness.record import model
from harness.record.writer import ResultsFile, check_writable, default_path
from harness.session import git_ref
from harness.session.finish import run_sides
from harness.session.plan import Plan, Planned
from harness.session.prepare import Log, Preparation, at_tree, guard_cpus, header, prepare
from harness.session.scheduler import Side
from harness.subjects import LOADGEN

RESULTS_DIR = ROOT / "results"


def console_log(console: Console) -> Log:
    return lambda m: console.print(f"[dim]{m}[/dim]", highlight=False)


def plan_of(prep: Preparation, suite: config.Suite, has_floor: bool) -> Plan:
    return Plan(suite, 1, prep.points, has_floor, profiles=suite["profile"]["enabled"])


def run(
    suite: config.Suite,
    backend: str,
    arch: str | None,
    out: str | None,
    console: Console,
    wait_for_cpus: bool = False,
    ref: str | None = None,
) -> int:
    """harness run: build, run every trial into one results file, print the summary. With `ref`, the
    workloads of that commit (this harness and its load generator measure them: the method stays)."""
    log = console_log(console)
    if ref and backend not in ("native", "auto"):
        raise HarnessError("--ref builds a commit's workloads natively: use --backend native")
    prep = prepare(suite, "native" if ref else backend, arch, log, native_only=bool(ref))
    suite = prep.suite  # with its time limits scaled under emulation
    if ref:
        prep = at_ref(prep, ref)
    path = Path(out) if out else default_path(RESULTS_DIR, prep.arch, prep.git["short_sha"])
    check_writable(path)
    locks = guard_cpus(prep, str(path), wait_for_cpus, log)
    for stale in mark_crashed_runs(path.parent):
        console.print(f"[yellow]warning:[/yellow] {stale}: its harness is gone; marked crashed", highlight=False)
    for w in prep.warnings + prep.backend.notes:
        console.print(f"[yellow]warning:[/yellow] {w}")
    try:
        prepared = prep.backend.build_all(prep.found, suite, log)
        loadgen = prepared.pop(LOADGEN.name, None)
        results = ResultsFile(path, {**header(prep, suite, prep.git, prepared, loadgen), **cpu_facts(locks)})
        for w in prep.warnings + [f"another harness run holds other CPUs: {o}" for o in locks.others()]:
            results.warn(w)
        console.print(f"results file: {path}", highlight=False)
        side = Side("run", suite, prepared, results)
        far = far_generators(prep, suite, loadgen, log)
        return run_sides([side], prep.points, loadgen, console, plan_of(prep, suite, loadgen is not None), far=far)
    finally:
        locks.release()
        prep.backend.close()


def far_generators(prep: Preparation, suite: config.Suite, loadgen: Prepared | None, log: Log) -> tuple:
    """The load generators on engines of their own (loadgen.engines), ready to start: none by default."""
    if not suite["loadgen"]["engines"] or loadgen is None:
        return ()
    from harness.backends.docker import generators
    from harness.subjects import SCENARIOS

    nofile = max(4096, *(SCENARIOS[s].open_files(SCENARIOS[s].params(suite)) for s in suite.scenarios))
    return generators.far_generators(suite["loadgen"]["engines"], loadgen, prep.plan.loadgen, nofile, log)


def at_ref(prep: Preparation, ref: str) -> Preparation:
    """The same preparation with every subject's sources those of `ref` (the load generator stays
    this tree's: it is the instrument), and the results file's git naming that commit."""
    sha, tree = git_ref.checkout(ref, ROOT)
    found = at_tree(prep.found, tree)
    git = {"sha": sha, "short_sha": sha[:8], "dirty": False, "ref": ref, "harness_sha": prep.git.get("sha")}
    return dataclasses.replace(prep, found=found, git=git)


def cpu_facts(locks) -> dict:
    """What the results file records of the host-wide CPU locks: ours, and the other runs seen."""
    return {"cpu_locks": {"cpus": locks.cpus, "directory": str(locks.directory), "other_runs": locks.others()}}


def resume(path: Path, console: Console, wait_for_cpus: bool = False) -> int:
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
    ref = (doc.get("git") or {}).get("ref")
    if ref and "ab" not in doc:
        prep = at_ref(prep, ref)  # a run of another commit's workloads resumes on them
    check_writable(path)
    locks = guard_cpus(prep, str(path), wait_for_cpus, log)
    try:
        prepared = prep.backend.build_all(prep.found, suite, log)
        loadgen = prepared.pop(LOADGEN.name, None)
        changed = _changed_builds(doc, prepared, loadgen)
        if changed:
            raise HarnessError(f"{where}: {changed} since it started; start a new run")
        results = ResultsFile.reopen(path, doc)
        side = Side("run", suite, prepared, results)
        plan = plan_of(prep, suite, loadgen is not None)
        finished = frozenset(i.key for i in plan.items if _has_trial(doc, plan.bench_id(i), i))
        console.print(f"resuming {path}: {len(finished)} trial(s) kept, the rest in the same order", highlight=False)
        far = far_generators(prep, suite, loadgen, log)
        return run_sides([side], prep.points, loadgen, console, plan, finished=finished, far=far)
    finally:
        locks.release()
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
    if item.instrument:
        bench = (doc.get("floors") or {}).get(item.scenario) or {}
    else:
        bench = next((b for b in doc["benchmarks"] if b["id"] == bid), {})
    if item.profile:
        return any(t.get("profile") for t in bench.get("trials", []))
    return any(t.get("round") == item.round and not t.get("excluded") for t in bench.get("trials", []))


def build(suite: config.Suite, backend: str, arch: str | None, console: Console, wait_for_cpus: bool = False) -> int:
    """harness build: build (or find cached) every workload of the suite."""
    log = lambda m: console.print(m, highlight=False)  # noqa: E731
    prep = prepare(suite, backend, arch, log)
    locks = guard_cpus(prep, "(harness build)", wait_for_cpus, log)  # a build would load the CPUs a run measures
    try:
        prep.backend.build_all(prep.found, suite, log)
    finally:
        locks.release()
        prep.backend.close()
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
