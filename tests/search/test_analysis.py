"""search.analysis on synthetic trial records whose answers are known by construction."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from search.analysis import (
    MATCH_TOLERANCE,
    analyze,
    best_at,
    best_cell,
    cell_stats,
    compare_cnn_dense,
    compute_curves,
    compute_frontier,
    convergence,
    fit_cells,
    premature_stops,
    schedule_limited,
    unmatched_dense,
)
from search.receptive import receptive_field
from search.stats import fit_power_law
from spaces.space import cell_key
from storage import TrialRecord

SEEDS = (0, 1, 2)
# Per-seed deviations from the planted slopes: they sum to zero, so the mean is exact and
# the interval over seeds is the t-interval of (planted + deviation).
SLOPE_NOISE = (-0.002, 0.0, 0.002)
# Seed-wide offsets (a lucky data order lifts every cell): pairing by seed must cancel them.
SEED_OFFSET = (-0.05, 0.03, 0.02)


def record(number: int, family: str, values: dict[str, int], seed: int, acc: float | None,
           *, params: int = 1000, state: str = "COMPLETE", curve: tuple[float, ...] = (),
           train: dict[str, Any] | None = None, val: float | None = None,
           **fields: Any) -> TrialRecord:
    """A trial whose cell key names ``values`` and any swept ``train`` settings."""
    return TrialRecord(
        number=number, state=state, family=family,
        cell=cell_key(family, {**values, **(train or {})}), seed=seed,
        arch={"family": family, **values, "kernels": [7, 5, 3]}, param_count=params,
        flops=2 * params, val_accuracy=acc if val is None else val,
        test_accuracy=acc if state == "COMPLETE" else None,
        epochs=len(curve) or 1, train_seconds=1.5, val_curve=curve, train=train, **fields)


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


# --------------------------------------------------------------------------- cells


def test_cell_stats_groups_seeds_of_a_cell():
    cells = cell_stats(cnn_grid(lambda w, d, s: 0.5 + s / 100, widths=(8,), depths=(2,)))
    assert len(cells) == 1
    assert cells[0].seeds == SEEDS
    assert cells[0].by_seed == {0: 0.5, 1: 0.51, 2: 0.52}


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
    assert pooled.pooled and pooled.at == {} and pooled.pooled_over == ("depth",)
    assert pooled.estimate.mean == pytest.approx(0.02)
    assert pooled.per_seed == pytest.approx({s: 0.02 + n for s, n in zip(SEEDS, SLOPE_NOISE,
                                                                          strict=True)})
    assert analysis.pooled("width") == [pooled]


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


def test_analyze_fits_each_family_on_cell_means_and_again_per_depth():
    analysis = analyze(cnn_grid(planted(lambda d: 0.02, -0.01)))
    assert {(f.family, f.against, f.by) for f in analysis.fits} == {
        ("cnn", a, by) for a in ("params", "flops") for by in ((), ("depth",))}
    whole = analysis.fit("cnn", "params")
    assert whole.by == () and whole.n_cells == 12 and whole.n_points == 12 * len(SEEDS)
    assert [f.at for f in analysis.fits if f.by and f.against == "params"] == [
        {"depth": d} for d in (1, 2, 3)]
    assert whole.alpha_boot.n_resamples == 1000
    assert whole.lack_of_fit is not None and whole.lack_of_fit.df_pure == 12 * 2


def test_cell_level_bootstrap_is_wider_than_a_fit_to_every_seed_as_a_point():
    """Cells deviate from the law (architecture beyond size) and each seed shifts every
    cell: a fit to all 3 x 10 points as if independent claims more precision than 10 cells
    give. Resampling cells, and seeds within them, keeps that uncertainty."""
    rng = np.random.default_rng(0)
    cell_effect, seed_effect = rng.normal(0, 0.15, 10), (-0.01, 0.0, 0.012)
    recs = []
    for j, w in enumerate(2 ** k for k in range(2, 12)):
        for s in SEEDS:
            err = (0.5 * (100 * w * w) ** -0.2 * math.exp(cell_effect[j]) + seed_effect[s]
                   + rng.normal(0, 0.005))
            recs.append(record(len(recs), "cnn", {"width": w}, s, 1 - err, params=100 * w * w))
    cells = cell_stats(recs)
    fit = fit_cells(cells, "params")
    points = fit_power_law([c.param_count for c in cells for _ in c.seeds],
                           [1 - a for c in cells for a in c.test_per_seed])
    assert fit.law.form == points.form
    point_width = points.alpha_ci[1] - points.alpha_ci[0]
    assert fit.alpha_boot.high - fit.alpha_boot.low > 1.15 * point_width
    assert fit.alpha_boot.low < fit.law.alpha < fit.alpha_boot.high


# --------------------------------------------------------------------------- training settings


def lr_grid() -> list[TrialRecord]:
    """+2 pp per doubling of width at the good learning rate, nothing at the bad one."""
    out: list[TrialRecord] = []
    for lr, gain in ((1e-3, 0.02), (1e-1, 0.0)):
        for w in (8, 16, 32, 64):
            for d in (1, 2):
                for s in SEEDS:
                    acc = 0.7 + SEED_OFFSET[s] + (gain + SLOPE_NOISE[s]) * math.log2(w / 8)
                    out.append(record(len(out), "cnn", {"width": w, "depth": d}, s, acc,
                                      params=w * 1000 * d, train={"learning_rate": lr}))
    return out


def test_a_swept_learning_rate_is_analysed_per_setting_never_averaged():
    analysis = analyze(lr_grid())
    pooled = analysis.pooled("width")
    assert [e.at for e in pooled] == [{"learning_rate": 1e-3}, {"learning_rate": 1e-1}]
    assert [e.estimate.mean for e in pooled] == pytest.approx([0.02, 0.0], abs=1e-12)
    per_depth = [e for e in analysis.width if not e.pooled]
    assert {(e.at["depth"], e.at["learning_rate"]) for e in per_depth} == {
        (d, lr) for d in (1, 2) for lr in (1e-3, 1e-1)}
    for e in per_depth:
        assert e.estimate.mean == pytest.approx(0.02 if e.at["learning_rate"] == 1e-3 else 0,
                                                abs=1e-12)
    # Nothing anywhere reports the +1 pp that averaging the two rates would give.
    effects = [*analysis.width, *analysis.depth, *analysis.interactions]
    assert all(abs(e.estimate.mean - 0.01) > 1e-3 for e in effects)
    assert {tuple(f.at.items()) for f in analysis.fits if not f.by} == {
        (("learning_rate", 1e-3),), (("learning_rate", 1e-1),)}


def test_interaction_is_recovered_per_seed_with_its_interval():
    """The gain per doubling grows by 0.5 pp per block (plus per-seed noise)."""
    def acc(w: int, d: int, s: int) -> float:
        return (0.6 + SEED_OFFSET[s] + 0.01 * math.log2(w) - 0.01 * d
                + (0.005 + SLOPE_NOISE[s]) * math.log2(w) * d)
    (found,) = analyze(cnn_grid(acc)).interactions
    assert found.widths == (8, 16, 32, 64) and found.depths == (1, 2, 3) and found.at == {}
    assert found.estimate.mean == pytest.approx(0.005)
    assert found.per_seed == pytest.approx({s: 0.005 + n for s, n in zip(SEEDS, SLOPE_NOISE,
                                                                           strict=True)})
    assert (found.estimate.low, found.estimate.high) == pytest.approx(
        t_interval([0.005 + n for n in SLOPE_NOISE]))


def test_selection_follows_validation_when_validation_and_test_disagree():
    recs = [record(s, "cnn", {"width": 8, "depth": 1}, s, 0.90, val=0.80) for s in SEEDS]
    recs += [record(10 + s, "cnn", {"width": 16, "depth": 1}, s, 0.85, val=0.82)
             for s in SEEDS]
    cells = cell_stats(recs)
    assert max(cells, key=lambda c: c.test.mean).cell == "cnn:width=8,depth=1"
    assert best_cell(cells).cell == "cnn:width=16,depth=1"


# --------------------------------------------------------------------------- convergence


def test_convergence_diagnostic_counts_seeds_and_spots_a_still_rising_curve():
    train = {"stop": "converged", "epochs": 6, "patience": 2, "min_delta": 0.001}
    rising = (0.70, 0.75, 0.78, 0.80, 0.81, 0.83)  # hit the epoch limit, still gaining 2 pp
    stopped = (0.70, 0.80, 0.82, 0.82, 0.819)
    recs = [record(0, "cnn", {"width": 8}, 0, 0.8, curve=stopped, converged=True,
                   train=train, train_accuracy=0.86),
            record(1, "cnn", {"width": 8}, 1, 0.8, curve=rising, converged=False,
                   train=train, train_accuracy=0.84),
            record(2, "cnn", {"width": 8}, 2, 0.8, curve=stopped, converged=True,
                   train=train, train_accuracy=0.85)]
    diag = convergence(recs)
    assert (diag.converged, diag.seeds, diag.fraction) == (2, 3, pytest.approx(2 / 3))
    assert diag.median_epochs == 5 and diag.last_gain == pytest.approx(0.02)
    assert diag.still_improving
    (cell,) = cell_stats(recs)
    assert cell.convergence == diag and cell.gap == pytest.approx(0.85 - 0.8)
    analysis = analyze(recs)
    assert analysis.not_converged() == [cell] and analysis.still_improving() == [cell]

    flat = (0.70, 0.80, 0.82, 0.8205)  # the last epoch gained less than min_delta
    (flat_cell,) = cell_stats([dataclasses.replace(r, converged=False, val_curve=flat)
                               for r in recs])
    assert flat_cell.convergence.converged == 0 and not flat_cell.convergence.still_improving
    old = convergence([dataclasses.replace(r, converged=None) for r in recs])
    assert old.converged is None and old.fraction is None


# --------------------------------------------------------------------------- compute


def test_compute_frontier_picks_the_cheap_cell_early_and_the_big_cell_late():
    small = (0.80, 0.84, 0.85, 0.85)  # 1000 params: 2000 FLOPs, 6000 training FLOPs/image
    big = (0.70, 0.86, 0.89, 0.90)    # 10x the FLOPs per epoch
    recs = [record(s, "cnn", {"width": 8}, s, 0.85, params=1000, curve=small)
            for s in SEEDS]
    recs += [record(10 + s, "cnn", {"width": 80}, s, 0.9, params=10_000, curve=big)
             for s in SEEDS]
    curves = compute_curves(recs, images=100)
    assert curves[0].compute == (6e5, 1.2e6, 1.8e6, 2.4e6)
    frontier = compute_frontier(curves)
    assert [(p.cell, p.epoch) for p in frontier] == [
        ("cnn:width=8", 1), ("cnn:width=8", 2), ("cnn:width=8", 3),
        ("cnn:width=80", 2), ("cnn:width=80", 3), ("cnn:width=80", 4)]
    assert best_at(frontier, 5e6).cell == "cnn:width=8"   # the big cell's epoch 1 is worse
    assert best_at(frontier, 1.2e7).cell == "cnn:width=80"
    assert best_at(frontier, 1e5) is None
    assert analyze(recs, images=100).frontier == tuple(frontier)


# --------------------------------------------------------------------------- CNN vs dense


def test_cnn_vs_dense_pairs_the_closest_cnn_by_parameter_ratio_on_common_seeds():
    cnn_acc = {1000: (0.70, 0.71, 0.72), 5000: (0.80, 0.82, 0.81)}
    recs = [record(i, "cnn", {"width": p // 125, "depth": 1}, s, a, params=p)
            for i, (p, accs) in enumerate(cnn_acc.items()) for s, a in enumerate(accs)]
    # 2300 params: 5000 is closer by ratio (x2.17 vs x2.3) though 1000 is closer by difference.
    dense = (0.78, 0.79, 0.80)
    recs += [record(10 + s, "dense", {"units": 3}, s, a, params=2300)
             for s, a in enumerate(dense)]
    # Both CNNs lie beyond the default 2x tolerance: here only the choice of match is tested.
    by_params, by_flops = compare_cnn_dense(cell_stats(recs), tolerance=math.inf)
    assert by_params.matched_on == "params" and by_flops.matched_on == "flops"
    assert by_params.cnn == "cnn:width=40,depth=1" and by_params.dense == "dense:units=3"
    assert by_params.seeds == SEEDS
    assert by_params.difference.mean == pytest.approx(0.02)
    expected = stats.ttest_rel(cnn_acc[5000], dense)
    assert by_params.t == pytest.approx(expected.statistic)
    assert by_params.p_value == pytest.approx(expected.pvalue)
    # Two tests in the family: Holm doubles the smaller p-value.
    assert by_params.p_holm == pytest.approx(min(1, 2 * min(by_params.p_value,
                                                             by_flops.p_value)))
    assert by_params.runner_up == "cnn:width=8,depth=1"


def test_flops_matching_and_a_conclusion_that_hangs_on_the_match():
    """A dense net has ~2 FLOPs per parameter, a CNN many more, so the two rules pick
    different CNNs; the runner-up by parameters reverses the conclusion."""
    def cnn(w: int, params: int, flops: int, accs: tuple[float, ...]) -> list[TrialRecord]:
        return [dataclasses.replace(record(100 * w + s, "cnn", {"width": w, "depth": 1}, s, a,
                                           params=params), flops=flops)
                for s, a in zip(SEEDS, accs, strict=True)]
    recs = [*cnn(4, 2_000, 4_000, (0.70, 0.72, 0.71)),         # FLOPs-matched: worse
            *cnn(16, 9_000, 900_000, (0.90, 0.92, 0.905)),     # closest by parameters
            *cnn(8, 12_000, 1_000_000, (0.85, 0.855, 0.853))]  # second by parameters
    recs += [record(10 + s, "dense", {"units": 8}, s, a, params=10_000)
             for s, a in zip(SEEDS, (0.85, 0.86, 0.855), strict=True)]
    by_params, by_flops = compare_cnn_dense(cell_stats(recs), tolerance=math.inf)
    assert (by_params.cnn, by_params.cnn_size, by_params.dense_size) == (
        "cnn:width=16,depth=1", 9_000, 10_000)
    assert (by_flops.cnn, by_flops.cnn_size, by_flops.dense_size) == (
        "cnn:width=4,depth=1", 4_000, 20_000)
    assert by_params.difference.mean > 0 and by_flops.difference.mean < 0
    assert by_params.runner_up == "cnn:width=8,depth=1"
    assert by_params.p_holm < 0.05 and not by_params.runner_up_p_holm < 0.05
    assert by_params.fragile
    # Holm of the family {runner-up, FLOPs match}: the larger p-value is max(its own p,
    # twice the smaller), here the runner-up's own.
    assert by_flops.p_value < by_params.runner_up_p
    assert by_params.runner_up_p_holm == pytest.approx(
        max(by_params.runner_up_p, 2 * by_flops.p_value))


def test_cnn_vs_dense_uses_only_seeds_both_completed():
    recs = [record(s, "cnn", {"width": 8, "depth": 1}, s, 0.8 + s / 100) for s in SEEDS]
    recs += [record(10 + s, "dense", {"units": 64}, s, 0.7) for s in (0, 1)]
    cmp = compare_cnn_dense(cell_stats(recs))[0]
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
                                        state="PRUNED"), duplicate_of=103),
             # A seed dropped from the queue (run --drop-queue) is no longer asked for.
             dataclasses.replace(record(105, "cnn", {"width": 8, "depth": 2}, 3, None,
                                        state="FAIL"), fail_reason="dropped from the queue")]
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


# --------------------------------------------------------------------------- common units


def headed_grid(acc: Callable[[str, int, int, int], float],
                size: Callable[[int, int], tuple[int, int]], heads=("gap", "flatten"),
                widths=(8, 16, 32, 64), depths=(1, 2, 3, 4)) -> list[TrialRecord]:
    """Heads x widths x depths x seeds; ``size(w, d)`` gives (params, FLOPs)."""
    out: list[TrialRecord] = []
    for head in heads:
        for w in widths:
            for d in depths:
                params, flops = size(w, d)
                for s in SEEDS:
                    out.append(dataclasses.replace(
                        record(len(out), "cnn", {"head": head, "width": w, "depth": d}, s,
                               acc(head, w, d, s), params=params), flops=flops))
    return out


def test_effects_per_doubling_of_params_and_flops_compare_the_knobs_in_common_units():
    """+4 pp per doubling of width and +3 pp per block at head gap, with parameters
    w^2 x 8^d (a doubling of width is 2 doublings of parameters, a block 3) and FLOPs
    w x 4^d: per doubling of parameters width gives +2 pp and depth +1 pp, per doubling of
    FLOPs width +4 pp and depth +1.5 pp. Head flatten has no gain at all and is never
    pooled with gap."""
    gains = {"gap": (0.04, 0.03), "flatten": (0.0, 0.0)}

    def acc(head: str, w: int, d: int, s: int) -> float:
        width_gain, block_gain = gains[head]
        return (0.6 + SEED_OFFSET[s] + (width_gain + SLOPE_NOISE[s]) * math.log2(w)
                + (block_gain + SLOPE_NOISE[s]) * d)

    analysis = analyze(headed_grid(acc, lambda w, d: (w * w * 8 ** d, w * 4 ** d)))
    assert [e.at for e in analysis.pooled("width")] == [{"head": "gap"}, {"head": "flatten"}]
    assert all(e.pooled_over == ("depth",) for e in analysis.pooled("width"))
    expected = {("width", None): 0.04, ("depth", None): 0.03,
                ("width", "params"): 0.02, ("depth", "params"): 0.01,
                ("width", "flops"): 0.04, ("depth", "flops"): 0.015}
    for (knob, against), gain in expected.items():
        gap, flatten = analysis.pooled(knob, against)
        assert gap.at == {"head": "gap"} and flatten.at == {"head": "flatten"}
        assert gap.against == against and gap.estimate.mean == pytest.approx(gain)
        assert flatten.estimate.mean == pytest.approx(0, abs=1e-9)
        # The seed noise is per knob step, so per size doubling it shrinks by the same
        # factor as the gain: the interval is the t-interval of the scaled per-seed slopes.
        steps = gain / expected[(knob, None)]
        assert (gap.estimate.low, gap.estimate.high) == pytest.approx(
            t_interval([gain + steps * n for n in SLOPE_NOISE]))
    per_depth = [e for e in analysis.per_size if not e.pooled and e.knob == "width"
                 and e.against == "params"]
    assert {(e.at["head"], e.at["depth"]) for e in per_depth} == {
        (h, d) for h in ("gap", "flatten") for d in (1, 2, 3, 4)}
    # Nothing pools the heads: no estimate sits halfway between them.
    pooled_all = [e for e in (*analysis.width, *analysis.depth, *analysis.per_size)
                  if e.pooled]
    assert all("head" in e.at for e in pooled_all)
    data = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert len(data["effects_per_size_doubling"]) == len(analysis.per_size)
    assert {e["against"] for e in data["effects_per_size_doubling"]} == {"params", "flops"}


# --------------------------------------------------------------------------- depth steps


@pytest.mark.parametrize(("kernels", "convs", "fields"), [
    ((7, 5, 3, 3), 1, (8, 18, 30, 54)),   # the numbers: 7x7 conv then 2x2 pool = 8
    ((7, 5, 3), 1, (8, 18, 30, 54)),      # a short schedule repeats its last kernel
    ((7, 5, 3, 3), 2, (14, 32, 52, 92)),  # two convs per block
    ((3,), 1, (4, 10, 22, 46)),
])
def test_receptive_field_of_the_last_map_follows_kernels_convs_and_pools(kernels, convs,
                                                                         fields):
    arch = {"family": "cnn", "width": 8, "kernels": list(kernels), "convs_per_block": convs}
    assert tuple(receptive_field({**arch, "depth": d}) for d in (1, 2, 3, 4)) == fields
    assert receptive_field({"family": "dense", "units": 8}) is None
    assert receptive_field(None) is None


FIELDS = {1: 8, 2: 18, 3: 30, 4: 54}  # kernels (7, 5, 3): pixels per depth


def test_depth_steps_recover_each_planted_step_per_width_and_pooled_per_head():
    step_gain = {2: 0.10, 3: 0.05, 4: -0.01}  # gain on reaching this depth

    def acc(head: str, w: int, d: int, s: int) -> float:
        gained = sum(step_gain[k] + SLOPE_NOISE[s] for k in range(2, d + 1))
        return 0.5 + SEED_OFFSET[s] + 0.01 * math.log2(w) + (gained if head == "gap" else 0)

    analysis = analyze(headed_grid(acc, lambda w, d: (1000 * w * d, 5000 * w * d),
                                   widths=(8, 16)))
    pooled = [st for st in analysis.steps if st.pooled]
    assert [(st.at, st.depths) for st in pooled] == [
        ({"head": h}, (d, d + 1)) for h in ("gap", "flatten") for d in (1, 2, 3)]
    for st in analysis.steps:
        lo, hi = st.depths
        gain = step_gain[hi] if st.at["head"] == "gap" else 0.0
        assert st.estimate.mean == pytest.approx(gain, abs=1e-9)
        assert st.receptive_fields == (FIELDS[lo], FIELDS[hi])
        if st.at["head"] == "gap":
            assert (st.estimate.low, st.estimate.high) == pytest.approx(
                t_interval([gain + n for n in SLOPE_NOISE]))
    assert {(st.at["width"], st.depths) for st in analysis.steps
            if not st.pooled and st.at["head"] == "gap"} == {
        (w, (d, d + 1)) for w in (8, 16) for d in (1, 2, 3)}
    assert {c.arch["depth"]: c.receptive_field for c in analysis.cells} == FIELDS
    data = analysis.to_dict()
    assert data["cells"][0]["receptive_field"] == 8
    assert data["depth_steps"][0]["receptive_fields"] == [8, 18]


# --------------------------------------------------------------------------- premature stops

LIMIT = {"stop": "converged", "epochs": 30, "patience": 4, "min_delta": 0.001}


def run(number: int, seed: int, acc: float, epochs: int, *, converged: bool = True,
        cell: dict[str, int] | None = None, best: int | None = None) -> TrialRecord:
    return dataclasses.replace(
        record(number, "cnn", cell or {"width": 8, "depth": 1}, seed, acc, train=LIMIT,
               converged=converged, best_epoch=best if best is not None else epochs - 4),
        epochs=epochs)


def test_a_run_stopped_early_while_its_siblings_trained_on_and_beat_it_is_flagged():
    siblings = [run(1, 1, 0.850, 30, converged=False), run(2, 2, 0.852, 25)]
    flagged = premature_stops([run(0, 0, 0.800, 8), *siblings])
    (stop,) = flagged
    assert (stop.trial, stop.seed, stop.epochs, stop.limit, stop.sibling_epochs) == (
        0, 0, 8, 30, 30)
    assert stop.sibling_mean == pytest.approx(0.851)
    # The margin is 0.5 pp here: 2 x the siblings' std (0.0014) is smaller.
    assert stop.threshold == pytest.approx(0.846)
    for spared in (run(0, 0, 0.8465, 8),               # within the margin
                   run(0, 0, 0.800, 20),               # not before 2/3 of the 30 epochs
                   run(0, 0, 0.800, 8, converged=False),  # not stopped by patience
                   ):
        assert premature_stops([spared, *siblings]) == [], spared
    short = [run(1, 1, 0.850, 12), run(2, 2, 0.852, 12)]  # siblings ran only 4 more
    assert premature_stops([run(0, 0, 0.800, 8), *short]) == []
    # Noisy siblings widen the margin to twice their standard deviation.
    noisy = [run(1, 1, 0.86, 30), run(2, 2, 0.82, 30)]
    assert premature_stops([run(0, 0, 0.80, 8), *noisy]) == []
    assert len(premature_stops([run(0, 0, 0.70, 8), *noisy])) == 1


def test_every_estimate_is_reported_with_and_without_the_premature_stops():
    """A planted +2 pp per doubling; one seed of the widest cell stopped at epoch 6 and
    lost 8 pp. It is kept in every estimate (the cell still has 3 seeds) and flagged; the
    sensitivity block gives the effect without it, which recovers the planted gain."""
    recs = []
    for w in (8, 16, 32, 64):
        for d in (1, 2):
            for s in SEEDS:
                acc = 0.7 + (0.02 + SLOPE_NOISE[s]) * math.log2(w / 8)
                bad = w == 64 and d == 2 and s == 1
                recs.append(run(len(recs), s, acc - 0.08 if bad else acc, 6 if bad else 24,
                                cell={"width": w, "depth": d}))
    analysis = analyze(recs)
    (stop,) = analysis.premature
    assert stop.cell.startswith("cnn:width=64,depth=2,") and stop.seed == 1
    assert all(c.n == 3 for c in analysis.cells)  # never dropped silently
    assert {c.cell: c.convergence.premature for c in analysis.cells
            if c.convergence.premature} == {stop.cell: 1}
    (pooled,) = analysis.pooled("width")
    assert pooled.estimate.mean < 0.019
    by_name = {(x.estimate, x.pooled): x for x in analysis.sensitivity}
    row = by_name[("width per doubling of width", True)]
    assert row.all_runs == pooled.estimate
    assert row.without.mean == pytest.approx(0.02)
    assert {"width per doubling of params", "depth per added block",
            "width x depth interaction (per doubling of width per block)",
            "depth step 1->2"} <= {name for name, _ in by_name}
    data = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert data["premature_stops"]["runs"][0]["trial"] == stop.trial
    assert "2/3 of its epoch limit" in data["premature_stops"]["rule"]
    assert data["runs"]["premature"] == 1
    assert any(x["without"] and x["estimate"] == "width per doubling of width"
               for x in data["sensitivity"]["estimates"])


def test_schedule_limited_means_the_best_epoch_lies_in_the_last_fifth():
    assert schedule_limited(run(0, 0, 0.8, 30, best=25))
    assert not schedule_limited(run(0, 0, 0.8, 30, best=24))  # 24 is not above 0.8 x 30
    assert schedule_limited(dataclasses.replace(run(0, 0, 0.8, 30), best_epoch=None)) is None
    recs = [run(0, 0, 0.8, 30, best=30, converged=False), run(1, 1, 0.8, 29, best=25),
            run(2, 2, 0.8, 20, best=16)]
    (cell,) = cell_stats(recs)
    assert (cell.convergence.ran_full, cell.convergence.schedule_limited) == (1, 2)
    runs = analyze(recs).runs()
    assert (runs["runs"], runs["ran_full"], runs["schedule_limited"], runs["epoch_limits"]) == (
        3, 1, 2, [30])


# --------------------------------------------------------------------------- matching


def test_a_pair_counts_only_within_the_tolerance_and_unmatched_dense_cells_are_listed():
    cnn_acc = {1000: (0.70, 0.71, 0.72), 5000: (0.80, 0.82, 0.81)}
    recs = [record(i, "cnn", {"width": p // 125, "depth": 1}, s, a, params=p)
            for i, (p, accs) in enumerate(cnn_acc.items()) for s, a in enumerate(accs)]
    recs += [record(10 + s, "dense", {"units": 3}, s, 0.79, params=2300) for s in SEEDS]
    recs += [record(20 + s, "dense", {"units": 4}, s, 0.80, params=2600) for s in SEEDS]
    cells = cell_stats(recs)
    assert MATCH_TOLERANCE == 2
    # 2300 is 2.17x from 5000 and 2.3x from 1000: no CNN within 2x. 2600 is 1.92x from
    # 5000: matched, with no runner-up (1000 is 2.6x away).
    for pair, on in zip(compare_cnn_dense(cells), ("params", "flops"), strict=True):
        assert (pair.dense, pair.cnn, pair.matched_on, pair.runner_up) == (
            "dense:units=4", "cnn:width=40,depth=1", on, None)
    assert unmatched_dense(cells) == [("dense:units=3", "params"), ("dense:units=3", "flops")]
    assert len(compare_cnn_dense(cells, tolerance=2.5)) == 4
    analysis = analyze(recs)
    assert analysis.unmatched == (("dense:units=3", "params"), ("dense:units=3", "flops"))
    matching = analysis.to_dict()["cnn_vs_dense_matching"]
    assert matching["tolerance"] == 2 and matching["distinct_cnn_cells"] == {
        "params": ["cnn:width=40,depth=1"], "flops": ["cnn:width=40,depth=1"]}
    assert analyze(recs, tolerance=2.5).unmatched == ()


def test_a_crossover_is_claimed_only_where_significant_pairs_bracket_it():
    """Per dense depth: a CNN 3 pp worse at 8 units, no clear difference at 32, 3 pp better
    at 128 and 512: one crossover, between 8 and 128 units. A setting where the CNN is only
    ever worse claims none (nothing past the grid's ends)."""
    recs: list[TrialRecord] = []
    for layers, gains in ((1, (-0.03, 0.0, 0.03, 0.03)), (2, (-0.03, -0.03, -0.03, -0.03))):
        for units, gain in zip((8, 32, 128, 512), gains, strict=True):
            params = 100 * units + layers
            for s in SEEDS:
                noise = SLOPE_NOISE[s] * (10 if gain == 0 else 1)
                recs.append(record(len(recs), "dense", {"units": units, "layers": layers}, s,
                                   0.8 + SEED_OFFSET[s], params=params))
                recs.append(record(len(recs), "cnn", {"width": units, "depth": layers}, s,
                                   0.8 + SEED_OFFSET[s] + gain + noise, params=params))
    analysis = analyze(recs)
    by_params = [x for x in analysis.crossovers if x.matched_on == "params"]
    (cross,) = by_params
    assert cross.at == {"layers": 1}
    assert (cross.below, cross.above) == ("dense:units=8,layers=1", "dense:units=128,layers=1")
    assert cross.sizes == (801, 12801)
    assert cross.below_difference.mean == pytest.approx(-0.03)
    data = analysis.to_dict()["cnn_vs_dense_matching"]
    assert "brackets it on both sides" in data["crossover_rule"]
    assert len(data["crossovers"]) == len(analysis.crossovers)
