"""search.analysis on synthetic trial records whose answers are known by construction."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from search.analysis import (
    LOG_LOG,
    POWER_WITH_FLOOR,
    analyze,
    cell_stats,
    compare_cnn_dense,
    fit_power_law,
    mean_ci,
)
from spaces.space import cell_key
from storage import TrialRecord

SEEDS = (0, 1, 2)
# Per-seed deviations from the planted slopes: they sum to zero, so the mean is exact and
# the interval over seeds is the t-interval of (planted + deviation).
SLOPE_NOISE = (-0.002, 0.0, 0.002)
# Seed-wide offsets (a lucky data order lifts every cell): pairing by seed must cancel them.
SEED_OFFSET = (-0.05, 0.03, 0.02)


def record(number: int, family: str, values: dict[str, int], seed: int, acc: float | None,
           *, params: int = 1000, state: str = "COMPLETE",
           curve: tuple[float, ...] = ()) -> TrialRecord:
    return TrialRecord(
        number=number, state=state, family=family, cell=cell_key(family, values), seed=seed,
        arch={"family": family, **values, "kernels": [7, 5, 3]}, param_count=params,
        flops=2 * params, val_accuracy=acc, test_accuracy=acc if state == "COMPLETE" else None,
        epochs=len(curve) or 1, train_seconds=1.5, val_curve=curve)


def cnn_grid(acc: Callable[[int, int, int], float], widths=(8, 16, 32, 64),
             depths=(1, 2, 3)) -> list[TrialRecord]:
    out: list[TrialRecord] = []
    for w in widths:
        for d in depths:
            for s in SEEDS:
                out.append(record(len(out), "cnn", {"width": w, "depth": d}, s, acc(w, d, s),
                                  params=w * 1000 // d))
    return out


def t_interval(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values)
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return x.mean() - half, x.mean() + half


# --------------------------------------------------------------------------- intervals


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


def test_cell_stats_groups_seeds_of_a_cell():
    cells = cell_stats(cnn_grid(lambda w, d, s: 0.5 + s / 100, widths=(8,), depths=(2,)))
    assert len(cells) == 1
    assert cells[0].seeds == SEEDS
    assert cells[0].by_seed == {0: 0.5, 1: 0.51, 2: 0.52}


def test_a_cell_exports_the_settings_of_its_longest_training():
    """KerasTuner Hyperband rounds of one architecture share a cell; a retrain needs the
    settings of the round that trained longest, whatever its seed."""
    rounds = [dataclasses.replace(r, train={"epochs": e}) for r, e in
              zip(cnn_grid(lambda w, d, s: 0.5, widths=(8,), depths=(2,)), (1, 3, 2),
                  strict=True)]
    assert cell_stats(rounds)[0].train == {"epochs": 3}


# --------------------------------------------------------------------------- effects


def planted(width_gain: Callable[[int], float], depth_gain: float):
    """Accuracy with a known gain per doubling (at each depth) and per block."""
    def acc(w: int, d: int, s: int) -> float:
        return (0.6 + SEED_OFFSET[s] + (width_gain(d) + SLOPE_NOISE[s]) * math.log2(w / 8)
                + (depth_gain + SLOPE_NOISE[s]) * (d - 1))
    return acc


def test_width_effect_recovers_the_planted_gain_per_doubling_at_each_depth_and_pooled():
    gain = {1: 0.01, 2: 0.02, 3: 0.03}
    analysis = analyze(cnn_grid(planted(gain.__getitem__, -0.01)))
    *per_depth, pooled = analysis.width
    assert [e.at for e in per_depth] == [{"depth": 1}, {"depth": 2}, {"depth": 3}]
    for e in per_depth:
        seeds = [gain[e.at["depth"]] + n for n in SLOPE_NOISE]
        assert e.estimate.mean == pytest.approx(gain[e.at["depth"]])
        assert (e.estimate.low, e.estimate.high) == pytest.approx(t_interval(seeds))
        assert e.levels == (8, 16, 32, 64) and e.step == "doubling" and not e.pooled
    # A balanced grid: the common within-depth slope is the mean of the per-depth slopes.
    assert pooled.pooled and pooled.at == {}
    assert pooled.estimate.mean == pytest.approx(0.02)
    assert pooled.per_seed == pytest.approx({s: 0.02 + n for s, n in zip(SEEDS, SLOPE_NOISE,
                                                                          strict=True)})
    assert analysis.pooled("width") is pooled


def test_depth_effect_recovers_the_planted_gain_per_block_despite_seed_offsets():
    analysis = analyze(cnn_grid(planted(lambda d: 0.02, -0.015)))
    *per_width, pooled = analysis.depth
    assert [e.at for e in per_width] == [{"width": w} for w in (8, 16, 32, 64)]
    expected = t_interval([-0.015 + n for n in SLOPE_NOISE])
    for e in [*per_width, pooled]:
        assert e.estimate.mean == pytest.approx(-0.015)
        # Seed offsets of several pp would swamp an unpaired interval; paired, they cancel.
        assert (e.estimate.low, e.estimate.high) == pytest.approx(expected)
        assert e.step == "block"


# --------------------------------------------------------------------------- scaling law


SIZES = np.repeat(np.geomspace(1e4, 1e7, 8), 3)


def test_power_law_with_floor_recovers_the_exponent_within_5_percent():
    rng = np.random.default_rng(0)
    err = 2.0 * SIZES ** -0.35 + 0.08 + rng.normal(0, 0.001, SIZES.size)
    fit = fit_power_law(SIZES, err, family="cnn")
    assert fit is not None and fit.form == POWER_WITH_FLOOR
    assert fit.alpha == pytest.approx(0.35, rel=0.05)
    assert fit.c == pytest.approx(0.08, abs=0.005)
    assert fit.alpha_se > 0 and fit.c_se > 0 and fit.dof == SIZES.size - 3
    assert fit.predict(np.array([1e5]))[0] == pytest.approx(2.0 * 1e5 ** -0.35 + 0.08, rel=0.02)


def test_without_a_floor_the_fit_is_a_log_log_line_and_says_so():
    rng = np.random.default_rng(1)
    err = 0.5 * SIZES ** -0.2 * np.exp(rng.normal(0, 0.01, SIZES.size))
    fit = fit_power_law(SIZES, err, family="dense", against="flops")
    assert fit is not None and fit.form == LOG_LOG and fit.c == 0
    assert fit.alpha == pytest.approx(0.2, rel=0.05)
    assert fit.alpha_ci[0] < 0.2 < fit.alpha_ci[1]
    assert "log-log" in fit.note


def test_two_sizes_give_no_fit_and_three_give_no_floor():
    assert fit_power_law([1e3, 1e3, 1e4, 1e4], [0.3, 0.31, 0.2, 0.21]) is None
    fit = fit_power_law([1e3, 1e4, 1e5], [0.3, 0.2, 0.15])
    assert fit is not None and fit.form == LOG_LOG and "only 3 sizes" in fit.note


def test_analyze_fits_each_family_against_params_and_flops():
    analysis = analyze(cnn_grid(planted(lambda d: 0.02, -0.01)))
    assert {(f.family, f.against) for f in analysis.fits} == {("cnn", "params"),
                                                               ("cnn", "flops")}
    assert analysis.fit("cnn", "params").n_points == 4 * 3 * len(SEEDS)


# --------------------------------------------------------------------------- CNN vs dense


def test_cnn_vs_dense_pairs_the_closest_cnn_by_parameter_ratio_on_common_seeds():
    cnn_acc = {1000: (0.70, 0.71, 0.72), 5000: (0.80, 0.82, 0.81)}
    recs = [record(i, "cnn", {"width": p // 125, "depth": 1}, s, a, params=p)
            for i, (p, accs) in enumerate(cnn_acc.items()) for s, a in enumerate(accs)]
    # 2300 params: 5000 is closer by ratio (x2.17 vs x2.3) though 1000 is closer by difference.
    dense = (0.78, 0.79, 0.80)
    recs += [record(10 + s, "dense", {"units": 3}, s, a, params=2300)
             for s, a in enumerate(dense)]
    (cmp,) = compare_cnn_dense(cell_stats(recs))
    assert cmp.cnn == "cnn:width=40,depth=1" and cmp.dense == "dense:units=3"
    assert cmp.seeds == SEEDS
    assert cmp.difference.mean == pytest.approx(0.02)
    expected = stats.ttest_rel(cnn_acc[5000], dense)
    assert cmp.t == pytest.approx(expected.statistic)
    assert cmp.p_value == pytest.approx(expected.pvalue)


def test_cnn_vs_dense_uses_only_seeds_both_completed():
    recs = [record(s, "cnn", {"width": 8, "depth": 1}, s, 0.8 + s / 100) for s in SEEDS]
    recs += [record(10 + s, "dense", {"units": 64}, s, 0.7) for s in (0, 1)]
    (cmp,) = compare_cnn_dense(cell_stats(recs))
    assert cmp.seeds == (0, 1)
    assert cmp.difference.mean == pytest.approx(0.105)


# --------------------------------------------------------------------------- partial studies


def test_partial_grid_reports_incomplete_cells_and_still_estimates():
    recs = cnn_grid(planted(lambda d: 0.02, -0.01), widths=(8, 16, 32), depths=(1, 2))
    # Seed 2 of one cell is still queued, another's failed; a pruned duplicate is settled.
    recs = [r for r in recs if not (r.cell == "cnn:width=32,depth=2" and r.seed == 2)]
    recs += [record(100, "cnn", {"width": 32, "depth": 2}, 2, None, state="WAITING"),
             record(101, "cnn", {"width": 64, "depth": 2}, 0, None, state="FAIL"),
             record(102, "cnn", {"width": 8, "depth": 1}, 0, None, state="PRUNED"),
             # An interrupted unit whose racing twin was closed as a duplicate: not settled.
             record(103, "cnn", {"width": 64, "depth": 3}, 0, None, state="FAIL"),
             dataclasses.replace(record(104, "cnn", {"width": 64, "depth": 3}, 0, None,
                                        state="PRUNED"), duplicate_of=103)]
    analysis = analyze(recs)
    assert analysis.incomplete == ("cnn:width=32,depth=2", "cnn:width=64,depth=2",
                                   "cnn:width=64,depth=3")
    assert analysis.n_cells == 8 and len(analysis.cells) == 6
    *per_depth, pooled = analysis.width
    # Seed 2 lost a width at depth 2 but still spans two widths, so it still counts.
    assert per_depth[1].estimate.n == 3
    assert pooled.estimate.mean == pytest.approx(0.02)
    data = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert data["incomplete_cells"] == list(analysis.incomplete)
    assert data["width_effects"][-1]["pooled"] is True
