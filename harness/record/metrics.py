"""A metric carries its unit and its direction (as benchstat's units do) and one
headline flag, so the summary, the report, the export and the gate never need
to know which metric is which."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # a key of units.UNITS
    better: str  # "higher" or "lower"
    headline: bool = True  # gated, trended, and in the report's comparison table
    shown: bool = False  # in the comparison table too, though not gated (e.g. the cold round beside the steady)
    # a cost the host's steal and scheduling do not move (CPU time, bytes), unlike a rate or a wall time:
    # a pair of trials whose steal differs is still a fair pair for it (the gate's steal-aware pairs)
    steal_free: bool = False

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "unit": self.unit,
            "better": self.better,
            "headline": self.headline,
            "shown": self.shown or self.headline,
            "steal_free": self.steal_free,
        }
