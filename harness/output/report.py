"""The per-run HTML report and the per-release site, rendered from results
files alone (no rebuilding, no rerunning) with jinja2 (autoescaping on) and
matplotlib (images embedded, so one file opens anywhere offline)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.errors import HarnessError
from harness.output import plots
from harness.record.model import MetricMeta, Results
from harness.record.units import fmt_value

CV_WARNING = 0.10

env = Environment(
    loader=PackageLoader("harness.output", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def headline_keys(docs: list[Results]) -> list[tuple[str, str]]:
    """The comparison table a reader comes for: (scenario, metric key) of every
    metric the results files flag as headline, in the order they list them."""
    keys: list[tuple[str, str]] = []
    for d in docs:
        for b in d.benchmarks:
            for key, meta in b.metrics.items():
                if meta.headline and (b.scenario, key) not in keys:
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
        for runtime in dict.fromkeys(b.runtime for b in d.benchmarks):
            cols.append({"doc": i, "label": label_of(d), "runtime": runtime, "floor": False})
        if d.floor:
            cols.append({"doc": i, "label": label_of(d), "runtime": "floor", "floor": True})
    rows = []
    for scenario, key in headline_keys(docs):
        meta: MetricMeta | None = None
        cells: list[dict | None] = []
        for c in cols:
            doc: Results = docs[c["doc"]]
            if c["floor"]:
                found = doc.floor if doc.floor and doc.floor.scenario == scenario else None
            else:
                found = next((x for x in doc.benchmarks if x.scenario == scenario and x.runtime == c["runtime"]), None)
            s = found.summary.get(key) if found else None
            if found and key in found.metrics and not c["floor"]:
                meta = found.metrics[key]
            cell = dict(s) if s and s.get("n") else None
            if cell is not None and found is not None:
                cell["flag"] = f"overloaded in {len(r)}/{len(found.measured)}" if (r := found.incomparable(key)) else ""
            cells.append(cell)
        if meta is None:
            continue
        for doc_index in {c["doc"] for c in cols}:  # best per results file, never across architectures
            idx = [i for i, c in enumerate(cols) if c["doc"] == doc_index and not c["floor"] and cells[i]]
            if len(idx) > 1 and not any(cells[i]["flag"] for i in idx):  # type: ignore[index]
                pick = max if meta.better == "higher" else min
                best = pick(idx, key=lambda i: cells[i]["median"])  # type: ignore[index]
                cells[best] = {**(cells[best] or {}), "best": True}
        rows.append(
            {
                "scenario": scenario,
                "key": key,
                "meta": meta,
                "cells": [
                    None
                    if s is None
                    else {
                        "median": fmt_value(s["median"], meta.unit),
                        "ci": f"{fmt_value(s['ci_low'], meta.unit)} – {fmt_value(s['ci_high'], meta.unit)}",
                        "coverage": s.get("ci_coverage"),
                        "n": s["n"],
                        "best": s.get("best", False),
                        "flag": s.get("flag", ""),
                        "raw": s["median"],
                    }
                    for s in cells
                ],
            }
        )
    return cols, rows


def doc_section(doc: Results) -> dict:
    by = doc.by_scenario()
    figures = []
    for scenario in ("spawn", "live"):
        if scenario in by:
            img = plots.rss_over_time(by[scenario], f"{scenario}: RSS over time (faint: every trial, bold: median)")
            if img:
                figures.append({"title": f"{scenario}: RSS over time", "png": img})
    if "http" in by:
        for title, img in (
            ("http: RSS against connections", plots.rss_vs_connections(by["http"])),
            (
                "http: latency by percentile (grey: the floor)",
                plots.latency_spectrum(
                    by["http"] + ([doc.floor] if doc.floor and doc.floor.scenario == "http" else [])
                ),
            ),
        ):
            if img:
                figures.append({"title": title, "png": img})
    dots = []
    for scenario, key in headline_keys([doc]):
        benches = by.get(scenario, [])
        if benches and key in benches[0].metrics:
            img = plots.trial_dots(benches, key, benches[0].metrics[key])
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
        "started": datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M UTC") if started else "?",
        "params": {b.scenario: b.params for b in doc.benchmarks},
    }


def render_report(docs: list[Results], title: str = "Concurrency benchmark report") -> str:
    if not docs:
        raise HarnessError("no results files to report on")
    cols, rows = headline_rows(docs)
    return env.get_template("report.html.j2").render(
        title=title,
        columns=cols,
        rows=rows,
        sections=[doc_section(d) for d in docs],
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(docs: list[Results], out: Path, title: str = "Concurrency benchmark report") -> None:
    html = render_report(docs, title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html)
    except OSError as e:
        raise HarnessError(f"cannot write {out}: {e.strerror or e}") from None
