"""Command line: parses and validates the arguments, then makes one call per
command (session for run, build, ab, env and images; output for summary,
report, publish and export; gate for gate).

Exit codes: 0 ok, 1 a benchmark failed (or the gate found a regression),
2 bad input or environment, 130 interrupted. Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console

from harness import __version__, config
from harness.errors import EXIT_BENCHMARK_FAILED, EXIT_INTERRUPTED, EXIT_OK, HarnessError
from harness.measure.trial import kill_all
from harness.output.exports import EXPORTERS
from harness.subject_id import SubjectId
from harness.subjects import LOADGEN, RUNTIMES, SCENARIOS

if TYPE_CHECKING:
    from harness import gate

# The gate (scipy) and the session (the run side) are imported by the commands that use them: a
# reader, or a refusal of bad input, starts in a fraction of the time.


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints usage too)
        raise HarnessError(f"{message} (see harness {self.prog.split()[-1]} --help)")


def _names(allowed: tuple[str, ...] | None, what: str):
    """A comma list of names (runtimes, scenarios), checked where the choice is closed."""

    def parse(text: str) -> list[str]:
        items = [x.strip() for x in text.split(",") if x.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"--{what} needs at least one name")
        bad = [x for x in items if allowed and x not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {what[:-1]} '{bad[0]}': use {', '.join(allowed or ())}")
        return items

    return parse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _threshold(text: str) -> float:
    """5% or 0.05 -> 0.05."""
    t = text.strip().rstrip("%")
    try:
        value = float(t) / 100 if text.strip().endswith("%") or float(t) >= 1 else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write a percentage such as 5% or 0.05") from None
    if not 0 <= value < 10:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range")
    return value


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    suite = _ArgumentParser(add_help=False)
    suite.add_argument(
        "--suite",
        default=None,
        help="built-in suite name (default, quick, gate, ...) or a TOML file (default: default; for ab: gate)",
    )
    suite.add_argument("--runtimes", type=_names(None, "runtimes"), help="comma list, e.g. go,rust,java,zig")
    suite.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one suite key, e.g. spawn.tasks=1000 (repeatable)",
    )
    suite.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="RUNTIME@NAME:KEY=VALUE,...",
        help="a runtime plus named overrides, run as its own subject beside the others (repeatable), e.g. "
        'go@1.24:toolchain=1.24.5 or rust@mimalloc:features=["mimalloc"] or java@zgc:gc=Z',
    )
    trials = _ArgumentParser(add_help=False)
    trials.add_argument("--scenarios", type=_names(tuple(SCENARIOS), "scenarios"), help="comma list of spawn,live,http")
    trials.add_argument("--trials", type=_positive_int, help="measured trials per benchmark (after warm-up)")
    waits = _ArgumentParser(add_help=False)
    waits.add_argument(
        "--wait-for-cpus",
        action="store_true",
        help="wait while another harness run pins one of this run's CPUs (default: refuse in one line)",
    )
    where = _ArgumentParser(add_help=False)
    where.add_argument("--backend", choices=("native", "docker", "auto"), default="auto")
    where.add_argument("--arch", choices=("amd64", "arm64"), default=None)
    verdict = _ArgumentParser(add_help=False)
    verdict.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        help="smallest change that counts (e.g. 5%%); default the suite's gate.threshold_pct (5%%)",
    )
    verdict.add_argument("--alpha", type=_alpha, default=0.05, help="significance level")
    verdict.add_argument("--strict", action="store_true", help="an undecided metric fails the gate too")
    verdict.add_argument("--force", action="store_true", help="compare even results that are not comparable")
    verdict.add_argument("--all-metrics", action="store_true", help="gate every metric, not only headline ones")
    verdict.add_argument(
        "--allow-missing", action="store_true", help="a benchmark the candidate lacks does not fail the gate"
    )
    verdict.add_argument("--verdict", type=Path, default=None, help="write the JSON verdict here")

    p = _ArgumentParser(prog="harness", description="Go goroutines vs Rust tokio vs Java virtual threads, measured.")
    p.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    run = sub.add_parser(
        "run",
        parents=[suite, trials, where, waits],
        help="build, run every trial, write the results file, print the summary",
    )
    run.add_argument("--out", help="results file (default results/<timestamp>-<arch>-<sha>.json)")
    run.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="SECTION.KEY=V1,V2,...",
        help="run every value as its own benchmark, in one interleaved session (repeatable), "
        "e.g. spawn.tasks=10000,100000,1000000 or cpus.workload=1,0-1",
    )
    run.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RESULTS.json",
        help="continue an interrupted or crashed run in its own file, with its own suite and settings",
    )
    run.add_argument(
        "--ref",
        default=None,
        metavar="GIT_REF",
        help="measure the workloads of this commit (branch, tag or sha) with this harness and load generator "
        "(a release's history measured after the fact; native backend)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="run even what the memory guard estimates will not fit in this host's memory",
    )
    run.add_argument(
        "--loadgen-engines",
        default=None,
        metavar="ENGINE[,ENGINE...]",
        help="Docker engines that each run one load generator (unix://, ssh://, tcp://): the http load is split "
        "between them, their starts synchronised and their histograms merged (suite key loadgen.engines)",
    )
    run.add_argument(
        "--profile",
        action="store_true",
        help="add one CPU-profiled trial per benchmark (flame graphs in the report; not in the statistics)",
    )
    sub.add_parser("build", parents=[suite, where, waits], help="build (or find cached) every workload of the suite")

    im = sub.add_parser("images", help="container base images for hosts without a registry")
    im_sub = im.add_subparsers(dest="images_command", required=True, parser_class=_ArgumentParser)
    boot = im_sub.add_parser("bootstrap", help="build Debian toolchain and runtime base images (mmdebstrap | import)")
    boot.add_argument(
        "--arch",
        choices=("amd64", "arm64"),
        default=None,
        help="target architecture of the runtime "
        "images (toolchain images are always the engine's own: they cross-compile)",
    )
    boot.add_argument(
        "--runtimes",
        type=_names((*RUNTIMES, LOADGEN.name), "runtimes"),
        default=[*RUNTIMES, LOADGEN.name],
        help=f"comma list (default {','.join(RUNTIMES)} and the load generator)",
    )
    boot.add_argument("--mirror", default=None, help="Debian mirror (default http://deb.debian.org/debian)")

    sub.add_parser("env", help="what this machine has: toolchains, docker, CPUs, limits")
    s = sub.add_parser("summary", help="print the terminal summary of a results file")
    s.add_argument("results", help="a results JSON file")
    s.add_argument(
        "--variance",
        action="store_true",
        help="each headline metric's variance between processes and between rounds, and the counts that reach "
        "the precision target in the least time",
    )
    s.add_argument("--target", type=_threshold, default=0.0, help="the precision target for --variance (e.g. 5%%)")

    g = sub.add_parser("gate", parents=[verdict], help="regression gate: baseline vs candidate results file")
    g.add_argument("--baseline", required=True)
    g.add_argument("--candidate", required=True)
    ab = sub.add_parser(
        "ab",
        parents=[suite, trials, verdict, waits],
        help="build GIT_REF and the working tree, interleave their trials, gate",
    )
    ab.add_argument("--base", required=True, metavar="GIT_REF")
    ab.add_argument(
        "--candidate",
        default=None,
        metavar="GIT_REF",
        help="the candidate's workloads from this commit instead of the working tree (two releases, or a "
        "planted change)",
    )
    ab.add_argument(
        "--candidate-set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a suite key on the candidate side only (calibration: inject a known slowdown)",
    )
    ab.add_argument("--out-dir", type=Path, default=None, help="where the two results files go (default results/)")
    ab.add_argument(
        "--max-rounds",
        type=_positive_int,
        default=None,
        help="add rounds (beyond the suite's) to the benchmarks still undecided, at most this many in all "
        "(default the suite's gate.max_rounds)",
    )
    ab.add_argument("--seed", type=int, default=None, help="seed of the random side order (default: random, recorded)")
    ab.add_argument(
        "--no-why",
        dest="why",
        action="store_false",
        help="do not profile a regressed benchmark's two sides (by default one more round each, for a "
        "differential flame graph in gate-report.html)",
    )

    r = sub.add_parser("report", help="a self-contained HTML report from one or more results files")
    r.add_argument("results", nargs="+", help="results JSON files (several render side by side)")
    r.add_argument("--out", default=None, help="HTML file (default: the first results file with .html)")
    pub = sub.add_parser("publish", help="add a release's report and results to a static site")
    pub.add_argument("results", nargs="+")
    pub.add_argument("--release", required=True, metavar="vX.Y.Z")
    pub.add_argument("--site", required=True, metavar="DIR")
    pub.add_argument(
        "--skip-damaged",
        action="store_true",
        help="leave out releases whose files are damaged (listed in the output and on the page) instead of stopping",
    )
    e = sub.add_parser("export", help="export a results file to another format")
    e.add_argument("results")
    for exporter in EXPORTERS:  # one flag per registered format
        e.add_argument(exporter.flag, metavar=exporter.metavar, help=exporter.help)
    return p


def variant_sets(items: list[str]) -> list[str]:
    """--variant go@1.24:toolchain=1.24.5,env={GOGC="400"} -> the suite overrides that declare it."""
    out = []
    for item in items:
        vid, sep, rest = item.partition(":")
        sid = SubjectId.parse(vid)
        if not sid.is_variant:
            raise HarnessError(
                f"--variant {item!r}: write it as RUNTIME@NAME:KEY=VALUE,..., e.g. go@1.24:toolchain=1.24.5"
            )
        pairs = config.split_top_level(rest) if sep and rest.strip() else []
        out.append(f'variants."{vid}".runtime="{sid.runtime}"')
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise HarnessError(f"--variant {item!r}: {pair!r} is not KEY=VALUE")
            out.append(f'variants."{vid}".{key.strip()}={value.strip()}')
    return out


# a comparison of two commits is the pull request's gate unless a suite is named; everything else the headline suite
DEFAULT_SUITE = {"ab": "gate"}


def _suite(args, extra_sets: tuple[str, ...] | list[str] = ()) -> config.Suite:
    sets = [*variant_sets(getattr(args, "variant", [])), *args.set, *extra_sets]
    name = args.suite or DEFAULT_SUITE.get(args.command, "default")
    return config.restrict(
        config.load_suite(name, sets, getattr(args, "sweep", [])),
        args.runtimes,
        getattr(args, "scenarios", None),
        getattr(args, "trials", None),
    )


def cmd_run(args, console: Console) -> int:
    from harness import session

    if args.resume:
        given = (
            [
                f"--{k.replace('_', '-')}"
                for k in (
                    "suite",
                    "runtimes",
                    "scenarios",
                    "trials",
                    "arch",
                    "out",
                    "profile",
                    "force",
                    "ref",
                    "loadgen_engines",
                )
                if getattr(args, k) not in (None, "default", False)
            ]
            + (["--set"] if args.set else [])
            + (["--sweep"] if args.sweep else [])
        )
        if given:
            raise HarnessError(f"--resume takes the suite and settings the run recorded: drop {given[0]}")
        return session.resume(args.resume, console, args.wait_for_cpus)
    profile = (["profile.enabled=true"] if args.profile else []) + (["memory.guard=false"] if args.force else [])
    if args.loadgen_engines:
        engines = [e.strip() for e in args.loadgen_engines.split(",") if e.strip()]
        profile.append("loadgen.engines=[" + ",".join(f'"{e}"' for e in engines) + "]")
    return session.run(
        _suite(args, profile), args.backend, args.arch, args.out, console, args.wait_for_cpus, ref=args.ref
    )


def cmd_build(args, console: Console) -> int:
    from harness import session

    return session.build(_suite(args), args.backend, args.arch, console, args.wait_for_cpus)


def _gate_options(args, suite_gate: dict | None, ignore: frozenset[str] | set[str] = frozenset()) -> gate.Options:
    """The CLI's gate flags over the suite's [gate] section (its per-metric thresholds)."""
    from harness import gate

    return gate.Options.of_suite(
        suite_gate,
        threshold=args.threshold,
        alpha=args.alpha,
        force=args.force,
        all_metrics=args.all_metrics,
        allow_missing=args.allow_missing,
        ignore_params=frozenset(ignore),
    )


def cmd_ab(args, console: Console) -> int:
    import random

    from harness import gate, session
    from harness.record.model import load

    base_suite = _suite(args)
    opts = _gate_options(args, base_suite["gate"], {item.partition("=")[0].strip() for item in args.candidate_set})
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    max_rounds = args.max_rounds if args.max_rounds is not None else base_suite["gate"]["max_rounds"] or None
    for line in gate.design_lines(base_suite, opts, max_rounds):
        console.print(f"[dim]{line}[/dim]", highlight=False)
    sequencing = session.Sequencing(seed, max_rounds, gate.StopRule(opts) if max_rounds else None)
    code, ran = session.ab(
        base_suite,
        _suite(args, args.candidate_set),
        args.base,
        args.out_dir,
        console,
        sequencing,
        args.wait_for_cpus,
        candidate_ref=args.candidate,
    )
    if code not in (EXIT_OK, EXIT_BENCHMARK_FAILED):
        return code  # interrupted: nothing to gate
    paths = [side.results.path for side in ran.sides]
    base, cand = (load(p) for p in paths)  # a failed candidate is gated too: as a regression
    rounds = max((len(b.measured) for b in cand.benchmarks), default=0)  # measured rounds, sequential ones included
    code = _gate(base, cand, opts, args.strict, args.verdict, rounds)
    regressed = sorted(gate.regressed_benchmarks(base, cand, opts))
    if regressed and args.why:
        from harness.output import gate_report, verdict

        console.print(f"profiling one more round of each side of {', '.join(regressed)}: why", highlight=False)
        session.profile_benchmarks(ran, set(regressed), console)
        out = (args.verdict or Path("gate-verdict.json")).with_name("gate-report.html")
        drawn = gate_report.write(load(paths[0]), load(paths[1]), regressed, out)
        verdict.note(f"Differential flame graphs of {drawn} regressed benchmark(s): `{out}`")
        console.print(f"why: {out}", highlight=False)
    return code


def _gate(base, cand, opts: gate.Options, strict: bool, verdict_path: Path | None, rounds: int | None = None) -> int:
    """Decide (harness.gate), then say it (harness.output.verdict): the table on stdout and in the job
    summary, the JSON verdict; the exit code."""
    from harness import gate
    from harness.output import verdict

    decision = gate.decide(base, cand, opts, strict)
    md = verdict.markdown(decision.comparisons, base, cand, opts, decision.method, rounds, decision.design)
    print(md)
    verdict.write(decision.comparisons, md, verdict_path, decision.exit_code, opts, decision.method, rounds)
    return decision.exit_code


def cmd_gate(args, console: Console) -> int:
    from harness.record.model import load

    base = load(args.baseline)
    opts = _gate_options(args, base.suite.get("gate"))  # the thresholds the baseline's suite recorded
    return _gate(base, load(args.candidate), opts, args.strict, args.verdict)


def cmd_summary(args, console: Console) -> int:
    from harness.output import summary
    from harness.record.model import load

    summary.render(load(args.results), variance=args.variance, target_pct=100 * args.target)
    return EXIT_OK


def cmd_report(args, console: Console) -> int:
    from harness.output import report
    from harness.record.model import load

    out = Path(args.out) if args.out else Path(args.results[0]).with_suffix(".html")
    report.write_report([load(p) for p in args.results], out)
    console.print(f"report: {out}", highlight=False)
    return EXIT_OK


def cmd_publish(args, console: Console) -> int:
    from harness.output import site
    from harness.record.model import load

    paths = [Path(p) for p in args.results]
    rel = site.publish(paths, [load(p) for p in paths], args.release, Path(args.site), args.skip_damaged)
    console.print(
        f"published {args.release}: {rel / 'index.html'}; site index {Path(args.site) / 'index.html'}", highlight=False
    )
    for left in site.read_releases(Path(args.site), True)[1]:
        console.print(f"[yellow]left out (damaged):[/yellow] {left}", highlight=False)
    return EXIT_OK


def cmd_export(args, console: Console) -> int:
    from harness.record.model import load

    asked = [(x, getattr(args, x.flag.lstrip("-").replace("-", "_"))) for x in EXPORTERS]
    asked = [(x, dest) for x, dest in asked if dest]
    if not asked:
        raise HarnessError(f"export: name at least one of {', '.join(x.flag for x in EXPORTERS)}")
    doc = load(args.results)
    for exporter, dest in asked:
        console.print(exporter.write(doc, Path(dest)), highlight=False)
    return EXIT_OK


def cmd_images(args, console: Console) -> int:
    from harness import session

    return session.images(args.arch, args.runtimes, args.mirror, console)


def cmd_env(args, console: Console) -> int:
    from harness import session

    return session.env(console)


COMMANDS = {
    "run": cmd_run,
    "build": cmd_build,
    "images": cmd_images,
    "env": cmd_env,
    "summary": cmd_summary,
    "gate": cmd_gate,
    "ab": cmd_ab,
    "export": cmd_export,
    "report": cmd_report,
    "publish": cmd_publish,
}


def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: keep what finished, kill children
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    console = Console(stderr=True)
    # An interrupt always interrupts: a background job of a non-interactive shell inherits SIGINT
    # ignored, and Python then installs no handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, console)
    except HarnessError as e:
        print(f"harness: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        kill_all()
        print("harness: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
