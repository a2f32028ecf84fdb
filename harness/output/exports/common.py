"""What the exporters share: the headline metrics with a median, a benchmark's name
with its conditions, and the atomic write."""

from __future__ import annotations

from pathlib import Path

from harness.record.model import Results


def headline(doc: Results):
    """Every headline metric of every benchmark with a median: (benchmark, key, meta, summary)."""
    for b in doc.benchmarks:
        for key, meta in b.metrics.items():
            s = b.summary.get(key) or {}
            if meta.headline and s.get("n"):
                yield b, key, meta, s


def name(doc: Results, bench_id: str) -> str:
    return f"{bench_id} ({doc.arch}{', emulated' if doc.emulated else ''}, W={doc.workers})"


def write(out: Path, text: str) -> None:
    from harness.output.report import write_atomically

    write_atomically(out, text)
