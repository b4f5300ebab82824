"""The few-run statistics (greenaolo.aolo.statistics) against values computed by hand and by enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from greenaolo.aolo.statistics import bootstrap_interval, iqm, probability_of_improvement, proportion_interval, run_profile


def test_iqm_is_the_mean_of_the_middle_half():
    # 8 values: the lowest two and highest two are cut, whatever their size.
    assert iqm([1, 2, 3, 4, 100, 5, 6, 7]) == pytest.approx(4.5)
    assert iqm([[1, 2, 3, 4], [10, 10, 10, -50]], axis=1) == pytest.approx([2.5, 10.0])


def test_probability_of_improvement_counts_pairs_and_half_the_ties():
    # pairs (x, y): (1,2) (1,3) better, (3,2) worse, (3,3) a tie: (1 + 1 + 0 + 0.5) / 4
    assert probability_of_improvement([1, 3], [2, 3]) == pytest.approx(0.625)
    assert probability_of_improvement([1, 3], [1, 3]) == pytest.approx(0.5)
    assert probability_of_improvement([[5, 6], [0, 0]], [[1, 2], [1, 2]]) == pytest.approx([0.0, 1.0])


def test_bootstrap_interval_matches_the_enumerated_bootstrap_distribution():
    # A skewed sample: the percentile interval and the "basic" one (2 x point - quantiles) differ here.
    x = np.array([0.0, 0.0, 0.0, 1.0, 10.0])
    exact = np.sort([np.mean(r) for r in itertools.product(x, repeat=5)])  # all 3,125 equally likely resamples
    low, high = bootstrap_interval(np.mean, x, n_resamples=40_000, level=0.9)
    # The distribution has atoms: compare with its own 5% and 95% quantiles (the smallest value whose CDF
    # reaches them; here 0.0 and 6.0, each CDF at least 0.008 away from its level), which the resamples'
    # quantiles approach.
    assert low == pytest.approx(np.quantile(exact, 0.05, method="inverted_cdf"), abs=0.15)
    assert high == pytest.approx(np.quantile(exact, 0.95, method="inverted_cdf"), abs=0.15)
    assert abs(high - (2 * np.mean(x) - np.quantile(exact, 0.05, method="inverted_cdf"))) > 1.0  # not the basic interval
    assert low < np.mean(x) < high


def test_bootstrap_of_a_difference_resamples_each_agent_on_its_own():
    a, b = np.arange(10.0), np.arange(10.0) + 3.0
    low, high = bootstrap_interval(lambda x, y, axis: iqm(x, axis) - iqm(y, axis), a, b, seed=1)
    assert low < -3.0 < high and high - low > 1.0
    assert bootstrap_interval(iqm, np.full(5, 2.0)) == (2.0, 2.0)


def test_proportion_interval_is_clopper_pearson():
    low, high = proportion_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))
    low, high = proportion_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 10))
    assert np.isnan(proportion_interval(0, 0)).all()


def test_run_profile_is_the_fraction_at_or_below_each_threshold():
    scores = np.array([[0.0, 0.1, 0.2, 0.4], [0.3, 0.3, 0.3, 0.3]])
    assert run_profile(scores, [0.0, 0.2, 0.3]).tolist() == [[0.25, 0.75, 0.75], [0.0, 0.0, 1.0]]
