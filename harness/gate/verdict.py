"""The gate's verdicts as types (as criterion's ComparisonResult and benchstat's
warnings carry theirs): what was decided, and why, with the reason as data that
the stop rule and the exit code read, never as a string to be parsed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Verdict(StrEnum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    NO_CHANGE = "no change"
    UNDECIDED = "undecided"
    INSUFFICIENT = "insufficient data"
    MISSING = "missing"

    @property
    def decided(self) -> bool:
        """A final answer about the change (more rounds would not be asked for)."""
        return self in (Verdict.REGRESSION, Verdict.IMPROVEMENT, Verdict.NO_CHANGE, Verdict.MISSING)


class Why(Enum):
    """Why a comparison is what it is, beyond its interval and p."""

    CANDIDATE_FAILED = "candidate failed"  # the baseline's trials passed, the candidate's did not
    BASELINE_FAILED = "baseline failed"  # nothing measured to compare with
    MISSING = "missing"  # the candidate has no such benchmark
    CANDIDATE_INCOMPARABLE = "candidate incomparable"  # measured under other conditions (overloaded)
    BASELINE_INCOMPARABLE = "baseline incomparable"
    UNREACHABLE_P = "unreachable p"  # the design's smallest p is not below alpha


# Reasons more rounds cannot change: the stop rule treats them as decided.
FINAL = frozenset({Why.CANDIDATE_FAILED, Why.MISSING, Why.CANDIDATE_INCOMPARABLE, Why.BASELINE_INCOMPARABLE})


@dataclass(frozen=True)
class Reason:
    why: Why
    text: str  # for the reader, e.g. "candidate failed: exited with code 1"

    @property
    def final(self) -> bool:
        return self.why in FINAL

    @property
    def shown(self) -> bool:
        """Whether the table prints it beside the verdict (an unreachable p shows as the verdict itself)."""
        return self.why is not Why.UNREACHABLE_P
