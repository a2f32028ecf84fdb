"""Change points in a metric's history (one value per release, one method):
E-Divisive means (Matteson & James, 2014; what Apache Otava runs): the split
that maximises the energy statistic between the two sides, kept when a
permutation test finds it significant and the shift is at least `min_shift`,
then each side searched again. Written out here (a few dozen lines) because the
library that has it, Otava, brings a service's worth of dependencies for one
function. Its false-alarm rate on this tool's own A/A histories is measured by
scripts/changepoint_calibration.py and quoted in the README."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED = 7


@dataclass(frozen=True)
class ChangePoint:
    index: int  # the first value after the change
    p_value: float
    before: float  # the mean before it (within its segment)
    after: float

    @property
    def shift(self) -> float:
        return self.after / self.before - 1 if self.before else 0.0


def _q(x: np.ndarray, min_size: int) -> tuple[int, float]:
    """The split (index of the first value of the right part) maximising the energy statistic, and it."""
    n = len(x)
    d = np.abs(x[:, None] - x[None, :])
    s = np.zeros((n + 1, n + 1))
    s[1:, 1:] = d.cumsum(0).cumsum(1)  # every block's sum in O(1): the whole search in O(n^2)
    taus = np.arange(min_size, n - min_size + 1)
    if not len(taus):
        return -1, -np.inf
    left = s[taus, taus]  # the sums of d[:tau, :tau]
    right = s[n, n] - 2 * s[taus, n] + s[taus, taus]  # d[tau:, tau:]
    between = s[taus, n] - s[taus, taus]  # d[:tau, tau:]
    m = n - taus
    e = 2 * between / (taus * m) - left / taus**2 - right / m**2
    q = taus * m / n * e
    k = int(np.argmax(q))
    return int(taus[k]), float(q[k])


def detect(
    values: list[float],
    alpha: float = 0.05,
    min_shift: float = 0.0,
    min_size: int = 2,
    permutations: int = 199,
    seed: int = SEED,
) -> list[ChangePoint]:
    """Every change point of the series, in order (an empty list: no change shown)."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    found: list[ChangePoint] = []

    def search(lo: int, hi: int) -> None:
        seg = x[lo:hi]
        if len(seg) < 2 * min_size:
            return
        tau, q = _q(seg, min_size)
        if tau < 0:
            return
        beyond = sum(_q(rng.permutation(seg), min_size)[1] >= q for _ in range(permutations))
        p = (beyond + 1) / (permutations + 1)
        before, after = float(seg[:tau].mean()), float(seg[tau:].mean())
        if p >= alpha or (before and abs(after / before - 1) < min_shift):
            return
        found.append(ChangePoint(lo + tau, p, before, after))
        search(lo, lo + tau)
        search(lo + tau, hi)

    search(0, len(x))
    return sorted(found, key=lambda c: c.index)
