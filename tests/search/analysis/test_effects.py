"""search.analysis effects: planted gains per width doubling, per block, per doubling
of parameters and FLOPs, depth steps and the width x depth interaction are recovered."""

from __future__ import annotations

import json
import math

import pytest

from search.analysis import analyze
from search.receptive import receptive_field
from storage import TrialRecord
from tests.search.analysis.synthetic import (
    SEED_OFFSET,
    SEEDS,
    SLOPE_NOISE,
    cnn_grid,
    headed_grid,
    planted,
    record,
    t_interval,
)


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
