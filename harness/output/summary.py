"""The terminal summary: one table per scenario, runtimes side by side, read only
from the results file."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from harness.record import views
from harness.record.model import Benchmark, MetricMeta, Results
from harness.record.units import fmt_value
from harness.stats import precision, ratios, variance
from harness.subjects import SCENARIOS


def _cell(summary: dict | None, unit: str, best: bool, flag: str = "") -> str:
    if not summary or not summary.get("n"):
        return "-"
    coverage = summary.get("ci_coverage")
    text = (
        f"{fmt_value(summary['median'], unit)}\n"
        f"[dim][{fmt_value(summary['ci_low'], unit, False)}, {fmt_value(summary['ci_high'], unit, False)}]"
        + (f" {confidence(coverage)}" if coverage is not None and summary.get("n", 0) > 1 else "")
        + (f" ±{100 * summary['cv']:.0f}%" if summary.get("cv") is not None else "")
        + "[/dim]"
    )
    if flag:
        return f"{text}\n[bold yellow]{flag}[/bold yellow]"
    return f"[bold green]★ {text}[/bold green]" if best else text


def render(results: Results, console: Console | None = None, variance: bool = False, target_pct: float = 0) -> None:
    """The tables; `variance`: each headline metric's variance by level and the counts that would
    reach `target_pct` (the suite's precision target, else 5%) in the least time."""
    console = console or Console(width=max(120, Console().width))
    host, plan = results.host, results.cpu_plan
    emulated = " [bold red]EMULATED[/bold red]" if results.emulated else ""
    console.print(
        f"[bold]{results.suite.get('name', '?')}[/bold] suite on {host.get('cpu_model', '?')} "
        f"({results.arch}{emulated}, backend {results.backend}), workload CPUs "
        f"{plan.get('workload')} (W={plan.get('workers')}), status [bold]{results.status}[/bold]"
    )
    for scenario, benches in results.by_scenario().items():
        if any(b.point for b in benches):
            _series(console, scenario, benches)
            continue
        floor = results.floor_of(scenario)
        table = Table(title=f"{scenario}  ({_params(benches[0].params)})", title_justify="left")
        table.add_column("metric")
        labels = [results.label_of(b.runtime, scenario) for b in benches]
        for b, label in zip(benches, labels, strict=True):
            table.add_column(f"{b.runtime}\n[yellow]{label}[/yellow]" if label else b.runtime, justify="right")
        if floor:
            table.add_column("[dim]floor (instrument)[/dim]", justify="right")
        for key, meta in benches[0].metrics.items():
            cells = _row(benches, key, meta, ranked=[not label for label in labels])
            if floor:
                cells.append(f"[dim]{_cell(floor.summary.get(key), meta.unit, False)}[/dim]")
            table.add_row(f"{meta.label} ({meta.arrow})", *cells)
        extra = [floor] if floor else []
        table.add_row("[dim]trials ok / failed / noisy[/dim]", *[_counts(b) for b in [*benches, *extra]])
        table.add_row("[dim]CPU steal median (max)[/dim]", *[_steal(b) for b in [*benches, *extra]])
        if "force_gc" in benches[0].params:
            table.add_row("[dim]forced collection[/dim]", *[b.forced_gc for b in benches], *["" for _ in extra])
        if any(b.profiled for b in benches):
            table.add_row("[dim]profiled trial ÷ median[/dim]", *[_overhead(b) for b in benches], *["" for _ in extra])
        console.print(table)
        if any(b.profiled for b in benches):
            for b in benches:
                if not b.profiled and (why := results.no_profiler(b.runtime)):
                    console.print(f"[yellow]{b.runtime}: not profiled — {why}[/yellow]", highlight=False)
        kind = SCENARIOS.get(scenario)
        for detail in kind.tables(benches, floor) if kind else []:
            console.print(rich_table(detail))
        if floor:
            console.print(
                "[dim]floor: the instrument alone (http: the load generator against its reference responder, "
                "answers only, at the largest stage, on the workload's CPUs; startup: that responder started, "
                "polled and verified like the servers, its own start included: a reference for the start path, "
                "not a lower bound): what it adds by itself[/dim]"
            )
        for note in kind.notes if kind else ():
            console.print(f"[dim]note: {note}[/dim]")
        for name, label in zip((b.runtime for b in benches), labels, strict=True):
            if label:
                console.print(f"[yellow]{name}: {label} — ranked apart (no ★ against the others)[/yellow]")
        for name, why in results.not_measured(scenario).items():
            console.print(f"[yellow]{name}: not measured — {why}[/yellow]", highlight=False)
        ratios = ratio_table(benches)
        if ratios:
            console.print(ratios)
        if variance:
            target = target_pct or (results.suite.get("precision") or {}).get("target_pct") or 5.0
            by_level = variance_table(benches, target / 100)
            if by_level.row_count:  # one trial of each (a build) has no variance to split
                console.print(by_level)
        for b in [*benches, *extra]:
            for t in b.trials:
                if not t.ok:
                    console.print(f"[red]{b.id} round {t.round}: {t.error}[/red]")
            reasons = sorted({t.incomparable["reason"] for t in b.measured if t.incomparable})
            for r in reasons:
                console.print(
                    f"[yellow]{b.id}: {r} — its latencies are not compared as if the load had been the same[/yellow]"
                )
    for line in precision_lines(results):
        console.print(line, highlight=False)
    ships = results.footprints
    if ships:
        table = Table(title="what ships (bytes on disk, from the build)", title_justify="left")
        table.add_column("")
        for runtime in ships:
            table.add_column(runtime, justify="right")
        for key, label in FOOTPRINT_ROWS:
            if any(fp.get(key) for fp in ships.values()):
                table.add_row(label, *[fmt_value(fp[key], "B") if fp.get(key) else "-" for fp in ships.values()])
        console.print(table)
    subjects = list(dict.fromkeys(b.runtime for b in results.benchmarks))
    if subjects:
        console.print("[bold]subjects[/bold] (toolchain; build flags; run settings)")
        for name in subjects:
            console.print(f"  {name}: {results.setup_of(name)}", highlight=False)
    for w in results.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print(
        "[dim]cells: median, \\[confidence interval of the median] and the confidence it really has (order "
        "statistics: 75% with 3 trials, 93.75% with 5, 95% from 6), ±coefficient of variation; ★ best median per "
        "row; ↑ higher is better, ↓ lower[/dim]"
    )


FOOTPRINT_ROWS = (
    ("program_bytes", "program (binary, or jar + libraries)"),
    ("runtime_bytes", "runtime it needs beside it (Java: the JDK found)"),
    ("image_bytes", "container image (program + runtime + OS files)"),
    ("total_bytes", "total"),
)


def confidence(coverage: float) -> str:
    """The confidence an interval really has, as a label: "95% CI", "93.75% CI", "75% CI"."""
    return f"{100 * coverage:.4g}% CI"


def ratio_table(benches: list[Benchmark]) -> Table | None:
    """Each subject against its reference (a variant against its runtime, the others against the first
    runtime), per headline metric: the ratio of medians with its 95% two-level bootstrap interval."""
    found = ratios.of_scenario(benches)
    if not found:
        return None
    pairs = list(dict.fromkeys((r.numerator, r.denominator) for r in found))
    table = Table(
        title=f"{benches[0].scenario}: ratios of medians [95% two-level bootstrap interval]"
        + (", paired by round" if all(r.paired for r in found) else ""),
        title_justify="left",
    )
    table.add_column("metric")
    for a, b in pairs:
        table.add_column(f"{a} ÷ {b}", justify="right")
    metas = {k: m for b in benches for k, m in b.metrics.items()}
    for key in dict.fromkeys(r.metric for r in found):
        cells = []
        for a, b in pairs:
            r = next((x for x in found if (x.numerator, x.denominator, x.metric) == (a, b, key)), None)
            if r is None:
                cells.append("-")
            else:
                cell = f"{r.ratio:.3g}× [{r.low:.3g}, {r.high:.3g}]"
                cells.append(cell if r.shown else f"[dim]{cell}\nno difference shown[/dim]")
        table.add_row(f"{metas[key].label} ({metas[key].arrow})", *cells)
    return table


def variance_table(benches: list[Benchmark], target: float) -> Table:
    """Variance by level (Kalibera & Jones) of each headline metric, and the counts that reach `target`."""
    table = Table(
        title=f"{benches[0].scenario}: variance by level, and what reaches ±{100 * target:g}% in the least time",
        title_justify="left",
    )
    for col in (
        "benchmark",
        "metric",
        "CV between processes",
        "CV within a process",
        "dominant",
        "now: n × r, ±",
        f"for ±{100 * target:g}%: n × r, time",
    ):
        table.add_column(col, justify="left" if col in ("benchmark", "metric", "dominant") else "right")
    for r in variance.rows(benches, target):
        table.add_row(
            r.benchmark,
            r.metric,
            f"{100 * r.components.between**0.5:.1f}%",
            r.cv_within_text,
            r.components.dominant,
            r.now_text,
            r.plan_text,
        )
    return table


def precision_lines(results: Results) -> list[str]:
    """Which metrics reached the suite's precision target (and why the session stopped adding trials)."""
    section = results.suite.get("precision") or {}
    target = precision.Target.of_suite(section)
    if target.default_pct <= 0 and not target.per_metric:
        return []
    standing = [s for b in [*results.benchmarks, *results.floors.values()] for s in precision.standings(b, target)]
    missed = [s for s in standing if not s.reached]
    targets = [f"±{target.default_pct:g}%" + (" for the others" if target.per_metric else "")]
    targets = [f"{k} ±{v:g}%" for k, v in target.per_metric.items()] + (targets if target.default_pct > 0 else [])
    lines = [
        f"[bold]precision[/bold] (95% interval of the mean over processes, target {', '.join(targets)}"
        + f"): reached by {len(standing) - len(missed)} of {len(standing)} metrics"
    ]
    for log in results.raw.get("precision_log") or []:
        lines.append(
            f"  {log['scenario']}: {log['rounds_added']} round(s) added in {log['spent_s']:.0f} s, "
            f"stopped: {log['stopped']}"
        )
    for s in missed:
        lines.append(
            f"  [yellow]not reached[/yellow]: {s.benchmark} {s.metric} ±{100 * s.half_width:.1f}%"
            f" (target ±{100 * s.target:g}%)"
        )
    return lines


def _series(console: Console, scenario: str, benches: list[Benchmark]) -> None:
    """A swept scenario: each metric as a series, one row per point, runtimes side by side."""
    runtimes = list(dict.fromkeys(b.runtime for b in benches))
    points = list(dict.fromkeys(json.dumps(b.point, sort_keys=True) for b in benches))
    by = {(b.runtime, json.dumps(b.point, sort_keys=True)): b for b in benches}
    for key, meta in benches[0].metrics.items():
        table = Table(title=f"{scenario}: {meta.label} ({meta.arrow}) by point", title_justify="left")
        table.add_column("point")
        for rt in runtimes:
            table.add_column(rt, justify="right")
        for pt in points:
            label = ", ".join(f"{k}={v}" for k, v in json.loads(pt).items()) or "-"
            row = [by.get((rt, pt)) for rt in runtimes]
            table.add_row(label, *[_cell(b.summary.get(key), meta.unit, False) if b else "-" for b in row])
        console.print(table)


def _row(benches: list[Benchmark], key: str, meta: MetricMeta, ranked: list[bool] | None = None) -> list[str]:
    """One metric across runtimes; the best median starred, unless some runtime was
    not measured as asked (overloaded): then nobody is, and the cell says why. A subject
    that measures the scenario differently (`ranked` False: a labelled one) is never starred."""
    summaries = [b.summary.get(key) for b in benches]
    flags = [f"overloaded in {len(r)}/{len(b.measured)}" if (r := b.incomparable(key)) else "" for b in benches]
    ranks = ranked or [True] * len(benches)
    medians = [s["median"] if s and s.get("n") and r else None for s, r in zip(summaries, ranks, strict=True)]
    best = views.best_index(medians, meta.better, comparable=not any(flags))
    return [_cell(s, meta.unit, i == best, f) for i, (s, f) in enumerate(zip(summaries, flags, strict=True))]


def rich_table(model: views.Table) -> Table:
    """A scenario's own table (e.g. http per stage), as the terminal shows it."""
    table = Table(title=model.title, title_justify="left")
    for i, name in enumerate(model.columns):
        muted = i - 1 in model.muted_columns
        table.add_column(f"[dim]{name}[/dim]" if muted else name, justify="left" if i == 0 else "right")
    for label, cells in model.rows:
        table.add_row(label, *[_model_cell(c) for c in cells])
    return table


def _model_cell(c: views.Cell | None) -> str:
    if c is None:
        return ""
    text = c.text + (f"\n{c.sub}" if c.sub else "")
    if c.muted:
        text = f"[dim]{text}[/dim]"
    return text + (f"\n[bold yellow]{c.flag}[/bold yellow]" if c.flag else "")


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in params.items())


def _counts(b: Benchmark) -> str:
    measured = [t for t in b.trials if not t.warmup]
    ok = sum(1 for t in measured if t.ok and not t.excluded)
    failed = sum(1 for t in measured if not t.ok)
    noisy = sum(1 for t in measured if t.noisy)
    return f"{ok} / {failed} / {noisy}"


def _overhead(b: Benchmark) -> str:
    """How far the profiled trial's headline figures moved from the measured median: the profiler's cost."""
    t = b.profiled
    if t is None:
        return "-"
    if not t.ok:
        return "[red]failed[/red]"
    return "\n".join(f"{k} ×{r:.2f}" for k, r in b.profiler_overhead().items()) or "-"


def _steal(b: Benchmark) -> str:
    steals = sorted(s for t in b.trials if (s := t.steal_pct) is not None)
    if not steals:
        return "-"
    return f"{steals[len(steals) // 2]:.1f}% ({steals[-1]:.1f}%)"
