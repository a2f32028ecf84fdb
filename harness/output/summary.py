"""The terminal summary: one table per scenario, runtimes side by side,
read only from the results document."""

from __future__ import annotations

import statistics

from rich.console import Console
from rich.table import Table

from harness.record.units import fmt_value
from harness.record.stats import measured_trials


def _cell(summary: dict | None, unit: str, best: bool) -> str:
    if not summary or not summary.get("n"):
        return "-"
    text = (f"{fmt_value(summary['median'], unit)}\n"
            f"[dim][{fmt_value(summary['ci_low'], unit, False)}, {fmt_value(summary['ci_high'], unit, False)}]"
            + (f" ±{100 * summary['cv']:.0f}%" if summary.get("cv") is not None else "") + "[/dim]")
    return f"[bold green]★ {text}[/bold green]" if best else text


def render(doc: dict, console: Console | None = None) -> None:
    console = console or Console(width=max(120, Console().width))
    host = doc.get("host", {})
    plan = doc.get("cpu_plan", {})
    emulated = " [bold red]EMULATED[/bold red]" if host.get("emulated") else ""
    console.print(f"[bold]{doc.get('suite', {}).get('name', '?')}[/bold] suite on {host.get('cpu_model', '?')} "
                  f"({host.get('arch', '?')}{emulated}, backend {doc.get('backend', '?')}), workload CPUs "
                  f"{plan.get('workload')} (W={plan.get('workers')}), status [bold]{doc.get('status')}[/bold]")
    by_scenario: dict[str, list[dict]] = {}
    for b in doc.get("benchmarks", []):
        by_scenario.setdefault(b["scenario"], []).append(b)
    for scenario, benches in by_scenario.items():
        table = Table(title=f"{scenario}  ({_params(benches[0].get('params', {}))})", title_justify="left")
        table.add_column("metric")
        for b in benches:
            table.add_column(b["runtime"], justify="right")
        metrics = benches[0].get("metrics", {})
        for key, meta in metrics.items():
            medians = {b["runtime"]: b["summary"].get(key, {}).get("median") for b in benches}
            present = [v for v in medians.values() if v is not None]
            best = (max(present) if meta["better"] == "higher" else min(present)) if len(present) > 1 else None
            label = f"{meta['label']} ({'↑' if meta['better'] == 'higher' else '↓'})"
            table.add_row(label, *[_cell(b["summary"].get(key), meta["unit"], medians[b["runtime"]] == best)
                                   for b in benches])
        table.add_row("[dim]trials ok / failed / noisy[/dim]", *[_counts(b) for b in benches])
        table.add_row("[dim]CPU steal median (max)[/dim]", *[_steal(b) for b in benches])
        console.print(table)
        if scenario == "http":
            console.print(_http_stages(benches))
        for b in benches:
            for t in b["trials"]:
                if not t.get("ok"):
                    console.print(f"[red]{b['id']} round {t.get('round')}: {t.get('error')}[/red]")
    for w in doc.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print("[dim]cells: median, [95% CI of the median] ±coefficient of variation; ★ best median per row; ↑ higher is better, ↓ lower[/dim]")


def _http_stages(benches: list[dict]) -> Table:
    """Per ramp stage: median over measured trials of corrected p50/p99/p99.9,
    the achieved rate, and connections the server closed (must be 0)."""
    table = Table(title="http per stage (corrected latency p50 / p99 / p99.9, achieved req/s, closed by server)",
                  title_justify="left")
    table.add_column("connections")
    for b in benches:
        table.add_column(b["runtime"], justify="right")
    stages = benches[0].get("params", {}).get("stages", [])
    for k, conns in enumerate(stages):
        cells = []
        for b in benches:
            rows = [t["observations"]["stages"][k] for t in measured_trials(b)
                    if len(t.get("observations", {}).get("stages", [])) > k]
            if not rows:
                cells.append("-")
                continue
            med = lambda key, sub=None: statistics.median(r[sub][key] if sub else r[key] for r in rows)  # noqa: E731
            cells.append(f"{med('p50_us', 'corrected') / 1000:.2f} / {med('p99_us', 'corrected') / 1000:.1f} / "
                         f"{med('p999_us', 'corrected') / 1000:.1f} ms, {med('achieved_rate'):,.0f}/s, "
                         f"closed {sum(r['closed_by_server'] for r in rows)}")
        table.add_row(f"{conns:,}", *cells)
    return table


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in params.items())


def _counts(b: dict) -> str:
    measured = [t for t in b["trials"] if not t.get("warmup")]
    ok = sum(1 for t in measured if t.get("ok") and not t.get("excluded"))
    failed = sum(1 for t in measured if not t.get("ok"))
    noisy = sum(1 for t in measured if t.get("noisy"))
    return f"{ok} / {failed} / {noisy}"


def _steal(b: dict) -> str:
    steals = sorted(t["host_load"]["steal_pct"] for t in b["trials"]
                    if t.get("host_load", {}).get("steal_pct") is not None)
    if not steals:
        return "-"
    return f"{steals[len(steals) // 2]:.1f}% ({steals[-1]:.1f}%)"
