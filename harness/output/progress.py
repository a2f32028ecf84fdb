"""What a run shows while it runs: an overall bar (trials done of all planned,
an ETA learnt from the trials so far), the current trial's phase (spawning,
plateau, http stage k of n and its achieved rate, saturate, release) and the
workload's live RSS. On a terminal it is one rich live display; otherwise (CI
logs) plain lines: one when a trial starts, one per phase, one when it ends."""

from __future__ import annotations

import statistics
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from harness.record.trial import TrialRecord


def _fmt_s(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


class Reporter:
    """Fed by the session: `planned` is the benchmark id of every trial to come, in order."""

    def __init__(self, console: Console, planned: list[str], interactive: bool | None = None) -> None:
        self.console = console
        self.interactive = console.is_terminal if interactive is None else interactive
        self.planned = list(planned)
        self.done = 0
        self.durations: dict[str, list[float]] = {}
        self.label = ""
        self.phase_text = ""
        self.started = 0.0
        self.trial: Any = None  # the running TrialProcess, for its live RSS
        self.running = False
        self.failed = 0
        self._bar = Progress(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task("trials", total=len(self.planned), eta="")
        self._live: Live | None = None

    # --- the session's calls ------------------------------------------------------------

    def __enter__(self) -> Reporter:
        if self.interactive:
            self._live = Live(
                self._render(), console=self.console, refresh_per_second=4, transient=True, get_renderable=self._render
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live:
            self._live.__exit__(*exc)
            self._live = None

    def extend(self, bench_ids: list[str]) -> None:
        """A sequential A/B added a round."""
        self.planned.extend(bench_ids)

    def trial_started(self, label: str, trial: Any = None) -> None:
        self.label, self.phase_text, self.started, self.trial = label, "starting", time.monotonic(), trial
        self.running = True
        if not self.interactive:
            self.console.print(
                f"[dim][{self.done + 1}/{len(self.planned)}] {label} ...{self._eta_text()}[/dim]", highlight=False
            )

    def attach(self, trial: Any) -> None:
        self.trial = trial

    def phase(self, text: str) -> None:
        self.phase_text = text
        if not self.interactive:
            self.console.print(f"[dim]    {text}[/dim]", highlight=False)

    def trial_finished(self, bench_id: str, record: TrialRecord) -> None:
        self.durations.setdefault(bench_id, []).append(time.monotonic() - self.started)
        self.done += 1
        self.trial = None
        self.running = False
        if not record.ok:
            self.failed += 1
            self.console.print(f"[red]  {self.label} failed: {record.error}[/red]", highlight=False)
        elif not self.interactive:
            self.console.print(f"[dim]    done in {self.durations[bench_id][-1]:.1f} s[/dim]", highlight=False)

    # --- what is shown ---------------------------------------------------------------------

    def eta_s(self) -> float | None:
        """Time left: each remaining trial costs what its benchmark's trials took so far
        (or, for one not yet seen, the median of all trials so far)."""
        seen = [d for ds in self.durations.values() for d in ds]
        if not seen:
            return None
        fallback = statistics.median(seen)
        now_running = self.running and self.done < len(self.planned)
        left = self.planned[self.done + (1 if now_running else 0) :]
        running = 0.0
        if now_running:
            expected = statistics.median(self.durations.get(self.planned[self.done], seen))
            running = max(0.0, expected - (time.monotonic() - self.started))
        return running + sum(statistics.median(self.durations[b]) if b in self.durations else fallback for b in left)

    def _eta_text(self) -> str:
        eta = self.eta_s()
        return "" if eta is None else f" (about {_fmt_s(eta)} left)"

    def _render(self):
        self._bar.update(self._task, completed=self.done, total=len(self.planned), eta=self._eta_text().strip())
        line = Text.assemble((f"{self.label}", "bold"), "  ", (self.phase_text, "cyan"))
        rss = self._live_rss()
        if rss is not None:
            line.append(f"  RSS {rss / 2**20:,.0f} MiB", style="magenta")
        if self.trial is not None and self.started:
            line.append(f"  {time.monotonic() - self.started:.0f} s", style="dim")
        return Group(self._bar, line)

    def _live_rss(self) -> int | None:
        sampler = getattr(self.trial, "sampler", None)
        samples = getattr(sampler, "samples", None)
        return samples[-1].rss if samples else None
