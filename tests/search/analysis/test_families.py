"""search.analysis reads what a family declares: a third studied family, registered inside
the test with axes named unlike the cnn's, gets its own effects, steps, interaction, fits and
comparisons, named in its words and never pooled with the cnn's."""

from __future__ import annotations

import dataclasses
import math

import pytest

from search.analysis import analyze
from storage import TrialRecord
from tests.search.analysis.synthetic import SEED_OFFSET, SEEDS, SLOPE_NOISE, record
from tests.spaces.tiny import registered  # noqa: F401  (a fixture)

CNN_GAIN, CNN_BLOCK = 0.02, -0.01  # per doubling of width, per block
TINY_GAIN, TINY_STAGE = 0.01, 0.03  # per doubling of breadth, per stage


def grid(family: str, axes: tuple[str, str], levels: tuple[tuple[int, ...], tuple[int, ...]],
         gains: tuple[float, float], params: int, start: int = 0) -> list[TrialRecord]:
    """A width x depth grid of ``family`` with planted gains per doubling and per step."""
    out = []
    for w in levels[0]:
        for d in levels[1]:
            for s in SEEDS:
                acc = (0.6 + SEED_OFFSET[s] + (gains[0] + SLOPE_NOISE[s]) * math.log2(w)
                       + (gains[1] + SLOPE_NOISE[s]) * d)
                r = record(start + len(out), family, {axes[0]: w, axes[1]: d}, s, acc,
                           params=params * w * d)
                out.append(dataclasses.replace(r, arch={"family": family, axes[0]: w,
                                                        axes[1]: d}))
    return out


def study(with_cnn: bool = True) -> list[TrialRecord]:
    recs = grid("tiny", ("breadth", "stack"), ((4, 8, 16), (1, 2, 3)),
                (TINY_GAIN, TINY_STAGE), 100)
    if with_cnn:
        recs += grid("cnn", ("width", "depth"), ((8, 16, 32), (1, 2)), (CNN_GAIN, CNN_BLOCK),
                     1000, len(recs))
    # A dense baseline whose closest studied cell by parameters is tiny's breadth 16, stack 3.
    recs += [record(len(recs) + s, "dense", {"units": 16}, s, 0.5 + SEED_OFFSET[s],
                    params=4500) for s in SEEDS]
    return recs


@pytest.mark.usefixtures("registered")
def test_each_studied_family_is_analysed_along_its_own_axes_and_named_in_at():
    analysis = analyze(study())
    pooled = {e.family: e for e in analysis.pooled("width")}
    assert set(pooled) == {"cnn", "tiny"}
    assert (pooled["tiny"].knob, pooled["tiny"].step, pooled["tiny"].pooled_over) == (
        "breadth", "doubling", ("stack",))
    assert pooled["tiny"].estimate.mean == pytest.approx(TINY_GAIN)
    assert pooled["cnn"].estimate.mean == pytest.approx(CNN_GAIN)
    assert {e.family: (e.knob, e.step, round(e.estimate.mean, 6))
            for e in analysis.pooled("depth")} == {"tiny": ("stack", "stage", TINY_STAGE),
                                                   "cnn": ("depth", "block", CNN_BLOCK)}
    # Two studied families: every estimate says whose it is, and none pools them.
    for e in (*analysis.width, *analysis.depth, *analysis.per_size, *analysis.steps,
              *analysis.interactions):
        assert e.at["family"] == e.family
    assert {e.family for e in analysis.pooled("width", "params")} == {"cnn", "tiny"}
    steps = [(st.depths, round(st.estimate.mean, 6)) for st in analysis.steps
             if st.pooled and st.family == "tiny"]
    assert steps == [((1, 2), TINY_STAGE), ((2, 3), TINY_STAGE)]
    assert {i.family: (i.widths, i.depths) for i in analysis.interactions} == {
        "tiny": ((4, 8, 16), (1, 2, 3)), "cnn": ((8, 16, 32), (1, 2))}
    names = {x.estimate for x in analysis.sensitivity if x.family == "tiny"}
    assert {"breadth per doubling of breadth", "stack per added stage",
            "breadth per doubling of params", "stack step 1->2",
            "breadth x stack interaction (per doubling of breadth per stage)"} <= names
    # Fits run along the declared size knob, per declared depth as well.
    assert {f.by for f in analysis.fits if f.family == "tiny"} == {(), ("stack",)}
    # The baseline is matched with the closest studied cell of either family.
    (by_params,) = [c for c in analysis.comparisons if c.matched_on == "params"]
    assert (by_params.dense, by_params.cnn) == ("dense:units=16", "tiny:breadth=16,stack=3")


@pytest.mark.usefixtures("registered")
def test_scaling_json_keeps_its_shape_and_names_the_family_only_where_it_varies():
    both = analyze(study()).to_dict()
    assert all("family" not in e and e["at"]["family"] in ("cnn", "tiny")
               for e in both["width_effects"])
    alone = analyze(study(with_cnn=False))
    assert [e.at for e in alone.pooled("width")] == [{}]
    assert alone.pooled("width")[0].family == "tiny"
    assert all("family" not in e["at"] for e in alone.to_dict()["width_effects"])


def test_without_its_registration_a_family_is_only_measured():
    """The same records while ``tiny`` is not registered: its cells and fits remain, but no
    effect is made along axes nobody declared."""
    analysis = analyze(study())
    assert {c.family for c in analysis.cells} == {"tiny", "cnn", "dense"}
    assert {e.family for e in (*analysis.width, *analysis.depth)} == {"cnn"}
    assert all("family" not in e.at for e in analysis.width)
    assert any(f.family == "tiny" for f in analysis.fits)
    assert {c.cnn.partition(":")[0] for c in analysis.comparisons} == {"cnn"}
