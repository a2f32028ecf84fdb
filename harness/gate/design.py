"""The gate's design, said before it runs and checked when it compares: which
test, over which family of corrected comparisons, the smallest p it can reach
(a rank test with 6 + 6 trials cannot go below 0.0022, which Holm over 42
metrics lifts past any alpha), and the smallest change it can detect given the
spread it measured. A design that cannot decide a metric says so in one line."""

from __future__ import annotations

import statistics

from harness import config
from harness.gate.compare import Comparison, Options
from harness.gate.methods import Method
from harness.gate.statistics import detectable
from harness.gate.verdict import Why
from harness.subjects import SCENARIOS

MIN_PAIRS = 3  # a t-test of log-ratios needs a spread to estimate


def design_lines(suite: config.Suite, opts: Options, max_rounds: int | None) -> list[str]:
    """Before an A/B session: what it will gate and whether it can reach significance."""
    family = sum(
        1
        for name in suite.scenarios
        for subject in suite.subjects_for(name)
        for m in SCENARIOS[name].metrics
        if opts.gated(m.key, m, f"{name}/{subject}")
    )
    lines = []
    for name in suite.scenarios:
        _, rounds = config.rounds_of(suite, name)
        most = max(rounds, max_rounds or 0)
        can = "can" if most >= MIN_PAIRS else "cannot"
        lines.append(
            f"design: {name}: paired t-test of per-round log-ratios, {rounds} round(s)"
            + (f" and up to {most} for the benchmarks still undecided" if most > rounds else "")
            + f", Holm over the run's {family} gated metrics: it {can} reach significance"
            + ("" if most >= MIN_PAIRS else f" (needs {MIN_PAIRS} rounds)")
        )
    return lines


def summary(comparisons: list[Comparison], opts: Options, method: Method) -> list[str]:
    """After comparing: the smallest p the design could reach, the smallest change it could detect
    (80% power, given the spread measured), and the metrics it could not decide by design."""
    measured = [c for c in comparisons if c.p_adjusted is not None]
    family = len(measured)
    if not family:
        return []
    mdes = [m for c in measured if (m := detectable(c.se, c.df, opts.alpha / family)) is not None]
    stuck = [c for c in comparisons if c.gated and c.reason is not None and c.reason.why is Why.UNREACHABLE_P]
    line = f"design: {method.test}, Holm over {family} metrics; "
    if mdes:
        line += (
            "smallest change detectable at 80% power given the spread measured: median "
            f"{100 * statistics.median(mdes):.1f}% (from {100 * min(mdes):.1f}% to {100 * max(mdes):.1f}%)"
        )
    out = [line]
    if stuck:
        out.append(
            f"the design cannot decide {len(stuck)} metric(s) (too few trials for any test to reach alpha "
            f"{opts.alpha} after the correction), e.g. {stuck[0].benchmark} {stuck[0].label}: add trials "
            "(it fails the gate)"
        )
    return out
