"""matplotlib figures for the report, each returned as a base64 PNG so the
HTML stays one self-contained file. Reads only results documents and the
figure models scenarios build from them (record.views.Figure); every colour
is the one the results file records for its subject."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

from harness.record.model import Benchmark, MetricMeta  # noqa: E402
from harness.record.units import unit  # noqa: E402
from harness.record.views import Figure  # noqa: E402

Colour = Callable[[str, int], str]  # (subject, its index in the figure) -> colour


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def draw(fig: Figure, colour: Colour) -> str | None:
    """A scenario's figure model, drawn by its kind."""
    kinds: dict[str, Callable[[Figure, Colour], str | None]] = {
        "rss_over_time": rss_over_time,
        "fit": scatter_fit,
        "percentiles": percentile_curves,
        "bands": lambda f, c: scaling(
            f.series, f.title, f.xlabel, MetricMeta(f.title, f.unit, f.better), c, log_x=f.log_x
        ),
    }
    return kinds[fig.kind](fig, colour) if fig.kind in kinds else None


def rss_over_time(fig: Figure, colour: Colour) -> str | None:
    """Every measured trial faint, the median-peak trial bold, per subject."""
    out, ax = plt.subplots(figsize=(7, 3.6))
    drew = False
    for i, (name, series) in enumerate(fig.series.items()):
        if not series:
            continue
        peaks = sorted(series, key=lambda s: max(r for _, r in s))
        median_trial = peaks[len(peaks) // 2]
        for s in series:
            xs, ys = zip(*s, strict=True)
            bold = s is median_trial
            ax.plot(
                xs,
                [y / 2**20 for y in ys],
                color=colour(name, i),
                alpha=1.0 if bold else 0.25,
                linewidth=2.0 if bold else 0.8,
                label=name if bold else None,
            )
        drew = True
    if not drew:
        plt.close(out)
        return None
    ax.set(title=fig.title, xlabel=fig.xlabel, ylabel=fig.ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(out)


def scatter_fit(fig: Figure, colour: Colour) -> str | None:
    """Points and each subject's least-squares line, its slope per 1,024 x units in the legend (KiB/conn)."""
    from scipy.stats import linregress

    out, ax = plt.subplots(figsize=(7, 3.6))
    drew = False
    for i, (name, (xs, ys)) in enumerate(fig.series.items()):
        if len(set(xs)) < 2:
            continue
        fit = linregress(xs, ys)
        ax.scatter(xs, ys, color=colour(name, i), s=14, alpha=0.6)
        line_x = [min(xs), max(xs)]
        ax.plot(
            line_x,
            [fit.intercept + fit.slope * x for x in line_x],
            color=colour(name, i),
            label=f"{name}: {fit.slope * 1024:.1f} KiB/conn (R² {fit.rvalue**2:.3f})",
        )
        drew = True
    if not drew:
        plt.close(out)
        return None
    ax.set(title="server RSS against open keep-alive connections", xlabel=fig.xlabel, ylabel=fig.ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(out)


def percentile_curves(fig: Figure, colour: Colour) -> str | None:
    """Latency by percentile, HdrHistogram style: the x axis spreads the tail (1 / (1 - p)),
    corrected solid, uncorrected dashed."""
    out, ax = plt.subplots(figsize=(7, 3.6))
    drew = False
    ticks: list[float] = []
    for i, (name, points) in enumerate(fig.series.items()):
        if not points:
            continue
        subject = name.split(" (")[0]
        xs = [1 / (1 - p / 100) for p, _ in points]
        ys = [v / 1e6 for _, v in points]
        style = "--" if name.endswith("(uncorrected)") else "-"
        ax.plot(xs, ys, style, color=colour(subject, i // 2), marker="o", markersize=3, label=name)
        ticks = ticks or [p for p, _ in points]
        drew = True
    if not drew:
        plt.close(out)
        return None
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1 / (1 - p / 100) for p in ticks])
    ax.set_xticklabels([f"{p:g}%" for p in ticks], rotation=45, fontsize=8)
    ax.set(title="latency by percentile at the largest stage", xlabel=fig.xlabel, ylabel="latency (ms)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _png(out)


def trial_dots(benches: list[Benchmark], key: str, meta: MetricMeta, colour: Colour) -> str | None:
    """Each measured trial as a dot, the median as a bar, its 95% CI as a line."""
    div, axis_unit = unit(meta.unit).scale_for_axis()  # raw bytes and nanoseconds are unreadable
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    drew = False
    for i, b in enumerate(benches):
        values = [v / div for v in b.values(key)]
        if not values:
            continue
        ax.scatter([i] * len(values), values, color=colour(b.runtime, i), s=16, alpha=0.7, zorder=3)
        s = b.summary.get(key, {})
        if s.get("n"):
            ax.plot([i, i], [s["ci_low"] / div, s["ci_high"] / div], color="black", linewidth=1)
            ax.plot([i - 0.2, i + 0.2], [s["median"] / div] * 2, color="black", linewidth=2)
        drew = True
    if not drew:
        plt.close(fig)
        return None
    ax.set_xticks(range(len(benches)))
    ax.set_xticklabels([b.runtime for b in benches])
    ax.set_xlim(-0.6, len(benches) - 0.4)
    ax.set_title(
        f"{meta.label} ({axis_unit}, {'higher' if meta.better == 'higher' else 'lower'} is better)", fontsize=9
    )
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def trend(
    series: dict[str, list[tuple[int, float, float, float, int]]],
    labels: list[str],
    title: str,
    unit_name: str,
    colour: Colour,
    breaks: list[tuple[float, str]],
) -> str:
    """Each series (subject and architecture) across releases: its median and, as a band, the
    interval of the median; never a line across a method change (the segment id changes there), and
    each break drawn as a dashed boundary. The axis in the tables' units ("ms", "MiB", "k tasks/s")."""
    div, axis_unit = unit(unit_name).scale_for_axis()
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for i, (name, pts) in enumerate(sorted(series.items())):
        c = colour(name.split(" ")[0], i)
        first = True
        for seg in sorted({p[4] for p in pts}):
            part = sorted(p for p in pts if p[4] == seg)
            xs = [p[0] for p in part]
            ax.plot(xs, [p[1] / div for p in part], marker="o", markersize=3, color=c, label=name if first else None)
            ax.fill_between(
                xs, [p[2] / div for p in part], [p[3] / div for p in part], color=c, alpha=0.15, linewidth=0
            )
            first = False
    for x, _ in breaks:
        ax.axvline(x, color="#999999", linestyle="--", linewidth=0.8)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, fontsize=7)
    ax.set(title=title, ylabel=axis_unit)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def scaling(
    series: dict[str, list[tuple[float, float, float, float]]],
    title: str,
    xlabel: str,
    meta: MetricMeta,
    colour: Colour,
    log_x: bool = False,
) -> str | None:
    """A metric against a swept value, one line per runtime (its median) with the band
    of its confidence interval; logarithmic axes where the values span decades (x: or when asked)."""
    div, axis_unit = unit(meta.unit).scale_for_axis()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    drew = False
    xs_all, ys_all = [], []
    signed = False
    for i, (runtime, pts) in enumerate(sorted(series.items())):
        pts = sorted(p for p in pts if p[1] is not None)
        if not pts:
            continue
        xs = [p[0] for p in pts]
        med, lo, hi = ([p[k] / div for p in pts] for k in (1, 2, 3))
        ax.plot(xs, med, marker="o", markersize=4, color=colour(runtime, i), label=runtime)
        ax.fill_between(xs, lo, hi, color=colour(runtime, i), alpha=0.18, linewidth=0)
        xs_all += xs
        ys_all += [y for y in lo + hi if y > 0]
        signed = signed or any(y < 0 for y in lo + hi)  # residuals: a linear axis through zero
        drew = True
    if not drew:
        plt.close(fig)
        return None
    if min(xs_all) > 0 and (log_x or max(xs_all) / min(xs_all) >= 100):
        ax.set_xscale("log")
    if ys_all and not signed and max(ys_all) / min(ys_all) >= 100:
        ax.set_yscale("log")
    if meta.unit == "×":  # a ratio: where the two subjects are equal
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    if signed:  # residuals: where the line is
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
    better = {"higher": " (higher is better)", "lower": " (lower is better)"}.get(meta.better, "")
    ax.set(title=title, xlabel=xlabel, ylabel=f"{axis_unit}{better}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)
