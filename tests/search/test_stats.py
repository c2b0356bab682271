"""search.stats against hand computations and independent routes to the same number."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from search.stats import (
    LOG_LOG,
    POWER_WITH_FLOOR,
    cluster_bootstrap,
    fit_power_law,
    holm,
    interaction,
    lack_of_fit,
    mean_ci,
    paired_t,
)


def t_interval(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values)
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return x.mean() - half, x.mean() + half


# --------------------------------------------------------------------------- intervals, tests


def test_mean_ci_is_the_student_t_interval_by_hand():
    values = [0.81, 0.84, 0.79, 0.83]
    ci = mean_ci(values)
    low, high = t_interval(values)
    assert ci.mean == pytest.approx(np.mean(values))
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))
    assert ci.std == pytest.approx(np.std(values, ddof=1))
    assert ci.n == 4


def test_mean_ci_of_one_seed_has_no_bounds():
    ci = mean_ci([0.8])
    assert ci.mean == 0.8 and ci.n == 1
    assert math.isnan(ci.low) and math.isnan(ci.high)


def test_paired_t_is_scipys_ttest_rel_and_undefined_for_constant_differences():
    a, b = [0.80, 0.83, 0.81], [0.78, 0.79, 0.80]
    diff, t, p = paired_t(a, b)
    expected = stats.ttest_rel(a, b)
    assert diff.mean == pytest.approx(0.07 / 3)
    assert (t, p) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    _, t, p = paired_t([0.5, 0.75], [0.25, 0.5])  # exact in binary
    assert math.isnan(t) and math.isnan(p)


def test_holm_matches_the_step_down_by_hand():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; then the
    # running maximum makes the last 0.06, and each goes back to its place.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1


def test_holm_leaves_untested_comparisons_out_of_the_family():
    adjusted = holm([0.01, math.nan, 0.02])
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.02)
    assert math.isnan(adjusted[1])
    assert holm([]) == []


def test_interaction_recovers_a_planted_coefficient_and_refuses_a_flat_design():
    a, b = np.meshgrid([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    y = 1 + 2 * a + 3 * b + 0.5 * a * b
    assert interaction(a.ravel(), b.ravel(), y.ravel()) == pytest.approx(0.5)
    assert interaction([0, 1, 2], [1, 1, 1], [1, 2, 3]) is None


# --------------------------------------------------------------------------- power laws


SIZES = np.repeat(np.geomspace(1e4, 1e7, 8), 3)


def test_power_law_with_floor_recovers_the_exponent_within_5_percent():
    rng = np.random.default_rng(0)
    err = 2.0 * SIZES ** -0.35 + 0.08 + rng.normal(0, 0.001, SIZES.size)
    fit = fit_power_law(SIZES, err)
    assert fit is not None and fit.form == POWER_WITH_FLOOR
    assert fit.alpha == pytest.approx(0.35, rel=0.05)
    assert fit.c == pytest.approx(0.08, abs=0.005)
    assert fit.alpha_se > 0 and fit.c_se > 0 and fit.dof == SIZES.size - 3
    assert fit.predict(np.array([1e5]))[0] == pytest.approx(2.0 * 1e5 ** -0.35 + 0.08, rel=0.02)


def test_without_a_floor_the_fit_is_a_log_log_line_and_says_so():
    rng = np.random.default_rng(1)
    err = 0.5 * SIZES ** -0.2 * np.exp(rng.normal(0, 0.01, SIZES.size))
    fit = fit_power_law(SIZES, err)
    assert fit is not None and fit.form == LOG_LOG and fit.c == 0
    assert fit.alpha == pytest.approx(0.2, rel=0.05)
    assert fit.alpha_ci[0] < 0.2 < fit.alpha_ci[1]
    assert "log-log" in fit.note
    # A forced form is kept (a bootstrap refits the form of the point estimate).
    assert fit_power_law(SIZES, err, form=LOG_LOG).form == LOG_LOG


def test_two_sizes_give_no_fit_and_three_give_no_floor():
    assert fit_power_law([1e3, 1e3, 1e4, 1e4], [0.3, 0.31, 0.2, 0.21]) is None
    fit = fit_power_law([1e3, 1e4, 1e5], [0.3, 0.2, 0.15])
    assert fit is not None and fit.form == LOG_LOG and "only 3 sizes" in fit.note
    assert fit_power_law([1e3, 1e4, 1e5], [0.3, 0.2, 0.15], form=POWER_WITH_FLOOR) is None


def test_lack_of_fit_equals_the_nested_f_test_of_a_line_against_group_means():
    """Independent route: a line fitted to all points against one mean per group."""
    x = np.repeat([0.0, 1.0, 2.0, 3.0], 3)
    y = x ** 2 + np.tile([-0.3, 0.1, 0.2], 4)  # curved: a line misses it
    slope, intercept = np.polyfit(x, y, 1)
    groups = [y[x == v] for v in np.unique(x)]
    result = lack_of_fit((slope * np.unique(x) + intercept).tolist(), groups, n_params=2)
    ss_line = float(((y - (slope * x + intercept)) ** 2).sum())
    ss_means = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    f = ((ss_line - ss_means) / 2) / (ss_means / 8)
    assert (result.df_lack, result.df_pure) == (2, 8)
    assert result.f == pytest.approx(f)
    assert result.p_value == pytest.approx(stats.f.sf(f, 2, 8)) and result.p_value < 0.01
    assert lack_of_fit([1.0, 2.0], [[1.0], [2.0]], n_params=2) is None  # no replicates


def test_cluster_bootstrap_is_reproducible_and_counts_failed_resamples():
    x = [1.0, 2.0, 3.0, 4.0]
    groups = [[0.1, 0.2], [0.4, 0.5], [0.9, 1.1], [1.5, 1.6]]

    def slope(xs: np.ndarray, ys: np.ndarray) -> float | None:
        return None if len(np.unique(xs)) < 2 else float(np.polyfit(xs, ys, 1)[0])

    first = cluster_bootstrap(x, groups, slope, n_resamples=300)
    assert first == cluster_bootstrap(x, groups, slope, n_resamples=300)
    assert first.low < float(np.polyfit(x, [np.mean(g) for g in groups], 1)[0]) < first.high
    # A draw of one cell four times has no slope: about 4 / 4**4 of the resamples.
    assert 0 < first.failed < 20 and first.n_resamples == 300


def test_a_bootstrap_whose_resamples_mostly_fail_gives_no_interval():
    """With 3 groups, a statistic that needs all 3 distinct sizes fails in 7 of 9
    resamples: the survivors would carry only the replicates' scatter."""
    def slope_if_three(x, y):
        return float(np.polyfit(x, y, 1)[0]) if len(set(x)) == 3 else None

    boot = cluster_bootstrap([1.0, 2.0, 3.0], [[0.1, 0.2], [0.2, 0.3], [0.3, 0.5]],
                             slope_if_three, n_resamples=400)
    assert math.isnan(boot.low) and math.isnan(boot.high)
    assert 0.6 * 400 < boot.failed < 0.9 * 400  # 1 - 3!/3**3 = 0.78 expected
