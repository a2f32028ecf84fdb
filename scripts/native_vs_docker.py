"""What a container costs: the same suite run natively and in Docker, trials
interleaved round by round (native go, docker go, native rust, ...), same CPU
plan, two results files. Prints per runtime and metric the two medians and the
median of the per-round docker/native ratios.

  .venv/bin/python scripts/native_vs_docker.py --trials 5            # spawn, live at 10^6 tasks
  .venv/bin/python scripts/native_vs_docker.py --trials 3 --set spawn.tasks=20000

Note: the two sides differ in toolchain too (host Go/Rust/JDK vs Debian 13's
in the images); both versions are printed and are in the results files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402

from harness import config, session  # noqa: E402
from harness.output.progress import Reporter  # noqa: E402
from harness.record import stats  # noqa: E402
from harness.record.writer import ResultsFile  # noqa: E402

METRICS = {
    "spawn": ("tasks_per_sec", "peak_rss_bytes", "latency_mean_ns"),
    "live": ("bytes_per_task", "time_to_plateau_ns"),
}


def by_round(b: dict, m: str) -> dict[int, float]:
    return {t["round"]: t["metrics"][m] for t in stats.measured_trials(b) if t["metrics"].get(m)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--runtimes", default="go,rust,java")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--out-dir", default="results")
    a = ap.parse_args()
    suite = config.restrict(config.load_suite("default", a.set), a.runtimes.split(","), ["spawn", "live"], a.trials)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    sides, preps = [], [session.prepare(suite, name, None, print) for name in ("native", "docker")]
    for prep in preps:
        prepared = prep.backend.build_all(prep.found, suite, print)
        path = Path(a.out_dir) / f"native-vs-docker-{stamp}-{prep.backend.name}.json"
        sides.append(
            session.Side(
                prep.backend.name,
                suite,
                prepared,
                ResultsFile(path, session.header(prep, suite, prep.git, prepared, None)),
            )
        )
    # the two backends as the two sides of one session: round by round, runtime by runtime, native then docker
    plan = session.Plan(suite, len(sides), preps[0].points, has_floor=False)
    reporter = Reporter(Console(stderr=True), [plan.bench_id(i) for i in plan.items], interactive=False)
    try:
        ok = session.Scheduler(sides, plan, None, reporter).run()
    finally:
        for side in sides:
            side.results.finish("complete")
        preps[1].backend.close()
    print(f"\n{'benchmark':<12} {'metric':<20} {'native':>12} {'docker':>12} {'docker/native (per round)':>27}")
    native, docker = ({b["id"]: b for b in s.results.doc["benchmarks"]} for s in sides)
    for bid, nb in native.items():
        db = docker[bid]
        for m in METRICS[nb["scenario"]]:
            n, d = by_round(nb, m), by_round(db, m)
            ratios = [d[r] / n[r] for r in sorted(set(n) & set(d))]
            if not ratios:
                continue
            print(
                f"{bid:<12} {m:<20} {statistics.median(n.values()):>12.4g} {statistics.median(d.values()):>12.4g} "
                f"{statistics.median(ratios):>10.3f} [{min(ratios):.3f}, {max(ratios):.3f}]"
            )
    for side in sides:  # a native-vs-docker ratio compares toolchains as much as backends
        tcs = side.results.doc.get("toolchains") or {}
        print(f"toolchains ({side.label}):", "; ".join(f"{n} {(t or {}).get('version')}" for n, t in tcs.items()))
    print("results:", ", ".join(str(s.results.path) for s in sides))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
