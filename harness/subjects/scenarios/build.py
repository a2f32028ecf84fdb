"""build: what a subject's build costs and what it makes (the white paper's
build and binary-size rows): the wall and CPU time of a clean build (a fresh
copy of the sources, empty build caches, dependencies already downloaded) and
of an incremental one (one line of one source file changed), and the bytes of
what ships, each beside the build flags that made it (sizes move 2-3x with
flags: a size without its flags is meaningless).

The trial is the build itself (harness.measure.build), run natively on the
trial's CPUs; the docker backend's images are cached by content and not timed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.record.metrics import Metric
from harness.record.units import fmt_value
from harness.record.views import Cell, Table
from harness.subjects.scenarios.scenario import Scenario
from harness.suitekeys import Key

if TYPE_CHECKING:
    from harness.record.model import Benchmark


class Build(Scenario):
    name = "build"
    trial_kind = "build"  # its trial is the subject's build, timed (harness.kinds.BuildTrial)
    needs_native = True
    suite_keys = {
        "clean": Key(bool, True),  # time a clean build in every trial (else only the incremental one, warm)
        "incremental": Key(bool, True),  # change one line and time the rebuild
    }
    metrics = (
        Metric("clean_build_s", "clean build, wall time", "s", "lower"),
        Metric("incremental_build_s", "incremental build (one line changed), wall time", "s", "lower"),
        Metric(
            "clean_build_cpu_s",
            "clean build, CPU time of every process",
            "s",
            "lower",
            headline=False,
            shown=True,
            steal_free=True,
        ),
        Metric(
            "incremental_build_cpu_s",
            "incremental build, CPU time",
            "s",
            "lower",
            headline=False,
            shown=True,
            steal_free=True,
        ),
        Metric("program_bytes", "what the build made (binary, or jar + libraries)", "B", "lower", steal_free=True),
        Metric("total_bytes", "what ships (the program and the runtime it needs)", "B", "lower", steal_free=True),
    )
    notes = (
        "build times are pinned to the trial's CPUs like every trial (W CPUs; cpus.workload): a build on more "
        "cores is faster",
    )

    def tables(self, benches: list[Benchmark], floor: Benchmark | None) -> list[Table]:
        """What ships, by subject, with the flags beside each size."""
        if not benches:
            return []
        table = Table(
            "what each build made, and its flags",
            ["subject", "program", "with its runtime", "flags"],
            caption="Bytes on disk of the build's output (median over trials) and what it needs beside it to run; "
            "the flags are what this subject's build sets beyond the defaults.",
            anchor="build-sizes",
        )
        for b in benches:
            flags = b.build_flags
            text = ", ".join(f"{k}={v}" for k, v in flags.items()) or "defaults"
            s_prog, s_total = b.summary.get("program_bytes") or {}, b.summary.get("total_bytes") or {}
            table.rows.append(
                (
                    b.runtime,
                    [
                        Cell(fmt_value(s_prog.get("median"), "B")),
                        Cell(fmt_value(s_total.get("median"), "B")),
                        Cell(text),
                    ],
                )
            )
        return [table]
