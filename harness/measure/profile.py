"""CPU profiles of one trial per benchmark (`harness run --profile`).

Each workload profiles itself with its runtime's own sampler when
WORKLOAD_CPUPROFILE names a directory (PROTOCOL.md), 100 samples a second of
CPU time. The runtime's descriptor knows its profiler's files and reads them
(its profile_reader); here every profile becomes one folded-stacks table
("root;...;leaf" -> samples) that the results file carries, so the report
draws flame graphs from the results file alone; the raw files stay beside it,
named with their hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

PROFILE_ENV = "WORKLOAD_CPUPROFILE"
WINDOW_ENV = "WORKLOAD_CPUPROFILE_WINDOW"  # "commands": profile between "profile start" and "profile stop"
# A runtime's reader: the profile directory -> (format name, folded stacks); ValueError when it holds none.
ProfileReader = Callable[[Path], tuple[str, dict[str, int]]]
MAX_STACKS = 3000  # the rarest stacks beyond this are merged into one "[other]" (a flame graph cannot show them)


def collect(directory: Path, relative_to: Path, reader: ProfileReader) -> dict:
    """The profile block of a trial record: its files (path relative to the
    results file, sha256, bytes), the profiler's format and the folded stacks."""
    files = sorted(p for p in directory.iterdir() if p.is_file())
    if not files:
        raise ValueError(f"the workload wrote no profile into {directory}")
    fmt, stacks = reader(directory)
    return {
        "format": fmt,
        "samples": sum(stacks.values()),
        "files": [
            {
                "path": str(p.relative_to(relative_to)) if p.is_relative_to(relative_to) else str(p),
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                "bytes": p.stat().st_size,
            }
            for p in files
        ],
        "stacks": cap(stacks),
    }


def cap(stacks: dict[str, int]) -> dict[str, int]:
    if len(stacks) <= MAX_STACKS:
        return dict(sorted(stacks.items()))
    ranked = sorted(stacks.items(), key=lambda kv: -kv[1])
    kept = dict(ranked[:MAX_STACKS])
    kept["[other]"] = sum(n for _, n in ranked[MAX_STACKS:])
    return dict(sorted(kept.items()))
