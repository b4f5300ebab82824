"""Statistics for few-run RL results (rliable's protocol), on scipy: IQM, bootstrap intervals, P(improvement).

Agarwal et al., "Deep RL at the edge of the statistical precipice" (NeurIPS 2021), recommend the
interquartile mean (IQM) over runs, stratified-bootstrap confidence intervals, the probability of improvement
and performance profiles. Their library ``rliable`` does not import with this package's stack (it needs
``arch``, whose 7.x release calls a pandas helper that pandas 3 changed: ``deprecate_kwarg()``), so the same
estimators are written here on :func:`scipy.stats.bootstrap` (percentile intervals, as rliable's default):

* each agent's runs are resampled independently of the other agents' (rliable's stratification by task is
  the identity here: AOLO is one task, so the strata are the agents);
* lower is better for every score here (carbon, cost, gap to the oracle).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

__all__ = ["bootstrap_interval", "iqm", "probability_of_improvement", "proportion_interval", "run_profile"]


def iqm(x, axis: int = -1) -> np.ndarray:
    """The interquartile mean: the mean of the middle 50% of ``x`` along ``axis`` (``trim_mean(x, 0.25)``)."""
    return stats.trim_mean(np.asarray(x, float), 0.25, axis=axis)


def probability_of_improvement(x, y, axis: int = -1) -> np.ndarray:
    """P(X < Y) + P(X = Y) / 2 for a run X of ``x`` and a run Y of ``y`` drawn at random (lower is better):
    the Mann-Whitney U statistic over ``len(x) * len(y)`` (Agarwal et al.'s probability of improvement)."""
    x, y = np.moveaxis(np.asarray(x, float), axis, -1), np.moveaxis(np.asarray(y, float), axis, -1)
    less = (x[..., :, None] < y[..., None, :]).mean(axis=(-2, -1))
    ties = (x[..., :, None] == y[..., None, :]).mean(axis=(-2, -1))
    return less + 0.5 * ties


def bootstrap_interval(statistic: Callable[..., np.ndarray], *samples, n_resamples: int = 2000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """The percentile bootstrap interval of ``statistic(*samples)``, each sample resampled on its own.

    ``statistic`` takes the samples and an ``axis`` keyword (vectorised, as :func:`iqm`). A statistic that
    is the same on every resample (say all runs equal) has the interval of that one value.
    """
    samples = tuple(np.asarray(s, float) for s in samples)
    point = float(statistic(*samples, axis=-1))
    if all(np.ptp(s) == 0 for s in samples):
        return point, point
    result = stats.bootstrap(samples, statistic, n_resamples=n_resamples, confidence_level=level, method="percentile",
                             vectorized=True, paired=False, rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def proportion_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a proportion ``k / n``; (nan, nan) for ``n = 0``."""
    if n == 0:
        return float("nan"), float("nan")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def run_profile(scores, thresholds) -> np.ndarray:
    """Performance profile of each run: the fraction of its per-request ``scores`` (last axis) at or below
    each of ``thresholds``; shape ``scores.shape[:-1] + (len(thresholds),)`` (lower scores are better)."""
    scores = np.asarray(scores, float)
    thresholds = np.asarray(thresholds, float)
    return (scores[..., None, :] <= thresholds[:, None]).mean(axis=-1)
