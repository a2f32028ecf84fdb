"""Export a results file to the formats users keep their history in: pyperf's
JSON (`python -m pyperf stats` and `compare_to` work on it), Bencher's Metric
Format, and github-action-benchmark's custom JSON.

pyperf assumes lower is better and knows the units second, byte and integer,
so rates are exported as their inverse (seconds per task, seconds per
request), durations in seconds, memory in bytes. One pyperf benchmark per
benchmark x headline metric; one pyperf run per measured trial; each runtime's
footprint (bytes of what ships) as a benchmark of one value; and, in each
benchmark's metadata, its ratio to its reference subject with the 95% interval
(ratio_to_go, ratio_to_go_ci_low, ratio_to_go_ci_high)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import HarnessError
from harness.record.model import Results
from harness.record.units import unit
from harness.stats import ratios


def to_pyperf(doc: Results, out: Path) -> int:
    import pyperf  # it loads psutil: only when a pyperf file is asked for

    benches = []
    by_scenario = doc.by_scenario()
    found = {(r.numerator, r.metric): r for bs in by_scenario.values() for r in ratios.of_scenario(bs)}
    for b in doc.benchmarks:
        for key, meta in b.metrics.items():
            conversion = unit(meta.unit).pyperf
            if not meta.headline or conversion is None:
                continue
            pyperf_unit, convert, suffix = conversion
            values = [convert(v) for v in b.values(key) if v != 0]
            values = [v for v in values if v > 0]
            if not values:
                continue
            name = f"{b.id}:{key}{suffix}"
            run_meta: dict = {"name": name, "unit": pyperf_unit}
            r = found.get((b.runtime, key)) if b.scenario in by_scenario and not b.point else None
            if r is not None:  # against its reference, in the metric's own terms (not pyperf's inverse)
                run_meta.update(
                    {
                        f"ratio_to_{r.denominator}": r.ratio,
                        f"ratio_to_{r.denominator}_ci_low": r.low,
                        f"ratio_to_{r.denominator}_ci_high": r.high,
                    }
                )
            runs = [pyperf.Run([v], metadata=run_meta, collect_metadata=False) for v in values]
            benches.append(pyperf.Benchmark(runs))
    for runtime, fp in doc.footprints.items():  # what ships: one measurement per build
        if fp.get("total_bytes"):
            name = f"footprint/{runtime}:total_bytes"
            run_meta = {"name": name, "unit": "byte"}
            benches.append(
                pyperf.Benchmark([pyperf.Run([float(fp["total_bytes"])], metadata=run_meta, collect_metadata=False)])
            )
    if not benches:
        raise HarnessError("no successful measured trials to export")
    try:
        out.unlink(missing_ok=True)
        pyperf.BenchmarkSuite(benches).dump(str(out))
    except OSError as e:
        raise HarnessError(f"cannot write {out}: {e.strerror or e}") from None
    return len(benches)


def _headline(doc: Results):
    """Every headline metric of every benchmark with a median: (benchmark, key, meta, summary)."""
    for b in doc.benchmarks:
        for key, meta in b.metrics.items():
            s = b.summary.get(key) or {}
            if meta.headline and s.get("n"):
                yield b, key, meta, s


def _name(doc: Results, bench_id: str) -> str:
    return f"{bench_id} ({doc.arch}{', emulated' if doc.emulated else ''}, W={doc.workers})"


def to_bencher(doc: Results, out: Path) -> int:
    """Bencher Metric Format (https://bencher.dev/bmf.json): per benchmark, per measure (the metric's
    key and unit), its median with the interval of the median as lower_value and upper_value.
    BMF has no direction: Bencher's measures (and thresholds) carry it; the unit is in the name."""
    bmf: dict[str, dict] = {}
    for b, key, meta, s in _headline(doc):
        bmf.setdefault(_name(doc, b.id), {})[f"{key} ({meta.unit}, {meta.better} is better)"] = {
            "value": float(s["median"]),
            "lower_value": float(s["ci_low"]),
            "upper_value": float(s["ci_high"]),
        }
    if not bmf:
        raise HarnessError("no successful measured trials to export")
    _write(out, json.dumps(bmf, indent=1))
    return sum(len(v) for v in bmf.values())


def to_github_benchmark(doc: Results, prefix: Path) -> tuple[Path, Path, int]:
    """github-action-benchmark's customBiggerIsBetter and customSmallerIsBetter JSON (one tool per
    file, so two files: PREFIX-bigger.json and PREFIX-smaller.json): name, unit, value (the median),
    range (the interval of the median, as "± half its width") and extra (the interval and n)."""
    files: dict[str, list[dict]] = {"higher": [], "lower": []}
    for b, _key, meta, s in _headline(doc):
        half = (s["ci_high"] - s["ci_low"]) / 2
        files[meta.better].append(
            {
                "name": f"{_name(doc, b.id)} {meta.label}",
                "unit": meta.unit,
                "value": float(s["median"]),
                "range": f"± {half:.6g}",
                "extra": f"interval of the median [{s['ci_low']:.6g}, {s['ci_high']:.6g}] "
                f"({100 * s.get('ci_coverage', 0):.4g}% confidence), n={s['n']}",
            }
        )
    if not files["higher"] and not files["lower"]:
        raise HarnessError("no successful measured trials to export")
    bigger, smaller = Path(f"{prefix}-bigger.json"), Path(f"{prefix}-smaller.json")
    _write(bigger, json.dumps(files["higher"], indent=1))
    _write(smaller, json.dumps(files["lower"], indent=1))
    return bigger, smaller, len(files["higher"]) + len(files["lower"])


def _write(out: Path, text: str) -> None:
    from harness.output.report import write_atomically

    write_atomically(out, text)
