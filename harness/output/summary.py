"""The terminal summary: one table per scenario, runtimes side by side, read only
from the results file."""

from __future__ import annotations

import statistics

from rich.console import Console
from rich.table import Table

from harness.record.model import Benchmark, MetricMeta, Results
from harness.record.units import fmt_value


def _cell(summary: dict | None, unit: str, best: bool) -> str:
    if not summary or not summary.get("n"):
        return "-"
    text = (
        f"{fmt_value(summary['median'], unit)}\n"
        f"[dim][{fmt_value(summary['ci_low'], unit, False)}, {fmt_value(summary['ci_high'], unit, False)}]"
        + (f" ±{100 * summary['cv']:.0f}%" if summary.get("cv") is not None else "")
        + "[/dim]"
    )
    return f"[bold green]★ {text}[/bold green]" if best else text


def render(results: Results, console: Console | None = None) -> None:
    console = console or Console(width=max(120, Console().width))
    host, plan = results.host, results.cpu_plan
    emulated = " [bold red]EMULATED[/bold red]" if results.emulated else ""
    console.print(
        f"[bold]{results.suite.get('name', '?')}[/bold] suite on {host.get('cpu_model', '?')} "
        f"({results.arch}{emulated}, backend {results.backend}), workload CPUs "
        f"{plan.get('workload')} (W={plan.get('workers')}), status [bold]{results.status}[/bold]"
    )
    for scenario, benches in results.by_scenario().items():
        table = Table(title=f"{scenario}  ({_params(benches[0].params)})", title_justify="left")
        table.add_column("metric")
        for b in benches:
            table.add_column(b.runtime, justify="right")
        for key, meta in benches[0].metrics.items():
            table.add_row(f"{meta.label} ({meta.arrow})", *_row(benches, key, meta))
        table.add_row("[dim]trials ok / failed / noisy[/dim]", *[_counts(b) for b in benches])
        table.add_row("[dim]CPU steal median (max)[/dim]", *[_steal(b) for b in benches])
        console.print(table)
        if scenario == "http":
            console.print(_http_stages(benches))
        for b in benches:
            for t in b.trials:
                if not t.ok:
                    console.print(f"[red]{b.id} round {t.round}: {t.error}[/red]")
    for w in results.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print(
        "[dim]cells: median, [95% CI of the median] ±coefficient of variation; ★ best median per row; "
        "↑ higher is better, ↓ lower[/dim]"
    )


def _row(benches: list[Benchmark], key: str, meta: MetricMeta) -> list[str]:
    summaries = [b.summary.get(key) for b in benches]
    medians = [s["median"] if s and s.get("n") else None for s in summaries]
    present = [m for m in medians if m is not None]
    best = (max(present) if meta.better == "higher" else min(present)) if len(present) > 1 else None
    return [_cell(s, meta.unit, m is not None and m == best) for s, m in zip(summaries, medians, strict=True)]


def _http_stages(benches: list[Benchmark]) -> Table:
    """Per ramp stage: median over measured trials of corrected p50/p99/p99.9,
    the achieved rate, and connections the server closed (must be 0)."""
    table = Table(
        title="http per stage (corrected latency p50 / p99 / p99.9, achieved req/s, closed by server)",
        title_justify="left",
    )
    table.add_column("connections")
    for b in benches:
        table.add_column(b.runtime, justify="right")
    for k, conns in enumerate(benches[0].params.get("stages", [])):
        cells = []
        for b in benches:
            rows = [t.observations["stages"][k] for t in b.measured if len(t.observations.get("stages", [])) > k]
            if not rows:
                cells.append("-")
                continue

            def med(key: str, sub: str | None = None, rows=rows) -> float:
                return statistics.median((r[sub][key] if sub else r.get(key, 0)) for r in rows)

            cells.append(
                f"{med('p50_us', 'corrected') / 1000:.2f} / {med('p99_us', 'corrected') / 1000:.1f} / "
                f"{med('p999_us', 'corrected') / 1000:.1f} ms, {med('achieved_rate'):,.0f}/s, "
                f"closed {sum(r.get('closed_by_server', 0) for r in rows)}"
            )
        table.add_row(f"{conns:,}", *cells)
    return table


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in params.items())


def _counts(b: Benchmark) -> str:
    measured = [t for t in b.trials if not t.warmup]
    ok = sum(1 for t in measured if t.ok and not t.excluded)
    failed = sum(1 for t in measured if not t.ok)
    noisy = sum(1 for t in measured if t.noisy)
    return f"{ok} / {failed} / {noisy}"


def _steal(b: Benchmark) -> str:
    steals = sorted(s for t in b.trials if (s := t.steal_pct) is not None)
    if not steals:
        return "-"
    return f"{steals[len(steals) // 2]:.1f}% ({steals[-1]:.1f}%)"
