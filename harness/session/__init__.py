"""A session's whole life, in the files that show its jobs: prepare.py (every
check before anything is built, and the results file's header), plan.py (every
trial in order, built once), scheduler.py (each planned trial run by its kind and
recorded), rounds.py (the rounds added after the plan's: sequential, precision),
finish.py (every results file finished however the session ends, the summaries),
commands.py (`harness run`, `--resume`, `harness build`), ab.py (`harness ab`:
two sides interleaved) and machine.py (`harness env` and `images`, which are not
sessions).

Everything after the results file (summary, report, gate) reads only that file."""

from harness.session.ab import Sequencing, ab, profile_benchmarks
from harness.session.commands import build, console_log, mark_crashed_runs, resume, run
from harness.session.finish import run_sides
from harness.session.machine import env, images
from harness.session.plan import Plan, Planned, Point, sweep_points
from harness.session.prepare import Preparation, header, prepare
from harness.session.scheduler import Scheduler, Side

__all__ = [
    "Plan",
    "Planned",
    "Point",
    "Preparation",
    "Scheduler",
    "Sequencing",
    "Side",
    "ab",
    "build",
    "console_log",
    "env",
    "header",
    "images",
    "mark_crashed_runs",
    "profile_benchmarks",
    "prepare",
    "resume",
    "run",
    "run_sides",
    "sweep_points",
]
