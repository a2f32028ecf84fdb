"""What readers show, as data: a table model and a figure model that a scenario
builds once from the results file and that the terminal summary and the HTML
report each render their own way (as benchstat's benchtab is one table
rendered as text or CSV), and the one rule for starring the best median."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cell:
    text: str  # the value
    sub: str = ""  # a second, quieter line (interval, rate, lag)
    flag: str = ""  # a warning that belongs to this value (e.g. OVERLOADED)
    best: bool = False
    muted: bool = False  # the instrument's own column (the floor)


@dataclass
class Table:
    title: str
    columns: list[str]  # the first is the row label's header, then one per subject
    rows: list[tuple[str, list[Cell | None]]] = field(default_factory=list)
    caption: str = ""
    anchor: str = ""  # the report's id for it
    muted_columns: frozenset[int] = frozenset()  # indexes into columns[1:] drawn as the instrument


@dataclass(frozen=True)
class Figure:
    """One plot. `kind` names how plots.py draws it:
    - "rss_over_time": series = {subject: [[[t, rss], ...] per trial]}
    - "fit": series = {subject: (xs, ys)}, a scatter with its least-squares line
    - "percentiles": series = {"subject (which)": [(percentile, value_ns), ...]}
    - "bands": series = {subject: [(x, median, lo, hi), ...]}, a line with its band
    """

    title: str
    kind: str
    series: dict[str, Any]
    xlabel: str = ""
    ylabel: str = ""
    unit: str = ""  # the unit of the values (bands), for axis scaling
    better: str = "lower"
    log_x: bool = False  # a sweep over decades of its x (bands): logarithmic whatever the span


def best_index(medians: list[float | None], better: str, comparable: bool = True) -> int | None:
    """The index of the best median, or None: with fewer than two values, or when
    some value was not measured as asked (overloaded) and so nothing is starred."""
    present = [(m, i) for i, m in enumerate(medians) if m is not None]
    if len(present) < 2 or not comparable:
        return None
    pick = max if better == "higher" else min
    return pick(present)[1]
