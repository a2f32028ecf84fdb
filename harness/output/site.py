"""The per-release site: `harness publish` puts a release's report and results
files under DIR/releases/<release>/ and rebuilds DIR/index.html from every
release's small headline.json, with one trend chart per headline metric."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import HarnessError
from harness.output import plots
from harness.output.report import env, label_of, write_report
from harness.record.model import FALLBACK_COLOURS, Results
from harness.record.units import fmt_value

RELEASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def _version_key(name: str):
    parts = re.findall(r"\d+|[^\d.]+", name)
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts]


def headline_numbers(docs: list[Results]) -> list[dict]:
    out = []
    for d in docs:
        for b in d.benchmarks:
            for key, meta in b.metrics.items():
                s = b.summary.get(key)
                if meta.headline and s and s.get("n"):
                    out.append(
                        {
                            "arch": d.arch,
                            "emulated": d.emulated,
                            "runtime": b.runtime,
                            "scenario": b.scenario,
                            "metric": key,
                            "label": meta.label,
                            "unit": meta.unit,
                            "better": meta.better,
                            "median": s["median"],
                            "colour": d.colour(b.runtime),
                        }
                    )
    return out


def publish(paths: list[Path], docs: list[Results], release: str, site: Path) -> Path:
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
        (rel_dir / "headline.json").write_text(
            json.dumps(
                {
                    "release": release,
                    "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "files": [p.name for p in paths],
                    "labels": [label_of(d) for d in docs],
                    "headline": headline_numbers(docs),
                },
                indent=1,
            )
        )
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
            m = metrics.setdefault(
                f"{h['scenario']}:{h['metric']}",
                {"label": f"{h['scenario']}: {h['label']}", "unit": h["unit"], "series": {}},
            )
            series = f"{h['runtime']} {h['arch']}{' emulated' if h['emulated'] else ''}"
            m["series"].setdefault(series, []).append((i, h["median"]))
    colours = {h["runtime"]: h["colour"] for r in releases for h in r["headline"] if h.get("colour")}

    def colour(runtime: str, index: int) -> str:  # as each release's results file recorded it
        return colours.get(runtime) or FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)]

    charts = [
        {"title": m["label"], "png": plots.trend(m["series"], names, m["label"], m["unit"], colour)}
        for key, m in metrics.items()
    ]
    rows = []
    for r in reversed(releases):
        cells: dict[str, list[str]] = {}
        for h in r["headline"]:
            cells.setdefault(f"{h['scenario']}: {h['label']}", []).append(
                f"{h['runtime']}/{h['arch']}{'*' if h['emulated'] else ''} {fmt_value(h['median'], h['unit'])}"
            )
        rows.append(
            {
                "release": r["release"],
                "published": r.get("published_at", ""),
                "labels": r.get("labels", []),
                "cells": cells,
            }
        )
    html = env.get_template("site_index.html.j2").render(
        rows=rows, charts=charts, generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    (site / "index.html").write_text(html)
