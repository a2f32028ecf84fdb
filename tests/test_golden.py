"""Golden files: every reader (the terminal summary, the report's tables, the gate's verdict) rendered
from two checked-in results files and compared with what it rendered when the files were last
reviewed (as benchstat's cmd/benchstat/testdata does). Fast: no workload runs. UPDATE_GOLDEN=1 rewrites
them (tests/golden/README.md)."""

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from harness import gate
from harness.output import report, summary, verdict
from harness.record.model import load
from harness.record.views import Table
from harness.subjects import SCENARIOS

GOLDEN = Path(__file__).parent / "golden"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"{path} is missing: UPDATE_GOLDEN=1 writes it"
    want = path.read_text()
    if text != want:  # the first differing line, not two pages of text
        now, was = text.splitlines(), want.splitlines()
        n = max(len(now), len(was))
        now, was = now + [""] * (n - len(now)), was + [""] * (n - len(was))
        diff = next((i, a, b) for i, (a, b) in enumerate(zip(now, was, strict=True)) if a != b)
        pytest.fail(f"{name} differs at line {diff[0] + 1}:\n  now:  {diff[1]!r}\n  was:  {diff[2]!r}")


@pytest.fixture(scope="module")
def base():
    return load(GOLDEN / "base.json", mark_crashed=False)


@pytest.fixture(scope="module")
def cand():
    return load(GOLDEN / "candidate.json", mark_crashed=False)


def test_the_summary(base):
    out = io.StringIO()
    summary.render(base, Console(file=out, width=120, color_system=None, force_terminal=False))
    check("summary.txt", out.getvalue())


def _table_text(t: Table) -> str:
    lines = [f"## {t.title}", " | ".join(t.columns)]
    for label, cells in t.rows:
        shown = [
            "-" if c is None else c.text + (f" ({c.sub})" if c.sub else "") + (" ★" if c.best else "") + c.flag
            for c in cells
        ]
        lines.append(" | ".join([label, *shown]))
    return "\n".join(lines) + "\n"


def test_the_reports_tables(base, cand):
    cols, rows = report.headline_rows([base, cand])
    lines = ["## comparison", " | ".join(["metric", *(f"{c['label']} {c['runtime']}" for c in cols)])]
    for row in rows:
        cells = [
            "-" if c is None else f"{c['median']} [{c['ci']}]" + (" ★" if c["best"] else "") + c["flag"]
            for c in row["cells"]
        ]
        lines.append(" | ".join([f"{row['scenario']} {row['meta'].label}", *cells]))
    text = "\n".join(lines) + "\n"
    for scenario, benches in base.by_scenario().items():
        for t in SCENARIOS[scenario].tables(benches, base.floor_of(scenario)):
            text += "\n" + _table_text(t)
    check("report-tables.txt", text)


def test_the_verdict(base, cand):
    opts = gate.Options.of_suite({"threshold_pct": 5, "metrics": {"latency_p99_ns": 25, "latency_p50_ns": 0}})
    decision = gate.decide(base, cand, opts, strict=False)
    md = verdict.markdown(decision.comparisons, base, cand, opts, decision.method, 3, decision.design)
    check("verdict.md", md)
    assert decision.exit_code == 1 and decision.method.name == "paired"  # the planted slowdown is caught
    assert any(c.benchmark == "spawn/go" and c.verdict is gate.Verdict.REGRESSION for c in decision.comparisons)
