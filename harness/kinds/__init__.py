"""How a trial runs, by kind: one small interface (base.py), one implementation per
kind, one file each (as sweet has one harness per benchmark behind four methods).
A scenario names its kind (`Scenario.trial_kind`) and its instrument's
(`instrument_kind`); the session's scheduler iterates the plan, asks the kind to
run each trial and records the typed record it returns, knowing nothing of what
the kind does.

- process: the subject's workload program, started pinned and sampled, driven by
  the scenario (a result line to read, a server to load, a start to time);
- floor: the scenario's instrument against its reference (the load generator
  against its own responder), on the workload's CPUs, recorded beside the subjects;
- build: the subject's real build commands, timed (the build scenario)."""

from __future__ import annotations

from harness.kinds.base import TrialKind, TrialRequest, refused
from harness.kinds.build import BuildTrial
from harness.kinds.floor import FloorTrial
from harness.kinds.process import ProcessTrial

KINDS: dict[str, TrialKind] = {k.name: k for k in (ProcessTrial(), FloorTrial(), BuildTrial())}

__all__ = ["KINDS", "BuildTrial", "FloorTrial", "ProcessTrial", "TrialKind", "TrialRequest", "refused"]
