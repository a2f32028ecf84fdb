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

from harness import plots
from harness.errors import HarnessError
from harness.metrics import fmt_value

CV_WARNING = 0.10
# The comparison table a reader comes for: (scenario, metric key).
HEADLINE = [("spawn", "tasks_per_sec"), ("spawn", "latency_mean_ns"), ("spawn", "peak_rss_bytes"),
            ("live", "bytes_per_task"), ("http", "kib_per_connection"), ("http", "latency_p50_ns"),
            ("http", "latency_p99_ns"), ("http", "latency_p999_ns"), ("http", "max_requests_per_sec")]

_env = Environment(loader=PackageLoader("harness", "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)


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
    for scenario, key in HEADLINE:
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
    for scenario, key in HEADLINE:
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
    return _env.get_template("report.html.j2").render(
        title=title, columns=cols, rows=rows, sections=[doc_section(d) for d in docs],
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_report(docs: list[dict], out: Path, title: str = "Concurrency benchmark report") -> None:
    html = render_report(docs, title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html)
    except OSError as e:
        raise HarnessError(f"cannot write {out}: {e.strerror or e}") from None


# --- the per-release site -----------------------------------------------------------

RELEASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def _version_key(name: str):
    parts = re.findall(r"\d+|[^\d.]+", name)
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts]


def headline_numbers(docs: list[dict]) -> list[dict]:
    out = []
    for d in docs:
        for b in d.get("benchmarks", []):
            for scenario, key in HEADLINE:
                s = b.get("summary", {}).get(key)
                if b["scenario"] == scenario and s and s.get("n"):
                    meta = b["metrics"][key]
                    out.append({"arch": d.get("arch"), "emulated": bool(d.get("emulated")), "runtime": b["runtime"],
                                "scenario": scenario, "metric": key, "label": meta["label"], "unit": meta["unit"],
                                "better": meta["better"], "median": s["median"]})
    return out


def publish(paths: list[Path], docs: list[dict], release: str, site: Path) -> Path:
    if not RELEASE_RE.match(release):
        raise HarnessError(f"--release {release!r}: use a plain version such as v1.2.3")
    rel_dir = site / "releases" / release
    try:
        if rel_dir.exists():
            shutil.rmtree(rel_dir)  # publishing a release again replaces it
        (rel_dir / "results").mkdir(parents=True)
        for p in paths:
            shutil.copy2(p, rel_dir / "results" / p.name)
        write_report(docs, rel_dir / "index.html", title=f"Release {release}")
        (rel_dir / "headline.json").write_text(json.dumps({
            "release": release, "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": [p.name for p in paths], "labels": [label_of(d) for d in docs],
            "headline": headline_numbers(docs)}, indent=1))
        render_index(site)
    except OSError as e:
        raise HarnessError(f"cannot publish to {site}: {e.strerror or e}") from None
    return rel_dir


def render_index(site: Path) -> None:
    """DIR/index.html from every release's small headline.json (never the full
    results), so a site of hundreds of releases renders in seconds."""
    releases = []
    for f in (site / "releases").glob("*/headline.json"):
        try:
            releases.append(json.loads(f.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    releases.sort(key=lambda r: _version_key(r["release"]))
    names = [r["release"] for r in releases]
    metrics: dict[str, dict] = {}
    for i, r in enumerate(releases):
        for h in r["headline"]:
            m = metrics.setdefault(f"{h['scenario']}:{h['metric']}", {"label": f"{h['scenario']}: {h['label']}",
                                                                      "unit": h["unit"], "series": {}})
            series = f"{h['runtime']} {h['arch']}{' emulated' if h['emulated'] else ''}"
            m["series"].setdefault(series, []).append((i, h["median"]))
    charts = [{"title": m["label"], "png": plots.trend(m["series"], names, m["label"], m["unit"])}
              for key, m in metrics.items()]
    rows = []
    for r in reversed(releases):
        cells = {}
        for h in r["headline"]:
            cells.setdefault(f"{h['scenario']}: {h['label']}", []).append(
                f"{h['runtime']}/{h['arch']}{'*' if h['emulated'] else ''} {fmt_value(h['median'], h['unit'])}")
        rows.append({"release": r["release"], "published": r.get("published_at", ""), "labels": r.get("labels", []),
                     "cells": cells})
    html = _env.get_template("site_index.html.j2").render(rows=rows, charts=charts,
                                                          generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    (site / "index.html").write_text(html)
