#!/usr/bin/env python3
"""Build a release site's history from real runs of this repository's own commits, with a
method change and a planted regression, and screenshot its trend and changes pages.

Release k measures the workloads of commit k (`harness run --ref`, this harness and its load
generator: the method stays) and is published as v0.k.0. From release METHOD_AT on, the runs
use other parameters (PARAMS_AFTER: a method change the site must break its lines at). From
release PLANT_AT on, Go's spawn task does EXTRA times its work function more (a commit made
here, on no branch, on top of that release's commit; the checksum is unchanged): a real
regression the site's change points and release verdicts should find.

    .venv/bin/python scripts/site_history.py --site build/site-history [--commits SHA,...]
        [--releases 9] [--plant-at 7] [--extra 2] [--method-at 4] [--params-after spawn.tasks=30000]
        [--suite quick] [--scenarios spawn,live,http,startup] [--runtimes go,rust,java]
        [--set KEY=VALUE ...] [--shots DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.session import git_ref  # noqa: E402

SPAWN = "workloads/go/spawn.go"
TASK_WORK = "checksum.add(index, work(uint64(index), rounds))"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def planted_commit(base: str, extra: int) -> str:
    """`base` with Go's spawn task computing its work `extra` more times (a result it compares with
    an impossible value, so that no compiler drops it and the checksum stays): a commit on no branch."""
    slower = (
        f"w := work(uint64(index), rounds)\n\t\t\tif work(uint64(index)+1, {extra}*rounds) == 0 {{"
        "\n\t\t\t\tw++\n\t\t\t}\n\t\t\tchecksum.add(index, w)"
    )
    message = f"planted: Go's spawn does {extra}x more work per task"
    return git_ref.planted(base, ROOT, SPAWN, TASK_WORK, slower, message)


def harness(*args: str) -> None:
    p = subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"harness {args[0]} failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-400:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, required=True)
    ap.add_argument("--commits", default="", help="comma-separated, oldest first (default: the last RELEASES of HEAD)")
    ap.add_argument("--releases", type=int, default=9)
    ap.add_argument("--plant-at", type=int, default=7, help="the first release (1-based) with the regression")
    ap.add_argument("--extra", type=int, default=2, help="the planted task does this many times its work more")
    ap.add_argument("--method-at", type=int, default=4, help="the first release measured with --params-after")
    ap.add_argument("--params-after", default="spawn.tasks=30000", help="the method change: a suite key=value")
    ap.add_argument("--suite", default="quick")
    ap.add_argument("--scenarios", default="spawn,live,http,startup")
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--set", action="append", default=[], help="passed to every harness run")
    ap.add_argument("--shots", type=Path, default=None, help="screenshots of the trend and changes pages here")
    args = ap.parse_args()
    commits = [c for c in args.commits.split(",") if c] or git(
        "rev-list", "--first-parent", "--reverse", f"-n{args.releases}", "HEAD"
    ).split()
    if len(commits) < 2:
        raise SystemExit("need two commits at least")
    args.site.mkdir(parents=True, exist_ok=True)
    runs = args.site.parent / f"{args.site.name}-runs"
    runs.mkdir(exist_ok=True)
    for k, sha in enumerate(commits, start=1):
        planted = None
        if k >= args.plant_at:  # the regression, once landed, stays: planted on every later release's commit
            planted = planted_commit(sha, args.extra)
        ref = planted or sha
        out = runs / f"v0.{k}.0.json"
        sets = [*args.set, *([args.params_after] if k >= args.method_at else [])]
        print(f"release v0.{k}.0: {ref[:8]}{' (planted)' if ref == planted else ''} {' '.join(sets)}", flush=True)
        harness(
            "run",
            "--ref",
            ref,
            "--suite",
            args.suite,
            "--backend",
            "native",
            "--scenarios",
            args.scenarios,
            "--runtimes",
            args.runtimes,
            "--out",
            str(out),
            *(x for s in sets for x in ("--set", s)),
        )
        harness("publish", str(out), "--release", f"v0.{k}.0", "--site", str(args.site))
    print(f"site: {args.site / 'index.html'}, changes: {args.site / 'changes.html'}")
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
        check = ROOT / "scripts" / "check_report_in_chromium.py"
        for page in ("index", "changes"):
            shot = args.shots / f"site-{page}.png"
            subprocess.run([sys.executable, str(check), str(args.site / f"{page}.html"), str(shot)], check=True)
            print(f"screenshot: {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
