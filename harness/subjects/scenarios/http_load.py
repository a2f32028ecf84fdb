"""The http scenario's load, from one load generator or several driven as one.

With several (loadgen.engines: one per Docker engine, each on its own host), every stage's connections
and rate are split between them; each generator opens its share and waits; the harness measures each
one's clock offset from a round trip on its stdin (as NTP does: the offset is known to within half the
round trip, which is recorded) and gives them one start time on their own clocks; their stage results are
then merged exactly: counters added, HdrHistograms added count by count (never percentiles averaged), and
each generator's own rate, send lag and lateness kept beside the merged figures. A generator that fails
fails the stage, by name; one that falls short of its share of the rate marks the stage overloaded, by
name: the load is never silently lowered. With one generator nothing of this happens: its results are its
own, as before."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from harness.errors import TrialError

HISTOGRAMS = ("corrected", "uncorrected", "lag")
# counters and rates that add up over generators (a stage's connections are the sum of the shares)
SUMMED = (
    "connections_target",
    "connections_open",
    "connect_failures",
    "closed_by_server",
    "requests_sent",
    "requests_ok",
    "requests_failed",
    "requests_unsent",
    "late_sends",
    "target_rate",
    "achieved_rate",
    "loadgen_cpu_s",
    "workers",
)
# what each generator's own part keeps beside the merge (where its part has it: a stage's, a saturation's)
KEPT = (
    "connections_open",
    "target_rate",
    "achieved_rate",
    "requests_ok",
    "requests_failed",
    "start_late_ns",
    "loadgen_busy",
)
CLOCK_PROBES = 5
START_LEAD_NS = 200_000_000  # beyond twice the slowest round trip: every generator has its start in time


def shares(total: int, n: int) -> list[int]:
    """`total` split into n near-equal whole parts, the larger first."""
    return [total // n + (1 if i < total % n else 0) for i in range(n)]


def split_stages(stages: list[int], n: int) -> list[list[int]]:
    """Each generator's cumulative stages; refused when a generator's would not grow from stage to stage."""
    split = [[shares(c, n)[i] for c in stages] for i in range(n)]
    for mine in split:
        if mine[0] < 1 or any(b <= a for a, b in zip(mine, mine[1:], strict=False)):
            raise TrialError(
                f"http.stages {stages} cannot be split between {n} load generators: make each stage at least "
                f"{n} connections more than the one before"
            )
    return split


def merge_histograms(summaries: list[dict]) -> dict:
    """One summary of several HdrHistogram summaries (the load generator's `stats::summary`): their encoded
    histograms added count by count, the percentiles read from the sum; the mean weighted by count (exact
    where each part's is, as the send lag's)."""
    from hdrh.histogram import HdrHistogram

    merged = HdrHistogram(1, 3_600_000_000, 3)
    for s in summaries:
        if s.get("hdr"):
            merged.add(HdrHistogram.decode(s["hdr"]))
    count = sum(s.get("count", 0) for s in summaries)
    out = {
        "count": merged.get_total_count(),
        "mean_us": sum(s.get("mean_us", 0.0) * s.get("count", 0) for s in summaries) / count if count else 0.0,
        "max_us": merged.get_max_value(),
        "hdr": merged.encode().decode(),
    }
    for key, p in (("p50_us", 50), ("p90_us", 90), ("p99_us", 99), ("p999_us", 99.9)):
        out[key] = merged.get_value_at_percentile(p) if count else 0
    return out


@dataclass(frozen=True)
class Clock:
    """A generator's realtime clock against the harness's: offset (theirs - ours) and the round trip it
    was read in (the offset is known to within half of it)."""

    offset_ns: int = 0
    rtt_ns: int = 0


def read_clock(proc) -> Clock:
    """The best of a few `clock` round trips on the generator's stdin (the shortest is the least skewed)."""
    best = None
    for _ in range(CLOCK_PROBES):
        t0 = time.time_ns()
        proc.command("clock")
        theirs = proc.wait_event("clock")["realtime_ns"]
        t1 = time.time_ns()
        probe = Clock(theirs - (t0 + t1) // 2, t1 - t0)
        if best is None or probe.rtt_ns < best.rtt_ns:
            best = probe
    assert best is not None
    return best


def merge_parts(parts: list[dict], names: list[str], clocks: list[Clock], tolerance: float) -> dict:
    """One stage (or saturation) result of several generators' parts, with each generator's own kept."""
    if len(parts) == 1:
        return parts[0]
    merged = dict(parts[0])
    for key in SUMMED:
        if key in parts[0]:
            merged[key] = sum(p.get(key) or 0 for p in parts)
    for key in ("duration_s", "open_s"):
        if key in parts[0]:
            merged[key] = max(p[key] for p in parts)
    if "loadgen_busy" in parts[0]:
        merged["loadgen_busy"] = max(p["loadgen_busy"] for p in parts)  # the busiest generator
    for key in (*HISTOGRAMS, "latency"):
        if key in parts[0]:
            merged[key] = merge_histograms([p[key] for p in parts])
    if "iterations" in parts[0]:  # saturation windows, index by index
        merged["iterations"] = [
            {
                **windows[0],
                "requests_ok": sum(w["requests_ok"] for w in windows),
                "requests_per_sec": sum(w["requests_per_sec"] for w in windows),
            }
            for windows in zip(*(p["iterations"] for p in parts), strict=True)
        ]
        merged["requests_per_sec"] = sum(p["requests_per_sec"] for p in parts)
    merged["generators"] = [
        {
            "generator": name,
            "clock_offset_ns": clock.offset_ns,
            "clock_rtt_ns": clock.rtt_ns,
            **{k: p[k] for k in KEPT if k in p},
            **({"lag_p99_us": p["lag"]["p99_us"]} if "lag" in p else {}),
            "behind": short_of_rate(p, tolerance),
        }
        for name, clock, p in zip(names, clocks, parts, strict=True)
    ]
    return merged


def short_of_rate(part: dict, tolerance: float) -> bool:
    """A generator (or the whole load) that sent less than its target: the stage was not at its load."""
    if "target_rate" not in part:
        return False
    return part["achieved_rate"] < part["target_rate"] * (1 - tolerance) or part.get("requests_unsent", 0) > 0


class Load:
    """One phase's generators (verify, warm-up, ramp, saturate) started together, waited on together."""

    def __init__(self, generators, names: list[str], tolerance: float) -> None:
        self.generators, self.names, self.tolerance = generators, names, tolerance
        self.procs: list = []
        self.clocks: list[Clock] = [Clock() for _ in generators]

    @property
    def several(self) -> bool:
        return len(self.generators) > 1

    @contextlib.contextmanager
    def run(self, what: str, args_of, timeout_s: float, together: bool = True) -> Iterator[Load]:
        """Start `what` on every generator (args_of(i) its arguments); none outlives the phase. `together`:
        several generators wait for one start (load); a check each makes alone (verify) does not."""
        with contextlib.ExitStack() as stack:
            self.procs = []
            for i, g in enumerate(self.generators):
                args = [*args_of(i), *(["--start-on-command"] if self.several and together else [])]
                self.procs.append(stack.enter_context(g.run(what, args, timeout_s)))
            yield self

    def _named(self, i: int, where: str, e: TrialError) -> TrialError:
        return TrialError(f"{where}: load generator {self.names[i]}: {e}") if self.several else e

    def wait_all(self, kind: str, where: str) -> list[dict]:
        out = []
        for i, p in enumerate(self.procs):
            try:
                out.append(p.wait_event(kind))
            except TrialError as e:
                raise self._named(i, where, e) from None
        return out

    def start(self, stage: int, where: str) -> None:
        """Every generator has opened its share and waits: read their clocks (once), give one start time."""
        if not self.several:
            return
        try:
            if stage == 0:
                self.clocks = [read_clock(p) for p in self.procs]
            at = time.time_ns() + max(START_LEAD_NS, 2 * max(c.rtt_ns for c in self.clocks))
            for p, c in zip(self.procs, self.clocks, strict=True):
                p.command(f"go {stage} {at + c.offset_ns}")
        except TrialError as e:
            raise TrialError(f"{where}: starting the load generators: {e}") from None

    def merged(self, parts: list[dict]) -> dict:
        return merge_parts(parts, self.names, self.clocks, self.tolerance)

    def finish_all(self, where: str) -> list[dict]:
        out = []
        for i, p in enumerate(self.procs):
            try:
                out.append(p.finish())
            except TrialError as e:
                raise self._named(i, where, e) from None
        return out
