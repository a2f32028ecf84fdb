"""What every trial kind is (run, refuse, the command it runs) and what it is given."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.measure.trial import Instruments
from harness.record.trial import TrialRecord

if TYPE_CHECKING:
    from harness.backends.base import Prepared
    from harness.subjects.scenarios.scenario import Scenario


@dataclass(frozen=True)
class TrialRequest:
    """Everything one planned trial needs, gathered by the scheduler from the plan and its side."""

    benchmark_id: str
    scenario: Scenario
    params: dict  # the scenario's parameters at this trial's sweep point
    cpus: list[int]  # the workload's
    workers: int
    subject: Prepared  # what runs: a subject's build, or (floor) the load generator's
    sampling_interval_ms: float  # the suite's default (a scenario may ask for its own)
    series_points: int
    timeout_s: float
    instruments: Instruments = Instruments()
    observer: Any = None  # the progress display: attach(trial), phase(text)
    profile_dir: Path | None = None  # a profiled trial: where its profiler's files go
    memory_guard: bool = True
    round: int = 0  # the plan's round (a per-round layout varies with it)
    earlier: tuple[TrialRecord, ...] = ()  # this benchmark's trials so far (the memory guard learns from them)


class TrialKind(ABC):
    name: str
    repeatable = True  # a trial marked noisy may be run again (suite noise.repeat_noisy)
    profiles = False  # a profiled trial can be asked of it (harness run --profile)

    def argv(self, subject: Prepared, scenario: Scenario, params: dict, workers: int) -> list[str]:
        """The exact command one trial runs (recorded with its benchmark); [] where it is not one program."""
        return []

    def refusal(self, req: TrialRequest) -> str:
        """Why this trial must not start (e.g. it would not fit in memory), or ""."""
        return ""

    @abstractmethod
    def run(self, req: TrialRequest) -> TrialRecord: ...


def refused(why: str) -> TrialRecord:
    """The record of a trial that was not started."""
    return TrialRecord(ok=False, error=why, started_at=time.time())
