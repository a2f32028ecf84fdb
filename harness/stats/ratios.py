"""How much faster is X than Y, give or take: the ratio of two subjects' medians
of a metric, with a confidence interval from a two-level (hierarchical)
bootstrap (Kalibera & Jones: resample processes, then rounds within each
process). Where the two were interleaved round by round (the same round
numbers), processes are resampled in pairs, so that what drifted between
rounds cancels in the ratio; otherwise each subject's processes independently.

A process's value is the median of its (resampled) rounds, as a trial's metric
is; a subject's is the median over its processes, as the tables show."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.subject_id import SubjectId

SEED = 20130614  # resampling is seeded: the same results file gives the same interval
RESAMPLES = 2000


@dataclass(frozen=True)
class Ratio:
    numerator: str
    denominator: str
    metric: str
    ratio: float
    low: float
    high: float
    paired: bool
    processes: int  # pairs (paired) or the smaller side's processes

    @property
    def shown(self) -> bool:
        """Whether the interval excludes 1: a difference this run shows."""
        return not (self.low <= 1.0 <= self.high)

    def text(self) -> str:
        verdict = "" if self.shown else " (no difference shown)"
        return f"{self.numerator} ÷ {self.denominator} {self.ratio:.3g}× [{self.low:.3g}, {self.high:.3g}]{verdict}"

    def to_json(self) -> dict:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "metric": self.metric,
            "ratio": self.ratio,
            "ci_low": self.low,
            "ci_high": self.high,
            "confidence": 0.95,
            "paired": self.paired,
            "processes": self.processes,
            "difference_shown": self.shown,
        }


def _within(rng: np.random.Generator, rounds: list[list[float]], draws: int) -> np.ndarray:
    """For each process, `draws` medians of its rounds resampled with replacement: (processes, draws)."""
    out = np.empty((len(rounds), draws))
    for i, values in enumerate(rounds):
        v = np.asarray(values, dtype=float)
        out[i] = v[0] if len(v) == 1 else np.median(v[rng.integers(0, len(v), (draws, len(v)))], axis=1)
    return out


def _stats(rng: np.random.Generator, within: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per resample: the median over the drawn processes, each with its own independent within draw."""
    cols = rng.integers(0, within.shape[1], idx.shape)
    return np.median(within[idx, cols], axis=1)


def ratio(
    num: dict[int, list[float]],
    den: dict[int, list[float]],
    names: tuple[str, str, str],
    confidence: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Ratio | None:
    """`num` and `den`: per process (keyed by its round), its rounds' values. None with fewer than
    two processes a side, or a median that is not positive."""
    if len(num) < 2 or len(den) < 2:
        return None
    med = lambda d: float(np.median([np.median(v) for v in d.values()]))  # noqa: E731
    point_num, point_den = med(num), med(den)
    if point_num <= 0 or point_den <= 0:
        return None
    rng = np.random.default_rng(seed)
    common = sorted(set(num) & set(den))
    paired = len(common) >= 2 and len(common) == len(num) == len(den)
    if paired:
        wn, wd = _within(rng, [num[k] for k in common], resamples), _within(rng, [den[k] for k in common], resamples)
        idx = rng.integers(0, len(common), (resamples, len(common)))
        dist = _stats(rng, wn, idx) / _stats(rng, wd, idx)
        n = len(common)
    else:
        kn, kd = sorted(num), sorted(den)
        wn, wd = _within(rng, [num[k] for k in kn], resamples), _within(rng, [den[k] for k in kd], resamples)
        dist = _stats(rng, wn, rng.integers(0, len(kn), (resamples, len(kn)))) / _stats(
            rng, wd, rng.integers(0, len(kd), (resamples, len(kd)))
        )
        n = min(len(kn), len(kd))
    lo, hi = np.quantile(dist, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Ratio(names[0], names[1], names[2], point_num / point_den, float(lo), float(hi), paired, n)


def reference_of(subject: str, subjects: list[str]) -> str | None:
    """What a subject is compared with: a variant with its own runtime (when that ran), any
    other subject with the scenario's first plain runtime."""
    sid = SubjectId.parse(subject)
    if sid.is_variant and sid.runtime in subjects:
        return sid.runtime
    plain = [s for s in subjects if not SubjectId.parse(s).is_variant]
    first = plain[0] if plain else subjects[0]
    return None if first == subject else first


def of_scenario(benches, metrics: list[str] | None = None) -> list[Ratio]:
    """Every subject of one scenario (sweeps excepted: they have their curves) against its reference,
    for each headline metric (or `metrics`); rounds interleaved pair their processes."""
    benches = [b for b in benches if not b.point]
    by = {b.runtime: b for b in benches}
    out = []
    for b in benches:
        ref = reference_of(b.runtime, list(by))
        if ref is None:
            continue
        keys = metrics or [k for k, m in b.metrics.items() if m.headline]
        for key in keys:
            if b.incomparable(key) or by[ref].incomparable(key):
                continue  # not measured under the same load: no ratio is honest
            r = of_pair(b, by[ref], key)
            if r is not None:
                out.append(r)
    return out


def of_pair(num, den, key: str) -> Ratio | None:
    """One benchmark's metric over another's (rounds interleaved pair their processes)."""
    return ratio(
        {t.round: v for t in num.measured if (v := t.rounds_of(key))},
        {t.round: v for t in den.measured if (v := t.rounds_of(key))},
        (num.runtime, den.runtime, key),
    )
