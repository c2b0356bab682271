"""search.analysis comparisons: CNN vs dense at matched size, the tolerance, fragile
conclusions and bracketed crossovers."""

from __future__ import annotations

import dataclasses
import math

import pytest
from scipy import stats

from search.analysis import MATCH_TOLERANCE, analyze, cell_stats, compare_cnn_dense, unmatched_dense
from storage import TrialRecord
from tests.search.analysis.synthetic import SEED_OFFSET, SEEDS, SLOPE_NOISE, record


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
