"""The per-run HTML report and the per-release site, rendered from results
files alone (no rebuilding, no rerunning) with jinja2 (autoescaping on) and
matplotlib (images embedded, so one file opens anywhere offline)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.output import plots
from harness.errors import HarnessError
from harness.record.units import fmt_value

CV_WARNING = 0.10

env = Environment(loader=PackageLoader("harness.output", "templates"), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)


def headline_keys(docs: list[dict]) -> list[tuple[str, str]]:
    """The comparison table a reader comes for: (scenario, metric key) of every
    metric the results files flag as headline, in the order they list them."""
    keys: list[tuple[str, str]] = []
    for d in docs:
        for b in d.get("benchmarks", []):
            for key, meta in b.get("metrics", {}).items():
                if meta.get("headline", True) and (b["scenario"], key) not in keys:
                    keys.append((b["scenario"], key))
    return keys


def label_of(doc: dict) -> str:
    git = doc.get("git", {})
    emu = " (emulated)" if doc.get("emulated") else ""
    workers = doc.get("cpu_plan", {}).get("workers")
    return f"{doc.get('arch', '?')}{emu} W={workers} @ {git.get('short_sha', '?')}"


def warnings_of(doc: dict) -> list[str]:
    out = list(doc.get("warnings", []))
    if doc.get("status") != "complete":
        out.append(f"run status is '{doc.get('status')}': not every trial finished or succeeded")
    if doc.get("emulated"):
        out.append(f"{doc.get('arch')} ran under emulation: never compare these numbers with native ones")
    governor = doc.get("host", {}).get("governor")
    if governor != "performance":
        out.append(f"CPU frequency governor is '{governor}', not 'performance': frequency scaling may add noise")
    for b in doc.get("benchmarks", []):
        for key, s in b.get("summary", {}).items():
            meta = b.get("metrics", {}).get(key)
            if meta and meta.get("headline") and s.get("cv") is not None and s["cv"] > CV_WARNING:
                out.append(f"{b['id']} {meta['label']}: coefficient of variation {100 * s['cv']:.0f}% "
                           f"(above {100 * CV_WARNING:.0f}%)")
        failed = [t for t in b.get("trials", []) if not t.get("ok")]
        if failed:
            out.append(f"{b['id']}: {len(failed)} failed trial(s), e.g. {failed[0].get('error')}")
    return out


def headline_rows(docs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Columns: one per (results file, runtime). Rows: headline metrics present anywhere."""
    seen, cols = set(), []  # one column per (results file, runtime), in first-seen order
    for i, d in enumerate(docs):
        for b in d.get("benchmarks", []):
            if (i, b["runtime"]) not in seen:
                seen.add((i, b["runtime"]))
                cols.append({"doc": i, "label": label_of(d), "runtime": b["runtime"]})
    rows = []
    for scenario, key in headline_keys(docs):
        meta, cells = None, []
        for c in cols:
            b = next((b for b in docs[c["doc"]].get("benchmarks", [])
                      if b["scenario"] == scenario and b["runtime"] == c["runtime"]), None)
            s = b.get("summary", {}).get(key) if b else None
            if b and key in b.get("metrics", {}):
                meta = b["metrics"][key]
            cells.append(s if s and s.get("n") else None)
        if meta is None:
            continue
        for doc_index in {c["doc"] for c in cols}:  # best per results file, never across architectures
            idx = [i for i, c in enumerate(cols) if c["doc"] == doc_index and cells[i]]
            if len(idx) > 1:
                pick = max if meta["better"] == "higher" else min
                best = pick(idx, key=lambda i: cells[i]["median"])
                cells[best] = {**cells[best], "best": True}
        rows.append({"scenario": scenario, "key": key, "meta": meta, "cells": [
            None if s is None else {"median": fmt_value(s["median"], meta["unit"]),
                                    "ci": f"{fmt_value(s['ci_low'], meta['unit'])} – {fmt_value(s['ci_high'], meta['unit'])}",
                                    "n": s["n"], "best": s.get("best", False), "raw": s["median"]}
            for s in cells]})
    return cols, rows


def doc_section(doc: dict) -> dict:
    by = {}
    for b in doc.get("benchmarks", []):
        by.setdefault(b["scenario"], []).append(b)
    figures = []
    for scenario in ("spawn", "live"):
        if scenario in by:
            img = plots.rss_over_time(by[scenario], f"{scenario}: RSS over time (faint: every trial, bold: median)")
            if img:
                figures.append({"title": f"{scenario}: RSS over time", "png": img})
    if "http" in by:
        for title, img in (("http: RSS against connections", plots.rss_vs_connections(by["http"])),
                           ("http: latency by percentile", plots.latency_spectrum(by["http"]))):
            if img:
                figures.append({"title": title, "png": img})
    dots = []
    for scenario, key in headline_keys([doc]):
        benches = by.get(scenario, [])
        if benches and key in benches[0].get("metrics", {}):
            img = plots.trial_dots(benches, key, benches[0]["metrics"][key])
            if img:
                dots.append({"title": f"{scenario}: {benches[0]['metrics'][key]['label']}", "png": img})
    settings = {b["runtime"]: b.get("settings", {}) for b in doc.get("benchmarks", []) if b.get("settings")}
    started = doc.get("started_at")
    return {
        "label": label_of(doc), "doc": doc, "figures": figures, "dots": dots, "settings": settings,
        "warnings": warnings_of(doc),
        "started": datetime.fromtimestamp(started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if started else "?",
        "params": {b["scenario"]: b.get("params", {}) for b in doc.get("benchmarks", [])},
    }


def render_report(docs: list[dict], title: str = "Concurrency benchmark report") -> str:
    if not docs:
        raise HarnessError("no results files to report on")
    cols, rows = headline_rows(docs)
    return env.get_template("report.html.j2").render(
        title=title, columns=cols, rows=rows, sections=[doc_section(d) for d in docs],
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_report(docs: list[dict], out: Path, title: str = "Concurrency benchmark report") -> None:
    html = render_report(docs, title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html)
    except OSError as e:
        raise HarnessError(f"cannot write {out}: {e.strerror or e}") from None
