"""Command line: harness run | build | env | summary.

Exit codes: 0 ok, 1 a benchmark failed, 2 bad input or environment,
130 interrupted. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from harness import config, host, results, runtimes, scenarios, session, summary, toolchains
from harness.errors import EXIT_BENCHMARK_FAILED, EXIT_INTERRUPTED, EXIT_OK, HarnessError
from harness.runner import kill_all

RESULTS_DIR = runtimes.ROOT / "results"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise HarnessError(f"{message} (see harness {self.prog.split()[-1]} --help)")


def _csv(allowed: tuple[str, ...] | None, what: str):
    def parse(text: str) -> list[str]:
        items = [x.strip() for x in text.split(",") if x.strip()]
        if not items:
            raise HarnessError(f"--{what} needs at least one name")
        if allowed:
            bad = [x for x in items if x not in allowed]
            if bad:
                raise HarnessError(f"unknown {what[:-1]} '{bad[0]}': use {', '.join(allowed)}")
        return items
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="harness", description="Go goroutines vs Rust tokio vs Java virtual threads, measured.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    def suite_args(sp):
        sp.add_argument("--suite", default="default", help="built-in suite name (default, quick) or a TOML file")
        sp.add_argument("--runtimes", type=str, help="comma list, e.g. go,rust,java")
        sp.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one suite key, e.g. spawn.tasks=1000 (repeatable)")

    run = sub.add_parser("run", help="build, run every trial, write the results file, print the summary")
    suite_args(run)
    run.add_argument("--scenarios", type=str, help="comma list of spawn,live,http")
    run.add_argument("--trials", type=int, help="measured trials per benchmark (after warm-up)")
    run.add_argument("--backend", choices=("native", "docker", "auto"), default="auto")
    run.add_argument("--arch", choices=("amd64", "arm64"), default=None)
    run.add_argument("--out", help="results file (default results/<timestamp>-<arch>-<sha>.json)")

    b = sub.add_parser("build", help="build (or find cached) every workload of the suite")
    suite_args(b)
    b.add_argument("--backend", choices=("native", "docker", "auto"), default="auto")
    b.add_argument("--arch", choices=("amd64", "arm64"), default=None)

    im = sub.add_parser("images", help="container base images for hosts without a registry")
    im_sub = im.add_subparsers(dest="images_command", required=True, parser_class=_ArgumentParser)
    boot = im_sub.add_parser("bootstrap", help="build Debian toolchain and runtime base images (mmdebstrap | import)")
    boot.add_argument("--arch", choices=("amd64", "arm64"), default=None, help="target architecture of the runtime "
                      "images (toolchain images are always the engine's own: they cross-compile)")
    boot.add_argument("--runtimes", type=str, help="comma list (default go,rust,java and the load generator)")
    boot.add_argument("--mirror", default=None, help="Debian mirror (default http://deb.debian.org/debian)")

    sub.add_parser("env", help="what this machine has: toolchains, docker, CPUs, limits")

    s = sub.add_parser("summary", help="print the terminal summary of a results file")
    s.add_argument("results", help="a results JSON file")

    def gate_args(sp):
        sp.add_argument("--threshold", default="5%", help="smallest change that counts, in the bad direction")
        sp.add_argument("--alpha", type=float, default=0.05, help="significance level of the Mann-Whitney U test")
        sp.add_argument("--strict", action="store_true", help="insufficient data fails the gate")
        sp.add_argument("--force", action="store_true", help="compare even results that are not comparable")
        sp.add_argument("--all-metrics", action="store_true", help="gate every metric, not only headline ones")
        sp.add_argument("--verdict", default=None, help="write the JSON verdict here")

    g = sub.add_parser("gate", help="regression gate: baseline vs candidate results file")
    g.add_argument("--baseline", required=True)
    g.add_argument("--candidate", required=True)
    gate_args(g)

    ab = sub.add_parser("ab", help="build GIT_REF and the working tree, interleave their trials, gate")
    suite_args(ab)
    ab.add_argument("--base", required=True, metavar="GIT_REF")
    ab.add_argument("--scenarios", type=str)
    ab.add_argument("--trials", type=int)
    ab.add_argument("--candidate-set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a suite key on the candidate side only (calibration: inject a known slowdown)")
    ab.add_argument("--out-dir", default=None, help="where the two results files go (default results/)")
    gate_args(ab)

    r = sub.add_parser("report", help="a self-contained HTML report from one or more results files")
    r.add_argument("results", nargs="+", help="results JSON files (several render side by side)")
    r.add_argument("--out", default=None, help="HTML file (default: the first results file with .html)")

    pub = sub.add_parser("publish", help="add a release's report and results to a static site")
    pub.add_argument("results", nargs="+")
    pub.add_argument("--release", required=True, metavar="vX.Y.Z")
    pub.add_argument("--site", required=True, metavar="DIR")

    e = sub.add_parser("export", help="export a results file to another format")
    e.add_argument("results")
    e.add_argument("--pyperf", required=True, metavar="OUT.json", help="pyperf JSON (pyperf compare_to, stats)")
    return p


def _load_suite(args) -> config.Suite:
    suite = config.load_suite(args.suite, args.set)
    runtimes_list = _csv(None, "runtimes")(args.runtimes) if args.runtimes else None
    scenarios_list = _csv(config.SCENARIOS, "scenarios")(args.scenarios) if getattr(args, "scenarios", None) else None
    trials = getattr(args, "trials", None)
    if trials is not None and trials < 1:
        raise HarnessError(f"--trials must be at least 1, got {trials}")
    return config.restrict(suite, runtimes_list, scenarios_list, trials)


def _header(suite, backend, arch, git, plan, prepared, loadgen) -> dict:
    docker = backend.facts()
    # emulated: the target differs from the architecture of the machine that runs it
    runs_on = docker["arch"] if docker else host.native_arch()
    return {
        "command": sys.argv, "backend": backend.name, "arch": arch, "emulated": arch != runs_on,
        "host": host.host_facts(arch, runs_on), "docker": docker, "git": git, "suite": suite.to_json(),
        "cpu_plan": plan.to_json(),
        "toolchains": {n: (p.toolchain.to_json() if p.toolchain else None) for n, p in prepared.items()},
        "loadgen": loadgen.built.to_json() if loadgen else None,
    }


def _run_sides(sides: list[session.Side], plan, loadgen, console: Console) -> int:
    """Run the trials of one or more sides; finish every results file however it ends."""
    suite = sides[0].suite
    total = len(sides) * len(suite.scenarios) * len(suite.runtimes) * (suite["trials"]["warmup"] + suite["trials"]["count"])
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
        all_ok = session.run_session(sides, plan, progress, loadgen)
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
        summary.render(side.results.doc)
    console.print(f"wall time {time.monotonic() - t0:.1f} s; results in "
                  f"{', '.join(str(side.results.path) for side in sides)}", highlight=False)
    if not all_ok:
        print("harness: some trials failed (see above and the results file)", file=sys.stderr)
        return EXIT_BENCHMARK_FAILED
    return EXIT_OK


def _log(console: Console):
    return lambda m: console.print(f"[dim]{m}[/dim]", highlight=False)


def cmd_run(args, console: Console) -> int:
    suite = _load_suite(args)
    arch = args.arch or host.native_arch()
    backend, plan, git, path, found, limit_warnings = session.prepare_run(suite, args.backend, arch, args.out,
                                                                          RESULTS_DIR)
    _say_backend(args.backend, backend, arch, console)
    for w in plan.warnings() + limit_warnings + getattr(backend, "notes", []):
        console.print(f"[yellow]warning:[/yellow] {w}")
    try:
        prepared = backend.build_all(found, suite, _log(console))
        loadgen = prepared.pop("loadgen", None)
        out = results.ResultsFile(path, _header(suite, backend, arch, git, plan, prepared, loadgen))
        for w in plan.warnings() + limit_warnings:
            out.warn(w)
        console.print(f"results file: {path}", highlight=False)
        return _run_sides([session.Side("run", suite, prepared, out)], plan, loadgen, console)
    finally:
        backend.close()


def _say_backend(asked: str, backend, arch: str, console: Console) -> None:
    facts = backend.facts()
    where = f" (engine {facts['engine_hostname']} at {facts['docker_host']}, {facts['arch']})" if facts else ""
    emulated = " [bold red]under qemu emulation[/bold red]" if facts and facts["arch"] != arch else ""
    picked = "backend auto: picked" if asked == "auto" else "backend"
    console.print(f"{picked} {backend.name}{where}; arch {arch}{emulated}", highlight=False)


def cmd_ab(args, console: Console) -> int:
    """Base ref vs working tree, built separately, trials interleaved in one session, then gated."""
    from harness import abtest

    suite = _load_suite(args)
    cand_suite = config.restrict(config.load_suite(args.suite, [*args.set, *args.candidate_set]),
                                 suite.runtimes, suite.scenarios, suite["trials"]["count"])
    arch = host.native_arch()
    backend, plan, git, _, found, limit_warnings = session.prepare_run(suite, "native", arch, None, RESULTS_DIR)
    # (A/B builds the base ref natively; a docker A/B would need both trees' images)
    base_sha, base_tree = abtest.checkout(args.base, runtimes.ROOT)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out_dir = Path(args.out_dir) if args.out_dir else RESULTS_DIR
    paths = {lbl: out_dir / f"ab-{stamp}-{lbl}.json" for lbl in ("base", "candidate")}
    results.check_writable(paths["base"])
    for w in plan.warnings() + limit_warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    cand_prepared = backend.build_all(found, cand_suite, _log(console))
    loadgen = cand_prepared.pop("loadgen", None)
    base_found = {n: (runtimes.at_tree(rt, base_tree), tc) for n, (rt, tc) in found.items() if n != "loadgen"}
    base_prepared = backend.build_all(base_found, suite, _log(console))
    base_git = {"sha": base_sha, "short_sha": base_sha[:8], "dirty": False, "ref": args.base}
    sides = [session.Side("base", suite, base_prepared, results.ResultsFile(
                 paths["base"], _header(suite, backend, arch, base_git, plan, base_prepared, loadgen))),
             session.Side("candidate", cand_suite, cand_prepared, results.ResultsFile(
                 paths["candidate"], _header(cand_suite, backend, arch, git, plan, cand_prepared, loadgen)))]
    code = _run_sides(sides, plan, loadgen, console)
    if code != EXIT_OK:
        return code
    ignore = {item.partition("=")[0].strip() for item in args.candidate_set}
    return _gate_and_report(sides[0].results.doc, sides[1].results.doc, args, ignore)


def _threshold(text: str) -> float:
    t = text.strip().rstrip("%")
    try:
        value = float(t) / 100 if text.strip().endswith("%") or float(t) >= 1 else float(t)
    except ValueError:
        raise HarnessError(f"--threshold {text!r}: write a percentage such as 5% or 0.05") from None
    if not 0 <= value < 10:
        raise HarnessError(f"--threshold {text!r} is out of range")
    return value


def _gate_and_report(base: dict, cand: dict, args, ignore_params: set[str] = frozenset()) -> int:
    from harness import gate

    threshold = _threshold(args.threshold)
    if not 0 < args.alpha < 1:
        raise HarnessError(f"--alpha must be between 0 and 1, got {args.alpha}")
    comparisons = gate.gate(base, cand, threshold, args.alpha, args.force, args.all_metrics, ignore_params)
    code = gate.exit_code(comparisons, args.strict)
    md = gate.markdown(comparisons, threshold, args.alpha)
    print(md)
    gate.write_outputs(comparisons, md, Path(args.verdict) if args.verdict else None, code, threshold, args.alpha)
    return code


def cmd_gate(args, console: Console) -> int:
    return _gate_and_report(results.load(args.baseline), results.load(args.candidate), args)


def cmd_report(args, console: Console) -> int:
    from harness import report

    docs = [results.load(p) for p in args.results]
    out = Path(args.out) if args.out else Path(args.results[0]).with_suffix(".html")
    report.write_report(docs, out)
    console.print(f"report: {out}", highlight=False)
    return EXIT_OK


def cmd_publish(args, console: Console) -> int:
    from harness import report

    paths = [Path(p) for p in args.results]
    docs = [results.load(p) for p in paths]
    rel = report.publish(paths, docs, args.release, Path(args.site))
    console.print(f"published {args.release}: {rel / 'index.html'}; site index {Path(args.site) / 'index.html'}",
                  highlight=False)
    return EXIT_OK


def cmd_export(args, console: Console) -> int:
    from harness import export

    n = export.to_pyperf(results.load(args.results), Path(args.pyperf))
    console.print(f"wrote {n} pyperf benchmark(s) to {args.pyperf}", highlight=False)
    return EXIT_OK


def cmd_build(args, console: Console) -> int:
    suite = _load_suite(args)
    arch = args.arch or host.native_arch()
    backend = session.select_backend(args.backend, arch, suite)
    _say_backend(args.backend, backend, arch, console)
    backend.build_all(backend.discover(suite), suite, lambda m: console.print(m, highlight=False))
    return EXIT_OK


def cmd_images(args, console: Console) -> int:
    from harness import containers, images

    engine = containers.require()
    arch = args.arch or engine.arch
    names = _csv(tuple(runtimes.RUNTIMES) + ("loadgen",), "runtimes")(args.runtimes) if args.runtimes \
        else [*runtimes.RUNTIMES, "loadgen"]
    rts = [runtimes.LOADGEN if n == "loadgen" else runtimes.RUNTIMES[n] for n in names]
    wanted = {(images.BASES[b], engine.arch if rt.image.engine_arch_only or images.BASES[b].role == "toolchain"
               else arch) for rt in rts for b in rt.image.bases.values()}
    needed = [images.Needed(base, a) for base, a in sorted(wanted, key=lambda x: (x[0].name, x[1]))]
    t0 = time.monotonic()
    made = images.bootstrap(engine.client, needed, lambda m: console.print(m, highlight=False),
                            args.mirror or images.DEFAULT_MIRROR)
    total = sum(m["size_bytes"] or 0 for m in made)
    console.print(f"{len(made)} base image(s), {total / 2**20:.0f} MiB in all, in {time.monotonic() - t0:.0f} s; "
                  "docker builds of the workloads now use them", highlight=False)
    return EXIT_OK


def cmd_env(args, console: Console) -> int:
    import shutil

    console.print(f"arch: {host.native_arch()} ({host.cpu_model()}), CPUs this process may use: "
                  f"{sorted(os.sched_getaffinity(0))}", highlight=False)
    missing: dict[str, list[str]] = {}
    for rt_name, rt in runtimes.RUNTIMES.items():
        try:
            tc = toolchains.find(rt.toolchain)
            extra = f" ({tc.paths['java_home']})" if "java_home" in tc.paths else ""
            console.print(f"{rt_name}: {tc.version}{extra}", highlight=False)
            rt.build_steps(tc, Path("/OUT"), rt.source)  # the descriptor names missing build tools (e.g. mvn)
        except HarnessError as e:
            console.print(f"{rt_name}: [red]missing[/red] — {e}", highlight=False)
            missing.setdefault(rt_name, []).append(str(e))
    from harness import containers

    engine = containers.connect()
    if engine:
        f = engine.facts()
        console.print(f"docker engine: {f['server_version']} on {f['engine_hostname']} ({f['arch']}, {f['cpus']} CPUs) "
                      f"at {f['docker_host']}; arm64 emulation: "
                      f"{'yes' if containers.emulation_available('arm64') else 'no'}", highlight=False)
    else:
        console.print("docker engine: none answers (the docker backend needs one; mmdebstrap: "
                      f"{'yes' if shutil.which('mmdebstrap') else 'no'})", highlight=False)
    lim = host.limits()
    console.print(f"open files: soft {lim['nofile_soft']}, hard {lim['nofile_hard']}; somaxconn "
                  f"{lim['somaxconn']}; local port range {lim['ip_local_port_range']}", highlight=False)
    for scenario in scenarios.SCENARIOS:
        if missing:
            console.print(f"scenario {scenario}: runs for {', '.join(r for r in runtimes.RUNTIMES if r not in missing)}; "
                          f"missing for {', '.join(missing)}", highlight=False)
        else:
            console.print(f"scenario {scenario}: ready for {', '.join(runtimes.RUNTIMES)}", highlight=False)
    return EXIT_OK


def cmd_summary(args, console: Console) -> int:
    summary.render(results.load(args.results))
    return EXIT_OK


COMMANDS = {"run": cmd_run, "build": cmd_build, "images": cmd_images, "env": cmd_env, "summary": cmd_summary, "gate": cmd_gate,
            "ab": cmd_ab, "export": cmd_export, "report": cmd_report, "publish": cmd_publish}


def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: keep what finished, kill children
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    console = Console(stderr=True)
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
