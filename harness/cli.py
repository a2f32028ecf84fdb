"""Command line: harness run | build | env | summary.

Exit codes: 0 ok, 1 a benchmark failed, 2 bad input or environment,
130 interrupted. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from harness import config, host, results, runtimes, scenarios, session, summary, toolchains
from harness.errors import EXIT_BAD_INPUT, EXIT_BENCHMARK_FAILED, EXIT_INTERRUPTED, EXIT_OK, HarnessError
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

    sub.add_parser("env", help="what this machine has: toolchains, docker, CPUs, limits")

    s = sub.add_parser("summary", help="print the terminal summary of a results file")
    s.add_argument("results", help="a results JSON file")
    return p


def _load_suite(args) -> config.Suite:
    suite = config.load_suite(args.suite, args.set)
    runtimes_list = _csv(None, "runtimes")(args.runtimes) if args.runtimes else None
    scenarios_list = _csv(config.SCENARIOS, "scenarios")(args.scenarios) if getattr(args, "scenarios", None) else None
    trials = getattr(args, "trials", None)
    if trials is not None and trials < 1:
        raise HarnessError(f"--trials must be at least 1, got {trials}")
    return config.restrict(suite, runtimes_list, scenarios_list, trials)


def cmd_run(args, console: Console) -> int:
    suite = _load_suite(args)
    arch = args.arch or host.native_arch()
    backend, plan, git, path, found, limit_warnings = session.prepare_run(suite, args.backend, arch, args.out,
                                                                          RESULTS_DIR)
    if args.backend == "auto":
        console.print(f"[dim]backend auto: picked {backend}[/dim]", highlight=False)
    for w in plan.warnings() + limit_warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    prepared = session.build_all(found, suite, lambda m: console.print(f"[dim]{m}[/dim]", highlight=False))
    loadgen = prepared.pop("loadgen", None)
    header = {
        "command": sys.argv, "backend": backend, "arch": arch, "emulated": arch != host.native_arch(),
        "host": host.host_facts(arch), "git": git, "suite": suite.to_json(), "cpu_plan": plan.to_json(),
        "toolchains": {n: (p.toolchain.to_json() if p.toolchain else None) for n, p in prepared.items()},
        "loadgen": loadgen.built.to_json() if loadgen else None,
    }
    out = results.ResultsFile(path, header)
    for w in plan.warnings() + limit_warnings:
        out.warn(w)
    console.print(f"results file: {path}", highlight=False)
    total = len(suite.scenarios) * len(prepared) * (suite["trials"]["warmup"] + suite["trials"]["count"])
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
        all_ok = session.run_session(suite, prepared, plan, out, progress, loadgen)
    except KeyboardInterrupt:
        kill_all()
        out.finish("interrupted")
        kept = sum(len(b["trials"]) for b in out.doc["benchmarks"])
        print(f"harness: interrupted; {kept} finished trial(s) kept in {path}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        kill_all()
        out.finish("crashed")
        raise
    out.finish("complete" if all_ok else "failed")
    summary.render(out.doc)
    console.print(f"wall time {time.monotonic() - t0:.1f} s; results in {path}", highlight=False)
    if not all_ok:
        print(f"harness: some trials failed (see above and {path})", file=sys.stderr)
        return EXIT_BENCHMARK_FAILED
    return EXIT_OK


def cmd_build(args, console: Console) -> int:
    suite = _load_suite(args)
    found = session.discover(suite)
    if "http" in suite.scenarios:
        found["loadgen"] = (runtimes.LOADGEN, toolchains.find("cargo"))
    session.build_all(found, suite, lambda m: console.print(m, highlight=False))
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
            if rt_name == "java" and "mvn" not in tc.paths:
                missing.setdefault(rt_name, []).append("Maven (mvn)")
        except HarnessError as e:
            console.print(f"{rt_name}: [red]missing[/red] — {e}", highlight=False)
            missing.setdefault(rt_name, []).append(str(e))
    docker = shutil.which("docker")
    console.print(f"docker CLI: {docker or 'not found'} (docker backend: not in this version)", highlight=False)
    lim = host.limits()
    console.print(f"open files: soft {lim['nofile_soft']}, hard {lim['nofile_hard']}; somaxconn "
                  f"{lim['somaxconn']}; local port range {lim['ip_local_port_range']}", highlight=False)
    for scenario in config.SCENARIOS:
        if scenario not in scenarios.SCENARIOS:
            console.print(f"scenario {scenario}: not available in this version", highlight=False)
        elif missing:
            console.print(f"scenario {scenario}: runs for {', '.join(r for r in runtimes.RUNTIMES if r not in missing)}; "
                          f"missing for {', '.join(missing)}", highlight=False)
        else:
            console.print(f"scenario {scenario}: ready for {', '.join(runtimes.RUNTIMES)}", highlight=False)
    return EXIT_OK


def cmd_summary(args, console: Console) -> int:
    summary.render(results.load(args.results))
    return EXIT_OK


COMMANDS = {"run": cmd_run, "build": cmd_build, "env": cmd_env, "summary": cmd_summary}


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
