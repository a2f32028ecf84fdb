"""Every unit the results file uses, defined once: how a value is written in
the terminal and the report, how a plot axis scales it, and how pyperf (which
assumes lower is better and knows seconds, bytes and integers) receives it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    name: str
    steps: tuple[tuple[float, str], ...] = ()  # (divisor, suffix) for human formatting, largest first
    digits: str = ".4g"  # unstepped units
    axis: tuple[float, str] | None = None  # plot axis: divisor and label; None: the unit itself
    pyperf: tuple[str, Callable[[float], float], str] | None = None  # (pyperf unit, converter, name suffix)
    suffix_only: bool = False  # "473k tasks/s": the step suffix sits before the unit

    def format(self, value: float | None, with_unit: bool = True) -> str:
        if value is None:
            return "-"
        if self.name == "count":
            return f"{value:.0f}"
        for div, suffix in self.steps:
            if abs(value) >= div:
                if self.suffix_only:  # "473k tasks/s"
                    return f"{value / div:.3g}{suffix}" + (f" {self.name}" if with_unit else "")
                return f"{value / div:.3g} {suffix}"  # the scale is part of the number, with or without unit
        number = f"{value:.0f}" if self.name == "B" else f"{value:.3g}" if self.steps else f"{value:{self.digits}}"
        return f"{number} {self.name}" if with_unit else number

    def scale_for_axis(self) -> tuple[float, str]:
        return self.axis or (1.0, self.name)


_NS = Unit(
    "ns", steps=((1e9, "s"), (1e6, "ms"), (1e3, "µs")), axis=(1e6, "ms"), pyperf=("second", lambda v: v / 1e9, "")
)
_B = Unit(
    "B",
    steps=((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")),
    axis=(2**20, "MiB"),
    pyperf=("byte", lambda v: v, ""),
)


def _rate(name: str, per: str) -> Unit:
    return Unit(
        name,
        steps=((1e6, "M"), (1e3, "k")),
        suffix_only=True,
        axis=(1e3, f"k {name}"),
        pyperf=("second", lambda v: 1.0 / v, f" (seconds per {per}, inverse of {name})"),
    )


UNITS: dict[str, Unit] = {
    u.name: u
    for u in (
        _NS,
        _B,
        _rate("tasks/s", "task"),
        _rate("req/s", "request"),
        Unit("B/task", pyperf=("byte", lambda v: v, "")),
        Unit(
            "ns/task",
            digits=".4g",
            axis=(1.0, "ns/task"),
            pyperf=("second", lambda v: v / 1e9, " (CPU seconds per task)"),
        ),
        Unit(
            "µs/req",
            digits=".4g",
            axis=(1.0, "µs/req"),
            pyperf=("second", lambda v: v / 1e6, " (CPU seconds per request)"),
        ),
        Unit("s", digits=".4g", pyperf=("second", lambda v: v, "")),
        Unit("KiB/conn", pyperf=("byte", lambda v: v * 1024, " (bytes per connection)")),
        Unit("count"),
        Unit("ratio"),
    )
}


def unit(name: str) -> Unit:
    """The unit called `name`; an unknown name is written as a plain number with its name."""
    return UNITS.get(name) or Unit(name)


def fmt_value(value: float | None, unit_name: str, with_unit: bool = True) -> str:
    return unit(unit_name).format(value, with_unit)
