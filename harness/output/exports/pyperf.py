"""pyperf's JSON (`python -m pyperf stats` and `compare_to` work on it).

pyperf assumes lower is better and knows the units second, byte and integer,
so rates are exported as their inverse (seconds per task, seconds per
request), durations in seconds, memory in bytes. One pyperf benchmark per
benchmark x headline metric; one pyperf run per measured trial; each runtime's
footprint (bytes of what ships) as a benchmark of one value; and, in each
benchmark's metadata, its ratio to its reference subject with the 95% interval
(ratio_to_go, ratio_to_go_ci_low, ratio_to_go_ci_high)."""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError
from harness.record.model import Results
from harness.record.units import unit


class Pyperf:
    flag = "--pyperf"
    metavar = "OUT.json"
    help = "pyperf JSON (pyperf compare_to, stats)"

    def write(self, doc: Results, dest: Path) -> str:
        n = to_pyperf(doc, dest)
        return f"wrote {n} pyperf benchmark(s) to {dest}"


def to_pyperf(doc: Results, out: Path) -> int:
    import pyperf  # it loads psutil: only when a pyperf file is asked for

    from harness.stats import ratios  # numpy: only when asked for

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
