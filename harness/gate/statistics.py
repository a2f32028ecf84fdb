"""The gate's statistics: what changed between a baseline and a candidate, how
sure we are, and the family-wise correction across the metrics of one gate.

Paired (the two sides of one `harness ab` session, rounds interleaved in a
random order): per round the log-ratio candidate/base, which cancels whatever
drifted on the machine between rounds; a one-sample t-test of the log-ratios
against 0 and a BCa bootstrap confidence interval of their mean. (An exact
rank or sign-flip test cannot give p below 2/2^n: with 6 rounds 0.031, which
Holm's correction over a few metrics makes unreachable, so even a 70%
regression would stay "undecided"; log-ratios of times and rates are close to
normal, and an outlier round only widens the t interval, it never makes a
change look significant.) Unpaired (two results
files from different sessions): Welch's t-test on the logs and its interval of
the ratio of geometric means (Mann-Whitney U and a bootstrap of the ratio of
medians where values are not all positive). All from scipy."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from math import comb

import numpy as np
from scipy.stats import bootstrap, mannwhitneyu, ttest_1samp, ttest_ind
from scipy.stats import t as student_t

SEED = 12345  # bootstrap resampling is seeded: the same files give the same verdict


@dataclass(frozen=True)
class Estimate:
    change: float | None  # relative change of the candidate, (cand - base) / base
    ci_low: float | None  # confidence interval of that change
    ci_high: float | None
    p_value: float | None  # two-sided, before correction
    n: int  # pairs (paired) or the smaller side (unpaired)
    min_p: float  # the smallest p-value the test can give with these sample sizes
    se: float | None = None  # the standard error of the log change (the smallest change the design can detect)
    df: float | None = None


def paired(base: list[float], cand: list[float], confidence: float) -> Estimate:
    """`base[i]` and `cand[i]` ran in the same round. Values must be positive."""
    d = np.log(np.asarray(cand, dtype=float) / np.asarray(base, dtype=float))
    n = len(d)
    min_p = 0.0 if n >= 3 else 1.0  # a t-test needs a spread to estimate: at least 3 pairs
    if n == 0:
        return Estimate(None, None, None, None, 0, min_p)
    mean = float(np.mean(d))
    lo: float | None
    hi: float | None
    if np.allclose(d, d[0]):  # every round gave the same ratio: no spread to resample
        lo = hi = mean
        p = 1.0 if abs(mean) < 1e-12 else 0.0
    else:
        p = float(ttest_1samp(d, 0.0).pvalue)
        lo, hi = _bootstrap_mean(d, confidence)
    se = float(np.std(d, ddof=1) / math.sqrt(n)) if n >= 2 else None
    return Estimate(math.expm1(mean), _expm1(lo), _expm1(hi), p, n, min_p, se, n - 1.0)


def _bootstrap_mean(d: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    if len(d) < 3:
        return None, None
    rng = np.random.default_rng(SEED)
    try:
        res = bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=4000, method="BCa", random_state=rng)
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(lo) and math.isfinite(hi):
            return lo, hi
    except Exception:  # BCa cannot work on some degenerate samples: fall back to the percentile interval
        pass
    res = bootstrap(
        (d,),
        np.mean,
        confidence_level=confidence,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(SEED),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _expm1(x: float | None) -> float | None:
    return None if x is None else math.expm1(x)


def unpaired(base: list[float], cand: list[float], confidence: float) -> Estimate:
    """Two separate runs: Welch's t-test on the logs (times and rates are near log-normal), its interval
    of the ratio of geometric means. A rank test cannot give p below 2/C(n+m, n) (0.0022 for 6 + 6),
    which Holm's correction over a run's dozens of metrics lifts past any alpha: no change of any size
    could be shown. Values that are not all positive (counts of errors) fall back to Mann-Whitney U."""
    n, m = len(base), len(cand)
    if n >= 2 and m >= 2 and all(v > 0 for v in (*base, *cand)):
        return _welch_logs(base, cand, confidence)
    return _rank(base, cand, confidence)


def _welch_logs(base: list[float], cand: list[float], confidence: float) -> Estimate:
    lb, lc = np.log(np.asarray(base, dtype=float)), np.log(np.asarray(cand, dtype=float))
    diff = float(lc.mean() - lb.mean())
    vb, vc = lb.var(ddof=1) / len(lb), lc.var(ddof=1) / len(lc)
    if vb + vc == 0:  # no spread on either side: the change is what it is
        return Estimate(
            math.expm1(diff), math.expm1(diff), math.expm1(diff), 1.0 if diff == 0 else 0.0, min(len(lb), len(lc)), 0.0
        )
    se = math.sqrt(vb + vc)
    df = (vb + vc) ** 2 / (vb**2 / (len(lb) - 1) + vc**2 / (len(lc) - 1))  # Welch-Satterthwaite
    t = student_t.ppf(0.5 + confidence / 2, df)
    p = float(ttest_ind(lc, lb, equal_var=False).pvalue)
    return Estimate(
        math.expm1(diff), math.expm1(diff - t * se), math.expm1(diff + t * se), p, min(len(lb), len(lc)), 0.0, se, df
    )


def _rank(base: list[float], cand: list[float], confidence: float) -> Estimate:
    n, m = len(base), len(cand)
    min_p = 2.0 / comb(n + m, n) if n and m else 1.0  # Mann-Whitney U, exact: total separation
    if not n or not m:
        return Estimate(None, None, None, None, min(n, m), min_p)
    mb, mc = statistics.median(base), statistics.median(cand)
    change = (mc - mb) / mb if mb else None
    if len(set(base) | set(cand)) == 1:
        return Estimate(change, change, change, 1.0, min(n, m), min_p)
    p = float(mannwhitneyu(cand, base, alternative="two-sided").pvalue)
    lo = hi = None
    if mb and n >= 2 and m >= 2:
        res = bootstrap(
            (np.asarray(cand), np.asarray(base)),
            lambda c, b, axis=-1: np.median(c, axis=axis) / np.median(b, axis=axis) - 1.0,
            confidence_level=confidence,
            n_resamples=2000,
            method="percentile",
            vectorized=True,
            paired=False,
            random_state=np.random.default_rng(SEED),
        )
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Estimate(change, lo, hi, p, min(n, m), min_p)


def holm(p_values: list[float | None], family_size: int | None = None) -> list[float | None]:
    """Holm's step-down adjustment (Holm 1979) of the p-values of one gate run, so that
    the chance of any false alarm among them stays below alpha. None stays None.
    `family_size`: the whole family when only part of it is at hand (a sequential
    look at one scenario). (scipy has only Benjamini-Hochberg; this is a few lines.)"""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = max(len(present), family_size or 0)
    out: list[float | None] = list(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def detectable(se: float | None, df: float | None, alpha_each: float, power: float = 0.8) -> float | None:
    """The smallest relative change a t-test with this standard error detects with `power` at the
    per-comparison level `alpha_each` (after the family's correction, Bonferroni's bound)."""
    if se is None or df is None or df <= 0 or se == 0:
        return None
    from scipy.stats import t as t_dist

    return math.expm1((float(t_dist.ppf(1 - alpha_each / 2, df)) + float(t_dist.ppf(power, df))) * se)
