"""A session's end, however it ends: every results file finished (complete,
failed, interrupted, crashed) with nothing that finished lost, no process left,
the ratios derived, and the summaries printed."""

from __future__ import annotations

import sys
import time

from rich.console import Console

from harness.backends import Prepared
from harness.errors import EXIT_BENCHMARK_FAILED, EXIT_INTERRUPTED, EXIT_OK
from harness.measure.trial import kill_all
from harness.output import summary
from harness.output.progress import Reporter
from harness.record import model
from harness.record.writer import ResultsWriteError, finite
from harness.session.plan import Plan, Point
from harness.session.rounds import StopRule
from harness.session.scheduler import Scheduler, Side
from harness.stats import ratios


def run_sides(
    sides: list[Side],
    points: list[Point],
    loadgen: Prepared | None,
    console: Console,
    plan: Plan,
    stop: StopRule | None = None,
    finished: frozenset[tuple] = frozenset(),
    far: tuple = (),
) -> int:
    """Run the plan's trials for one or more sides (skipping those already `finished`,
    when resuming); finish every results file however it ends; print the summaries."""
    ahead = [plan.bench_id(i) for i in plan.items if i.key not in finished]
    t0 = time.monotonic()
    try:
        with Reporter(console, ahead) as reporter:
            all_ok = Scheduler(sides, plan, loadgen, reporter, stop, finished, far=far).run()
    except ResultsWriteError as e:  # a full disk: what was written stays whole, the run can go on later
        kill_all()
        for side in sides:
            try:
                side.results.finish("interrupted")
            except ResultsWriteError:
                pass
        again = f"; free space, then continue with: harness run --resume {e.path}" if len(sides) == 1 else ""
        print(f"harness: {e}{again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        kill_all()
        for side in sides:
            side.results.finish("interrupted")
        kept = sum(len(b["trials"]) for side in sides for b in side.results.doc["benchmarks"])
        where = ", ".join(str(side.results.path) for side in sides)
        again = f"; continue with: harness run --resume {sides[0].results.path}" if len(sides) == 1 else ""
        print(f"harness: interrupted; {kept} finished trial(s) kept in {where}{again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        kill_all()
        for side in sides:
            side.results.finish("crashed")
        raise
    for side in sides:
        done = model.from_doc(finite(side.results.doc))
        side.results.derive(
            "ratios", [r.to_json() for bs in done.by_scenario().values() for r in ratios.of_scenario(bs)]
        )
        side.results.finish("complete" if all_ok else "failed")
    for side in sides:
        if len(sides) > 1:
            console.print(f"[bold]{side.label}[/bold]: {side.results.path}", highlight=False)
        summary.render(model.load(side.results.path))
    console.print(
        f"wall time {time.monotonic() - t0:.1f} s; results in {', '.join(str(side.results.path) for side in sides)}",
        highlight=False,
    )
    if not all_ok:
        print("harness: some trials failed (see above and the results file)", file=sys.stderr)
        return EXIT_BENCHMARK_FAILED
    return EXIT_OK
