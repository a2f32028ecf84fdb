"""The per-run HTML report and the per-release site, rendered from results
files alone (no rebuilding, no rerunning) with jinja2 (autoescaping on) and
matplotlib (images embedded, so one file opens anywhere offline)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.errors import HarnessError
from harness.output import flamegraph, paper, plots
from harness.output.summary import FOOTPRINT_ROWS
from harness.record import views
from harness.record.model import MetricMeta, Results
from harness.record.units import fmt_value
from harness.stats import precision, ratios, variance
from harness.subjects import SCENARIOS

CV_WARNING = 0.10

env = Environment(
    loader=PackageLoader("harness.output", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def headline_keys(docs: list[Results]) -> list[tuple[str, str]]:
    """The comparison table a reader comes for: (scenario, metric key) of every
    metric the results files show there (the headline ones, and a few beside
    them such as the cold round), in the order they list them."""
    keys: list[tuple[str, str]] = []
    for d in docs:
        for b in d.benchmarks:
            for key, meta in b.metrics.items():
                if (meta.headline or meta.shown) and (b.scenario, key) not in keys:
                    keys.append((b.scenario, key))
    return keys


def label_of(doc: Results) -> str:
    emu = " (emulated)" if doc.emulated else ""
    return f"{doc.arch}{emu} W={doc.workers} @ {doc.git.get('short_sha', '?')}"


def warnings_of(doc: Results) -> list[str]:
    out = list(doc.warnings)
    if doc.status != "complete":
        out.append(f"run status is '{doc.status}': not every trial finished or succeeded")
    if doc.emulated:
        out.append(f"{doc.arch} ran under emulation: never compare these numbers with native ones")
    governor = doc.host.get("governor")
    if governor != "performance":
        out.append(f"CPU frequency governor is '{governor}', not 'performance': frequency scaling may add noise")
    for b in doc.benchmarks:
        for key, meta in b.metrics.items():
            s = b.summary.get(key, {})
            if meta.headline and s.get("cv") is not None and s["cv"] > CV_WARNING:
                out.append(
                    f"{b.id} {meta.label}: coefficient of variation {100 * s['cv']:.0f}% "
                    f"(above {100 * CV_WARNING:.0f}%)"
                )
        failed = [t for t in b.trials if not t.ok]
        if failed:
            out.append(f"{b.id}: {len(failed)} failed trial(s), e.g. {failed[0].error}")
    return out


def headline_rows(docs: list[Results]) -> tuple[list[dict], list[dict]]:
    """Columns: one per (results file, runtime), then the file's floor (the
    instrument) where it has one. Rows: headline metrics present anywhere. The
    best median per row and file is marked, never across files (architectures),
    never the floor, and never in a row where a runtime was not measured as
    asked (overloaded)."""
    cols: list[dict[str, Any]] = []
    for i, d in enumerate(docs):
        for runtime in dict.fromkeys(b.runtime for b in d.benchmarks if not b.point):  # sweeps have their curves
            cols.append(
                {
                    "doc": i,
                    "label": label_of(d),
                    "runtime": runtime,
                    "floor": False,
                    "toolchain": d.toolchain_of(runtime),  # native and docker runs build with other toolchains
                }
            )
        for scenario in d.floors:
            cols.append({"doc": i, "label": label_of(d), "runtime": "floor", "floor": True, "scenario": scenario})
    rows = []
    for scenario, key in headline_keys(docs):
        meta: MetricMeta | None = None
        cells: list[dict | None] = []
        for c in cols:
            doc: Results = docs[c["doc"]]
            if c["floor"]:
                found = doc.floor_of(scenario) if c["scenario"] == scenario else None
            else:
                found = next(
                    (x for x in doc.benchmarks if x.scenario == scenario and x.runtime == c["runtime"] and not x.point),
                    None,
                )
            s = found.summary.get(key) if found else None
            if found and key in found.metrics and not c["floor"]:
                meta = found.metrics[key]
            cell = dict(s) if s and s.get("n") else None
            if cell is not None and found is not None:
                cell["flag"] = f"overloaded in {len(r)}/{len(found.measured)}" if (r := found.incomparable(key)) else ""
                cell["label"] = doc.label_of(c["runtime"], scenario)  # measured differently: ranked apart
            elif not c["floor"] and (why := doc.not_measured(scenario).get(c["runtime"])):
                cell = {"not_measured": why}
            cells.append(cell)
        if meta is None:
            continue
        for doc_index in {c["doc"] for c in cols}:  # best per results file, never across architectures
            idx = [
                i
                for i, c in enumerate(cols)
                if c["doc"] == doc_index and not c["floor"] and (x := cells[i]) and "median" in x and not x["label"]
            ]
            found_cells = [cells[i] or {} for i in idx]
            best = views.best_index(
                [c["median"] for c in found_cells], meta.better, comparable=not any(c["flag"] for c in found_cells)
            )
            if best is not None:
                cells[idx[best]] = {**found_cells[best], "best": True}
        rows.append(
            {
                "scenario": scenario,
                "key": key,
                "meta": meta,
                "cells": [
                    None
                    if s is None
                    else {"not_measured": s["not_measured"]}
                    if "not_measured" in s
                    else {
                        "median": fmt_value(s["median"], meta.unit),
                        "ci": f"{fmt_value(s['ci_low'], meta.unit)} – {fmt_value(s['ci_high'], meta.unit)}",
                        "confidence": f"{100 * s['ci_coverage']:.4g}%" if s.get("ci_coverage") else "",
                        "n": s["n"],
                        "best": s.get("best", False),
                        "flag": s.get("flag", ""),
                        "label": s.get("label", ""),
                        "raw": s["median"],
                    }
                    for s in cells
                ],
            }
        )
    return cols, rows


def doc_section(doc: Results) -> dict:
    colour = doc.colour
    by = doc.by_scenario()
    figures: list[dict] = []
    tables: list[views.Table] = []
    for scenario, benches in by.items():
        kind = SCENARIOS.get(scenario)
        if kind is None:  # a scenario this harness no longer knows: its numbers are in the table still
            continue
        for fig in kind.figures(benches, doc.floor_of(scenario)):
            img = plots.draw(fig, colour)
            if img:
                figures.append({"title": fig.title, "png": img})
        tables += kind.tables(benches, doc.floor_of(scenario))
    figures += scaling_figures(doc)
    dots = []
    for scenario, key in headline_keys([doc]):
        benches = [b for b in by.get(scenario, []) if not b.point]
        if benches and key in benches[0].metrics:
            img = plots.trial_dots(benches, key, benches[0].metrics[key], colour)
            if img:
                dots.append({"title": f"{scenario}: {benches[0].metrics[key].label}", "png": img})
    settings = {b.runtime: b.settings for b in doc.benchmarks if b.settings}
    started = doc.raw.get("started_at")
    return {
        "label": label_of(doc),
        "doc": doc.raw,
        "figures": figures,
        "dots": dots,
        "settings": settings,
        "warnings": warnings_of(doc),
        "tables": tables,
        "notes": [(name, n) for name in doc.by_scenario() if name in SCENARIOS for n in SCENARIOS[name].notes],
        "started": datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M UTC") if started else "?",
        "params": {b.scenario: b.params for b in doc.benchmarks},
        "profiles": profile_figures(doc),
        "footprint": {
            "rows": [
                (label, [fmt_value(fp[k], "B") if fp.get(k) else "–" for fp in doc.footprints.values()])
                for k, label in FOOTPRINT_ROWS
                if any(fp.get(k) for fp in doc.footprints.values())
            ],
            "runtimes": list(doc.footprints),
        },
        "forced_gc": {b.id: b.forced_gc for b in doc.benchmarks if "force_gc" in b.params},
        "paper": paper.check(doc),
        "variance": variance_section(doc),
    }


def variance_section(doc: Results) -> dict:
    """A line per benchmark and headline metric: where its variance is (between processes or within
    one) and the processes x rounds that would reach the suite's precision target (else ±5%)."""
    target = precision.Target.of_suite(doc.suite.get("precision") or {}).default_pct or 5.0
    return {"target_pct": target, "rows": variance.rows([b for b in doc.benchmarks if not b.point], target / 100)}


def profile_figures(doc: Results) -> list[dict]:
    """One flame graph per benchmark that has a profiled trial, in its runtime's colour,
    with what the profiler cost (the profiled trial's headline figures over the measured median)."""
    out = []
    for b in doc.benchmarks:
        t = b.profiled
        if t is None:
            continue
        prof = t.profile or {}
        out.append(
            {
                "id": b.id,
                "runtime": b.runtime,
                "svg": flamegraph.svg(prof.get("stacks") or {}, doc.colour(b.runtime), f"{b.id}: CPU profile")
                if t.ok
                else "",
                "error": None if t.ok else t.error,
                "format": prof.get("format"),
                "window": prof.get("window", "whole run"),  # files from before windows were profiled whole
                "samples": prof.get("samples"),
                "files": prof.get("files") or [],
                "overhead": [
                    {"label": b.metrics[k].label, "ratio": f"×{r:.2f}"} for k, r in b.profiler_overhead().items()
                ],
            }
        )
    return out


def scaling_figures(doc: Results) -> list[dict]:
    """Scaling curves: each shown metric of a swept scenario against the swept value (a
    sweep of cpus.workload against W), one line per runtime with its confidence band."""
    figures = []
    for scenario, benches in doc.by_scenario().items():
        swept = [b for b in benches if b.point]
        keys = list(dict.fromkeys(k for b in swept for k in b.point))
        for sweep_key in keys:
            xlabel = "W (worker threads)" if sweep_key == "cpus.workload" else sweep_key
            for key, meta in swept[0].metrics.items():
                if not (meta.headline or meta.shown):
                    continue
                series: dict[str, list] = {}
                for b in swept:
                    s = b.summary.get(key) or {}
                    x = b.workers if sweep_key == "cpus.workload" else b.point.get(sweep_key)
                    if s.get("n") and isinstance(x, int | float):
                        series.setdefault(b.runtime, []).append((x, s["median"], s["ci_low"], s["ci_high"]))
                img = plots.scaling(series, f"{scenario}: {meta.label} against {xlabel}", xlabel, meta, doc.colour)
                if img:
                    figures.append(
                        {"title": f"{scenario}: {meta.label} against {xlabel} (bands: CI of the median)", "png": img}
                    )
                if meta.headline:
                    figures += ratio_curve(scenario, swept, sweep_key, xlabel, key, meta, doc)
    return figures


def ratio_curve(
    scenario: str, swept: list, sweep_key: str, xlabel: str, key: str, meta: MetricMeta, doc: Results
) -> list[dict]:
    """Each subject over its reference at every point of a sweep (the two-level bootstrap's interval
    as the band): how the ratio moves with the swept value, which two medians' curves do not show."""
    at: dict = {}
    for b in swept:
        x = b.workers if sweep_key == "cpus.workload" else b.point.get(sweep_key)
        if isinstance(x, int | float):
            at.setdefault(x, {})[b.runtime] = b
    series: dict[str, list] = {}
    refs = set()
    for x, by in at.items():
        for name, b in by.items():
            ref = ratios.reference_of(name, list(by))
            r = ratios.of_pair(b, by[ref], key) if ref and not b.incomparable(key) else None
            if ref and r is not None:
                series.setdefault(name, []).append((x, r.ratio, r.low, r.high))
                refs.add(ref)
    if not series:
        return []
    over = " / ".join(sorted(refs))
    ratio_meta = MetricMeta(f"{meta.label} ÷ {over}", "×", meta.better)
    title = f"{scenario}: {meta.label}, each ÷ {over}, against {xlabel}"
    img = plots.scaling(series, title, xlabel, ratio_meta, doc.colour)
    return [{"title": f"{title} (bands: two-level bootstrap 95% interval)", "png": img}] if img else []


def ratio_rows(docs: list[Results]) -> list[dict]:
    """The first screen's "how much faster, give or take": each subject against its reference."""
    out = []
    for d in docs:
        for scenario, benches in d.by_scenario().items():
            metas = {k: m for b in benches for k, m in b.metrics.items()}
            for r in ratios.of_scenario(benches):
                out.append(
                    {
                        "label": label_of(d),
                        "scenario": scenario,
                        "metric": f"{metas[r.metric].label} ({metas[r.metric].better} is better)",
                        "pair": f"{r.numerator} ÷ {r.denominator}",
                        "ratio": f"{r.ratio:.3g}×",
                        "interval": f"[{r.low:.3g}, {r.high:.3g}]",
                        "shown": r.shown,
                        "paired": r.paired,
                    }
                )
    return out


def render_report(
    docs: list[Results], title: str = "Concurrency benchmark report", verdicts: list[dict] | None = None
) -> str:
    """The report; `verdicts`: a release page's, against the release before it."""
    if not docs:
        raise HarnessError("no results files to report on")
    cols, rows = headline_rows(docs)
    return env.get_template("report.html.j2").render(
        title=title,
        columns=cols,
        rows=rows,
        ratios=ratio_rows(docs),
        verdicts=verdicts,
        warnings=[(label_of(d), w) for d in docs for w in warnings_of(d)],
        # the same colour per subject as in every plot: the one its results file records
        colours={
            rt: next((d.colour(rt, i) for d in docs if rt in d.subjects), docs[0].colour(rt, i))
            for i, rt in enumerate(dict.fromkeys([b.runtime for d in docs for b in d.benchmarks] + ["floor"]))
        },
        sections=[doc_section(d) for d in docs],
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(docs: list[Results], out: Path, title: str = "Concurrency benchmark report") -> None:
    html = render_report(docs, title)
    write_atomically(out, html)


def write_atomically(out: Path, text: str) -> None:
    """A temporary file beside it, then a rename: a full disk or an interrupt leaves the old file whole."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise HarnessError(f"cannot write {out}: {e.strerror or e} (what was there is kept)") from None
