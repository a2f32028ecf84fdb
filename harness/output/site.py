"""The per-release site: `harness publish` puts a release's report and results
files under DIR/releases/<release>/ and rebuilds, from every release's small
headline.json (never the full results), the trend page (DIR/index.html) and
the changes page (DIR/changes.html).

A trend never joins two releases measured by different methods: each point
carries its method (harness version, workload protocol, load generator build,
the benchmark's parameters, backend, toolchain) and a change of any of them
is a break, drawn and said. Each point is a median with its interval and trial
count, in the tables' units. Between a release and the one before it (same
method) the unpaired gate gives a verdict per headline metric; over a whole
method segment, E-Divisive means lists the releases where a metric moved.

Every release read is validated: a damaged one stops publishing with one line
naming its file (or, with --skip-damaged, is listed as left out, here and on
the page). Every file is written atomically, the release directory swapped in
whole, so an interrupted publish leaves the previous site as it was."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import fastjsonschema

from harness.errors import HarnessError
from harness.gate import compare
from harness.output import plots
from harness.output.report import env, label_of, render_report, write_atomically
from harness.record.model import FALLBACK_COLOURS, Results
from harness.record.model import load as load_results
from harness.record.units import fmt_value
from harness.stats import changepoints

RELEASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
HEADLINE_VERSION = 2
METHOD_KEYS = ("harness", "protocol", "loadgen", "params", "backend", "toolchain")
METHOD_NAMES = {
    "harness": "harness version",
    "protocol": "workload protocol",
    "loadgen": "load generator build",
    "params": "the benchmark's suite parameters",
    "backend": "backend",
    "toolchain": "toolchain",
}
_ENTRY = {
    "type": "object",
    "required": ["arch", "emulated", "runtime", "scenario", "metric", "label", "unit", "better", "median"],
    "properties": {
        "arch": {"type": "string"},
        "emulated": {"type": "boolean"},
        "runtime": {"type": "string"},
        "scenario": {"type": "string"},
        "metric": {"type": "string"},
        "unit": {"type": "string"},
        "better": {"enum": ["higher", "lower"]},
        "median": {"type": "number"},
        "ci_low": {"type": ["number", "null"]},
        "ci_high": {"type": ["number", "null"]},
        "n": {"type": "integer"},
        "method": {"type": "object"},
        "colour": {"type": ["string", "null"]},
        "subject_label": {"type": "string"},
    },
}
_VALIDATE = fastjsonschema.compile(
    {
        "type": "object",
        "required": ["release", "headline"],
        "properties": {
            "release": {"type": "string", "minLength": 1},
            "published_at": {"type": "string"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "headline": {"type": "array", "items": _ENTRY},
            "verdicts": {"type": "array"},
        },
    }
)


def _version_key(name: str):
    parts = re.findall(r"\d+|[^\d.]+", name)
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts]


def method_of(d: Results, b) -> dict:
    """What measured this benchmark: a change of any of it makes its trend a new line."""
    trial_protocols = {t.protocol for t in b.measured if t.workload}
    protocol = d.raw.get("protocol") or (sorted(p for p in trial_protocols if p) or [None])[0]
    return {
        "harness": d.raw.get("harness_version"),
        "protocol": protocol,
        # the load generator measures the scenarios it drives beside an instrument floor of its own
        "loadgen": (d.raw.get("loadgen") or {}).get("cache_key") if d.floor_of(b.scenario) else None,
        "params": hashlib.sha256(json.dumps(b.params, sort_keys=True).encode()).hexdigest()[:12],
        "backend": d.backend,
        "toolchain": d.toolchain_of(b.runtime),
    }


def headline_numbers(docs: list[Results]) -> list[dict]:
    out = []
    for d in docs:
        for b in d.benchmarks:
            if b.point:
                continue  # a sweep's points have their curves in the release's report
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
                            "ci_low": s.get("ci_low"),
                            "ci_high": s.get("ci_high"),
                            "ci_coverage": s.get("ci_coverage"),
                            "n": s["n"],
                            "method": method_of(d, b),
                            "colour": d.colour(b.runtime),
                            # measured differently (Zig's spawn: a pool): carried into every trend's name
                            **({"subject_label": label} if (label := d.label_of(b.runtime, b.scenario)) else {}),
                        }
                    )
    return out


# --- reading the site ------------------------------------------------------------------------


def read_releases(site: Path, skip_damaged: bool) -> tuple[list[dict], list[str]]:
    """Every release's headline.json, validated; (releases in version order, the ones left out)."""
    releases, damaged = [], []
    for f in sorted((site / "releases").glob("*/headline.json")):
        try:
            doc = json.loads(f.read_text())
            _VALIDATE(doc)
        except (OSError, ValueError, fastjsonschema.JsonSchemaException) as e:
            why = getattr(e, "message", None) or str(e).splitlines()[0]
            if not skip_damaged:
                raise HarnessError(
                    f"release file {f} is damaged ({why}): repair or remove it, or publish with --skip-damaged"
                ) from None
            damaged.append(f"{f.parent.name} ({f}: {why})")
            continue
        releases.append(doc)
    releases.sort(key=lambda r: _version_key(r["release"]))
    return releases, damaged


def _series_key(h: dict) -> str:
    label = f" ({h['subject_label']})" if h.get("subject_label") else ""
    return f"{h['runtime']}{label} {h['arch']}{' emulated' if h['emulated'] else ''}"


def _changed(a: dict, b: dict) -> list[str]:
    return [METHOD_NAMES[k] for k in METHOD_KEYS if (a or {}).get(k) != (b or {}).get(k)]


def trends(releases: list[dict]) -> list[dict]:
    """Per (scenario, metric): the series per subject and architecture, split where the method changed."""
    charts: dict[str, dict] = {}
    for i, r in enumerate(releases):
        for h in r["headline"]:
            c = charts.setdefault(
                f"{h['scenario']}:{h['metric']}",
                {"label": f"{h['scenario']}: {h['label']}", "unit": h["unit"], "better": h["better"], "series": {}},
            )
            c["series"].setdefault(_series_key(h), []).append((i, h))
    out = []
    for key, c in charts.items():
        series: dict[str, list] = {}
        breaks: dict[int, set[str]] = {}
        rows: list[dict] = []
        for name, pts in c["series"].items():
            seg, last = 0, None
            points = []
            for i, h in pts:
                why: list[str] = _changed(last["method"], h.get("method") or {}) if last is not None else []
                if why:
                    seg += 1
                    breaks.setdefault(i, set()).update(why)
                points.append((i, h["median"], h.get("ci_low", h["median"]), h.get("ci_high", h["median"]), seg))
                rows.append(
                    {
                        "release": releases[i]["release"],
                        "series": name,
                        "median": fmt_value(h["median"], h["unit"]),
                        "interval": _interval(h),
                        "n": h.get("n", "?"),
                        "break": ", ".join(why),
                    }
                )
                last = h
            series[name] = points
        out.append(
            {
                "key": key,
                "title": c["label"],
                "unit": c["unit"],
                "better": c["better"],
                "series": series,
                "breaks": sorted((i - 0.5, ", ".join(sorted(w))) for i, w in breaks.items()),
                "rows": rows,
            }
        )
    return out


def _interval(h: dict) -> str:
    if h.get("ci_low") is None:
        return "–"
    return f"{fmt_value(h['ci_low'], h['unit'])} – {fmt_value(h.get('ci_high'), h['unit'])}"


def change_points(releases: list[dict], chart: dict, min_shift: float = 0.03) -> list[dict]:
    """Within each method segment of each series, the releases where the metric moved (E-Divisive)."""
    out = []
    for name, pts in chart["series"].items():
        for seg in sorted({p[4] for p in pts}):
            part = [p for p in pts if p[4] == seg]
            if len(part) < 4:
                continue
            for cp in changepoints.detect([p[1] for p in part], min_shift=min_shift):
                at = part[cp.index][0]
                worse = cp.shift < 0 if chart["better"] == "higher" else cp.shift > 0
                out.append(
                    {
                        "release": releases[at]["release"],
                        "index": at,
                        "chart": chart["title"],
                        "series": name,
                        "shift": f"{100 * cp.shift:+.1f}%",
                        "kind": "regression" if worse else "improvement",
                        "before": fmt_value(cp.before, chart["unit"]),
                        "after": fmt_value(cp.after, chart["unit"]),
                        "p": f"{cp.p_value:.3f}",
                    }
                )
    return out


# --- release over release ---------------------------------------------------------------------


def release_verdicts(previous: list[Results], current: list[Results]) -> list[dict]:
    """The unpaired gate between this release and the one before it, per architecture, for every
    headline metric measured by the same method in both (other pairs are said not comparable)."""
    out = []
    for cur in current:
        prev = next((p for p in previous if p.arch == cur.arch and p.emulated == cur.emulated), None)
        if prev is None:
            continue
        problems = compare.comparability_problems(prev, cur)
        if problems:
            out.append(
                {"arch": cur.arch, "benchmark": "*", "metric": "*", "verdict": "not comparable", "why": problems[0]}
            )
            continue
        same = [b for b in cur.benchmarks if (p := prev.benchmark(b.id)) and method_of(prev, p) == method_of(cur, b)]
        for b in cur.benchmarks:
            p = prev.benchmark(b.id)
            if p is not None and b not in same:
                why = ", ".join(_changed(method_of(prev, p), method_of(cur, b)))
                out.append(
                    {
                        "arch": cur.arch,
                        "benchmark": b.id,
                        "metric": "*",
                        "verdict": "not comparable",
                        "why": f"method changed: {why}",
                    }
                )
        ids = {b.id for b in same}
        try:
            comparisons = [
                c
                for c in compare.gate(prev, cur, compare.Options(allow_missing=True))
                if c.benchmark in ids and c.gated
            ]
        except HarnessError as e:
            out.append({"arch": cur.arch, "benchmark": "*", "metric": "*", "verdict": "not comparable", "why": str(e)})
            continue
        for c in comparisons:
            entry: dict = {
                "arch": cur.arch,
                "benchmark": c.benchmark,
                "metric": c.label,
                "verdict": c.verdict.value if c.verdict else "-",
                "change": None if c.change is None else f"{100 * c.change:+.1f}%",
                "interval": None,
                "why": c.reason.text if c.reason else "",
            }
            if c.ci_low is not None and c.ci_high is not None:
                entry["interval"] = f"[{100 * c.ci_low:+.1f}%, {100 * c.ci_high:+.1f}%]"
            out.append(entry)
    return out


def _previous_docs(site: Path, release: str, releases: list[dict]) -> list[Results]:
    older = [r for r in releases if _version_key(r["release"]) < _version_key(release)]
    if not older:
        return []
    prev = older[-1]
    docs = []
    for f in sorted((site / "releases" / prev["release"] / "results").glob("*.json")):
        try:
            docs.append(load_results(f, mark_crashed=False))
        except HarnessError:
            continue
    return docs


# --- writing the site ---------------------------------------------------------------------------


def publish(paths: list[Path], docs: list[Results], release: str, site: Path, skip_damaged: bool = False) -> Path:
    if not RELEASE_RE.match(release):
        raise HarnessError(f"--release {release!r}: use a plain version such as v1.2.3")
    releases, _ = read_releases(site, skip_damaged)  # a damaged site stops here, before anything is written
    rel_dir = site / "releases" / release
    tmp = site / "releases" / f".{release}.tmp-{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "results").mkdir(parents=True)
        for p in paths:
            shutil.copy2(p, tmp / "results" / p.name)
        verdicts = release_verdicts(_previous_docs(site, release, releases), docs)
        html = render_report(docs, title=f"Release {release}", verdicts=verdicts)
        write_atomically(tmp / "index.html", html)
        headline = {
            "headline_version": HEADLINE_VERSION,
            "release": release,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": [p.name for p in paths],
            "labels": [label_of(d) for d in docs],
            "headline": headline_numbers(docs),
            "verdicts": verdicts,
        }
        write_atomically(tmp / "headline.json", json.dumps(headline, indent=1))
        old = site / "releases" / f".{release}.old-{os.getpid()}"
        if rel_dir.exists():  # publishing a release again replaces it, whole
            os.replace(rel_dir, old)
        os.replace(tmp, rel_dir)
        shutil.rmtree(old, ignore_errors=True)
        render_index(site, skip_damaged)
    except OSError as e:
        raise HarnessError(f"cannot publish to {site}: {e.strerror or e} (the site as it was is kept)") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rel_dir


def render_index(site: Path, skip_damaged: bool = False) -> list[str]:
    """DIR/index.html (trends) and DIR/changes.html from every release's headline.json (never the
    full results), so a site of hundreds of releases renders in seconds; returns the releases left out."""
    releases, damaged = read_releases(site, skip_damaged)
    names = [r["release"] for r in releases]
    colours = {h["runtime"]: h["colour"] for r in releases for h in r["headline"] if h.get("colour")}

    def colour(runtime: str, index: int) -> str:  # as each release's results file recorded it
        return colours.get(runtime) or FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)]

    charts = trends(releases)
    for c in charts:
        c["png"] = plots.trend(c["series"], names, c["title"], c["unit"], colour, c["breaks"])
        c["breaks_text"] = [(names[int(x + 0.5)], why) for x, why in c["breaks"]]
    changes = sorted((cp for c in charts for cp in change_points(releases, c)), key=lambda cp: -cp["index"])
    rows = []
    for r in reversed(releases):
        moved = [v for v in r.get("verdicts") or [] if v.get("verdict") in ("regression", "improvement")]
        rows.append(
            {
                "release": r["release"],
                "published": r.get("published_at", ""),
                "labels": r.get("labels", []),
                "verdicts": moved,
                "undecided": sum(1 for v in r.get("verdicts") or [] if v.get("verdict") == "undecided"),
                "same": sum(1 for v in r.get("verdicts") or [] if v.get("verdict") == "no change"),
            }
        )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_atomically(
        site / "index.html",
        env.get_template("site_index.html.j2").render(charts=charts, rows=rows, damaged=damaged, generated=generated),
    )
    write_atomically(
        site / "changes.html",
        env.get_template("site_changes.html.j2").render(
            changes=changes, rows=rows, damaged=damaged, generated=generated
        ),
    )
    return damaged
