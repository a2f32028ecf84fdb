"""How a trial runs, by kind: one small interface, one implementation per kind
(as sweet has one harness per benchmark behind four methods). A scenario names
its kind (`Scenario.trial_kind`) and its instrument's (`instrument_kind`); the
session's scheduler iterates the plan, asks the kind to run each trial and
records the typed record it returns, knowing nothing of what the kind does.

- process: the subject's workload program, started pinned and sampled, driven by
  the scenario (a result line to read, a server to load, a start to time);
- floor: the scenario's instrument against its reference (the load generator
  against its own responder), on the workload's CPUs, recorded beside the subjects;
- build: the subject's real build commands, timed (the build scenario)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.measure import memory
from harness.measure.build import build_trial
from harness.measure.host import host_load, read_proc_stat
from harness.measure.trial import Instruments, ProfileRequest, TrialSpec, run_trial
from harness.paths import ROOT
from harness.record.trial import WHOLE_RUN, TrialRecord

if TYPE_CHECKING:
    from harness.backends.base import Prepared
    from harness.subjects.scenarios.scenario import Scenario

BUILD_SCRATCH = ROOT / "build" / "scratch"  # the build kind's copies of the sources


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


class ProcessTrial(TrialKind):
    """The subject's workload program, once, driven by its scenario."""

    name = "process"
    profiles = True

    def argv(self, subject, scenario, params, workers):
        return subject.argv([scenario.program, *scenario.workload_args(params)], workers)

    def refusal(self, req: TrialRequest) -> str:
        """Its estimate, learnt from this benchmark's trials so far, does not fit in the memory available now."""
        if not req.memory_guard:
            return ""
        learnt = [v for t in req.earlier if t.ok and (v := req.scenario.learnt_per_unit(t.metrics, req.params))]
        need = memory.need(req.scenario, req.subject.runtime, req.params, learnt)
        available = memory.available_bytes(req.subject.launcher.memory_limit_bytes)
        if need is None or need.fits(available):
            return ""
        name, scenario = req.subject.runtime.name, req.scenario.name
        return f"not run: {need.describe(name, scenario, available)} (use {need.advice(available)}, or --force)"

    def run(self, req: TrialRequest) -> TrialRecord:
        profile = None
        if req.profile_dir is not None:
            window = req.scenario.profile_window(req.params)
            profile = ProfileRequest(req.profile_dir, window, window != WHOLE_RUN, req.subject.runtime.profile_reader)
        return run_trial(
            TrialSpec(
                req.benchmark_id,
                self.argv(req.subject, req.scenario, req.params, req.workers),
                dict(req.subject.settings.get("env", {})),
                req.cpus,
                req.scenario,
                req.params,
                req.scenario.sampling_interval_ms(req.params, req.sampling_interval_ms),
                req.series_points,
                req.timeout_s,
                req.subject.launcher,
                req.instruments,
                req.observer,
                profile,
            )
        )


class FloorTrial(TrialKind):
    """The scenario's instrument against its reference, where the subjects run: what the instrument
    adds by itself, measured every round beside them (the subject is the load generator)."""

    name = "floor"

    def argv(self, subject, scenario, params, workers):
        prefix = subject.runtime.launch(subject.built.artifact_dir, 0, {}, None)
        return scenario.floor_argv(prefix, workers)

    def run(self, req: TrialRequest) -> TrialRecord:
        params = req.scenario.floor_params(req.params)
        return run_trial(
            TrialSpec(
                req.benchmark_id,
                self.argv(req.subject, req.scenario, params, req.workers),
                {},
                req.cpus,
                req.scenario,
                params,
                req.scenario.sampling_interval_ms(params, req.sampling_interval_ms),
                req.series_points,
                req.timeout_s,
                req.subject.launcher,
                req.instruments,
                req.observer,
            )
        )


class BuildTrial(TrialKind):
    """The subject's build, timed: clean (a fresh copy, empty caches) and/or incremental (one line
    changed in a warm copy), as the scenario's `clean` and `incremental` ask; and the bytes it made."""

    name = "build"
    repeatable = False  # a build's noise is its own: the next build of the same copy is another trial

    def run(self, req: TrialRequest) -> TrialRecord:
        p = req.subject
        if req.observer is not None:
            req.observer.phase("building (clean, then one line changed)")
        scratch = BUILD_SCRATCH / f"{p.runtime.name}-{p.built.to_json().get('cache_key', 'x')}"
        before = read_proc_stat()
        record = build_trial(
            p.runtime, p.toolchain, req.cpus, scratch, req.params["clean"], req.params["incremental"], req.timeout_s
        )
        record.host_load = host_load(before, read_proc_stat(), req.cpus)
        if record.ok:
            fp = record.footprint or {}
            record.metrics.update(program_bytes=fp.get("program_bytes"), total_bytes=fp.get("total_bytes"))
        return record


KINDS: dict[str, TrialKind] = {k.name: k for k in (ProcessTrial(), FloorTrial(), BuildTrial())}


def refused(why: str) -> TrialRecord:
    """The record of a trial that was not started."""
    return TrialRecord(ok=False, error=why, started_at=time.time())
