"""Metrics carry their unit and their direction (as benchstat's units do), so
the summary, the report and the gate never need to know which is which."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str              # "tasks/s", "ns", "B", "B/task", "KiB/conn", "req/s", "count"
    better: str            # "higher" or "lower"
    headline: bool = True

    def to_json(self) -> dict:
        return {"label": self.label, "unit": self.unit, "better": self.better, "headline": self.headline}


def fmt_value(value: float | None, unit: str, with_unit: bool = True) -> str:
    if value is None:
        return "-"
    if not with_unit:
        return fmt_value(value, unit).replace(f" {unit}", "").replace(" B/task", "")
    if unit == "ns":
        for div, suffix in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if abs(value) >= div:
                return f"{value / div:.3g} {suffix}"
        return f"{value:.3g} ns"
    if unit == "B":
        for div, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= div:
                return f"{value / div:.3g} {suffix}"
        return f"{value:.0f} B"
    if unit in ("tasks/s", "req/s"):
        for div, suffix in ((1e6, "M"), (1e3, "k")):
            if abs(value) >= div:
                return f"{value / div:.3g}{suffix} {unit}"
        return f"{value:.3g} {unit}"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.4g} {unit}"
