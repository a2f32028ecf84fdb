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

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "unit": self.unit,
            "better": self.better,
            "headline": self.headline,
            "shown": self.shown or self.headline,
        }
