"""matplotlib figures for the report, each returned as a base64 PNG so the
HTML stays one self-contained file. Reads only results documents."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from hdrh.histogram import HdrHistogram  # noqa: E402

from harness.record.model import Benchmark, MetricMeta  # noqa: E402
from harness.record.units import unit  # noqa: E402
from harness.subjects import colour as _color  # noqa: E402  one colour per runtime, owned by its descriptor

PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def rss_over_time(benches: list[Benchmark], title: str) -> str | None:
    """Every measured trial faint, the median-peak trial bold, per runtime."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    drew = False
    for i, b in enumerate(benches):
        trials = [t for t in b.measured if t.rss_series]
        if not trials:
            continue
        peaks = sorted(trials, key=lambda t: max(r for _, r in t.rss_series))
        median_trial = peaks[len(peaks) // 2]
        for t in trials:
            xs, ys = zip(*t.rss_series, strict=True)
            bold = t is median_trial
            ax.plot(
                xs,
                [y / 2**20 for y in ys],
                color=_color(b.runtime, i),
                alpha=1.0 if bold else 0.25,
                linewidth=2.0 if bold else 0.8,
                label=b.runtime if bold else None,
            )
        drew = True
    if not drew:
        plt.close(fig)
        return None
    ax.set(title=title, xlabel="seconds since start", ylabel="RSS (MiB)")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def rss_vs_connections(benches: list[Benchmark]) -> str | None:
    from scipy.stats import linregress

    fig, ax = plt.subplots(figsize=(7, 3.6))
    drew = False
    for i, b in enumerate(benches):
        xs, ys = [], []
        for t in b.measured:
            for st in t.observations.get("stages", []):
                if st.get("server_rss_bytes"):
                    xs.append(st["connections_open"])
                    ys.append(st["server_rss_bytes"] / 2**20)
        if len(set(xs)) < 2:
            continue
        fit = linregress(xs, ys)
        ax.scatter(xs, ys, color=_color(b.runtime, i), s=14, alpha=0.6)
        line_x = [min(xs), max(xs)]
        ax.plot(
            line_x,
            [fit.intercept + fit.slope * x for x in line_x],
            color=_color(b.runtime, i),
            label=f"{b.runtime}: {fit.slope * 1024:.1f} KiB/conn (R² {fit.rvalue**2:.3f})",
        )
        drew = True
    if not drew:
        plt.close(fig)
        return None
    ax.set(title="server RSS against open keep-alive connections", xlabel="open connections", ylabel="RSS (MiB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def merged_histogram(b: Benchmark, which: str) -> HdrHistogram | None:
    merged = None
    for t in b.measured:
        stages = t.observations.get("stages", [])
        if not stages or not stages[-1].get(which, {}).get("hdr"):
            continue
        try:
            h = HdrHistogram.decode(stages[-1][which]["hdr"])
        except Exception:  # a damaged encoding draws nothing rather than stopping the report
            continue
        if merged is None:
            merged = HdrHistogram(1, 3_600_000_000, 3)
        merged.add(h)
    return merged


def latency_spectrum(benches: list[Benchmark]) -> str | None:
    """Latency by percentile at the largest stage, HdrHistogram style: the x axis
    spreads the tail (1 / (1 - p)), corrected solid, uncorrected dashed."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    drew = False
    xs = [1 / (1 - p / 100) for p in PERCENTILES]
    for i, b in enumerate(benches):
        for which, style in (("corrected", "-"), ("uncorrected", "--")):
            h = merged_histogram(b, which)
            if h is None or h.get_total_count() == 0:
                continue
            ys = [h.get_value_at_percentile(p) / 1000 for p in PERCENTILES]
            ax.plot(xs, ys, style, color=_color(b.runtime, i), marker="o", markersize=3, label=f"{b.runtime} ({which})")
            drew = True
    if not drew:
        plt.close(fig)
        return None
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{p:g}%" for p in PERCENTILES], rotation=45, fontsize=8)
    ax.set(title="latency by percentile at the largest stage", xlabel="percentile", ylabel="latency (ms)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _png(fig)


def trial_dots(benches: list[Benchmark], key: str, meta: MetricMeta) -> str | None:
    """Each measured trial as a dot, the median as a bar, its 95% CI as a line."""
    div, axis_unit = unit(meta.unit).scale_for_axis()  # raw bytes and nanoseconds are unreadable
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    drew = False
    for i, b in enumerate(benches):
        values = [v / div for v in b.values(key)]
        if not values:
            continue
        ax.scatter([i] * len(values), values, color=_color(b.runtime, i), s=16, alpha=0.7, zorder=3)
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


def trend(points: dict[str, list[tuple[int, float]]], labels: list[str], title: str, unit: str) -> str:
    """One line per series (runtime/arch) across releases."""
    fig, ax = plt.subplots(figsize=(6, 3))
    for i, (series, pts) in enumerate(sorted(points.items())):
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, marker="o", markersize=3, label=series, color=_color(series.split(" ")[0], i))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, fontsize=7)
    ax.set(title=title, ylabel=unit)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def scaling(
    series: dict[str, list[tuple[float, float, float, float]]], title: str, xlabel: str, meta: MetricMeta
) -> str | None:
    """A metric against a swept value, one line per runtime (its median) with the band
    of its confidence interval; logarithmic axes where the values span decades."""
    div, axis_unit = unit(meta.unit).scale_for_axis()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    drew = False
    xs_all, ys_all = [], []
    for i, (runtime, pts) in enumerate(sorted(series.items())):
        pts = sorted(p for p in pts if p[1] is not None)
        if not pts:
            continue
        xs = [p[0] for p in pts]
        med, lo, hi = ([p[k] / div for p in pts] for k in (1, 2, 3))
        ax.plot(xs, med, marker="o", markersize=4, color=_color(runtime, i), label=runtime)
        ax.fill_between(xs, lo, hi, color=_color(runtime, i), alpha=0.18, linewidth=0)
        xs_all += xs
        ys_all += [y for y in lo + hi if y > 0]
        drew = True
    if not drew:
        plt.close(fig)
        return None
    if min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 100:
        ax.set_xscale("log")
    if ys_all and min(ys_all) > 0 and max(ys_all) / min(ys_all) >= 100:
        ax.set_yscale("log")
    better = "higher" if meta.better == "higher" else "lower"
    ax.set(title=title, xlabel=xlabel, ylabel=f"{axis_unit} ({better} is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)


def stage_series(benches: list[Benchmark], pick) -> dict[str, list[tuple[float, float, float, float]]]:
    """Per runtime, a value of each ramp stage (pick(stage) -> value) against its
    connections: median and range over the measured trials."""
    import statistics

    out: dict[str, list[tuple[float, float, float, float]]] = {}
    for b in benches:
        by_conns: dict[float, list[float]] = {}
        for t in b.measured:
            for st in t.observations.get("stages", []):
                v = pick(st)
                if v is not None:
                    by_conns.setdefault(st["connections_target"], []).append(v)
        out[b.runtime] = [(x, statistics.median(v), min(v), max(v)) for x, v in sorted(by_conns.items())]
    return out
