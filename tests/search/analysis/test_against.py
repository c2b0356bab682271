"""search.analysis.against: a study's cells against the same cells and seeds of another,
on synthetic studies whose change is planted."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from search.analysis import AgainstError, analyze, check_against
from tests.search.analysis.synthetic import SEEDS, cnn_grid, planted, record

# Per-seed scatter of the planted change: it averages to 0, so the mean change is exact.
CHANGE_NOISE = (-0.001, 0.0, 0.001)
# The base study: +2 pp per doubling of width, +3 pp per block, over widths 8-16; width 32
# falls 3 pp short of that line (only the shared widths 8-16 may enter a conclusion).
BASE = cnn_grid(lambda w, d, s: planted(lambda d: 0.02, 0.03)(w, d, s) - 0.03 * (w == 32),
                widths=(8, 16, 32))
# Trained again (say, twice as long) at widths 8-16 and 64: +2 pp more per block beyond the
# first, width's gain unchanged; one unit the base never trained (seed 3) and one cell it
# lacks (width 64).
CHECK = cnn_grid(lambda w, d, s: (planted(lambda d: 0.02, 0.03)(w, d, s)
                                  + (0.02 + CHANGE_NOISE[s]) * (d - 1)), widths=(8, 16, 64))
CHECK += [record(len(CHECK), "cnn", {"width": 8, "depth": 1}, 3, 0.99)]


def _shift(result, name: str, pooled: bool, **at):
    (found,) = [s for s in result.shifts if s.estimate == name and s.at == at
                and s.pooled == pooled]
    return found


def test_each_shared_cell_changes_by_its_planted_amount_paired_by_seed():
    result = check_against("base", BASE, CHECK)
    assert result.study == "base" and result.training == ()
    assert {c.cell for c in result.cells} == {f"cnn:width={w},depth={d}"
                                              for w in (8, 16) for d in (1, 2, 3)}
    for c in result.cells:
        depth = int(c.cell[-1])
        assert c.seeds == SEEDS  # seed 3 ran here only: not a shared unit
        # Pairing by seed cancels the seed-wide offsets (5-8 pp): only the planted scatter.
        assert c.test.change.mean == pytest.approx(0.02 * (depth - 1))
        assert c.test.change.std == pytest.approx(0.001 * (depth - 1), abs=1e-9)
        assert c.test.check.mean - c.test.base.mean == pytest.approx(c.test.change.mean)
        assert c.val.change.mean == pytest.approx(c.test.change.mean)
        # +2 pp per block against 0.1 pp of scatter: a change even after Holm; none at depth 1.
        assert c.test.changed == (depth > 1)
    assert result.unshared == ("cnn:width=64,depth=1", "cnn:width=64,depth=2",
                               "cnn:width=64,depth=3")
    # Ordered by the base's test accuracy, best first; the best by validation in both.
    assert result.cells[0].cell == "cnn:width=16,depth=3"
    assert result.best == ("cnn:width=16,depth=3", "cnn:width=16,depth=3")


def test_the_planted_depth_gain_changes_and_the_width_gain_does_not():
    result = check_against("base", BASE, CHECK)
    depth = _shift(result, "depth per added block", True).value
    # Both sides from the shared cells only: the base's +3 pp, the check's +5 pp.
    assert depth.base.mean == pytest.approx(0.03) and depth.check.mean == pytest.approx(0.05)
    assert depth.change.mean == pytest.approx(0.02) and depth.changed and depth.outside
    assert not depth.zero_crossed  # above 0 in both
    width = _shift(result, "width per doubling of width", True).value
    assert analyze(BASE).pooled("width")[0].estimate.mean < 0.015  # with width 32
    assert width.base.mean == pytest.approx(0.02) == width.check.mean
    assert width.base.n == 3 and not width.changed and not width.outside
    assert math.isnan(width.p)  # no change at all: nothing to test
    step = _shift(result, "depth step 2->3", True).value
    assert step.change.mean == pytest.approx(0.02) and step.changed
    # The best cell (there) against each other cell, paired by seed.
    diff = _shift(result, "cnn:width=16,depth=3 - cnn:width=8,depth=1", False).value
    assert diff.base.mean == pytest.approx(0.02 + 0.06)
    assert diff.change.mean == pytest.approx(0.04)
    assert {s.estimate for s in result.changed()} >= {"depth per added block",
                                                      "depth step 2->3"}
    assert "width per doubling of width" not in {s.estimate for s in result.changed()}
    # Holm ran over every cell and conclusion that has a test.
    tested = [c for c in result.changes() if not math.isnan(c.p)]
    assert result.tests() == len(tested) and all(c.p_holm >= c.p for c in tested)


def test_the_descriptive_flags_differ_from_the_test():
    def pair(gaps: tuple[float, float, float]) -> list:
        out = []
        for s, gap in zip(SEEDS, gaps, strict=True):
            out += [record(len(out), "cnn", {"width": 8, "depth": 1}, s, 0.80 + gap),
                    record(len(out) + 1, "cnn", {"width": 8, "depth": 2}, s, 0.80)]
        return out
    base, check = pair((0.010, -0.010, 0.003)), pair((0.020, 0.021, 0.019))
    diff = _shift(check_against("base", base, check),
                  "cnn:width=8,depth=1 - cnn:width=8,depth=2", False).value
    assert diff.base.low < 0 < diff.base.high and diff.check.low > 0
    # Settled here, open there, yet inside the wide interval there, and no test rejects.
    assert diff.zero_crossed and not diff.outside and not diff.changed
    # One seed gives no interval there: nothing lies outside it, nothing is tested.
    single = _shift(check_against("base", base[:2], check[:2]),
                    "cnn:width=8,depth=1 - cnn:width=8,depth=2", False).value
    assert math.isnan(single.base.low) and not single.outside and math.isnan(single.p)


def test_a_repeated_seed_counts_once_on_both_sides():
    extra = record(100, "cnn", {"width": 8, "depth": 2}, 0, 0.10)  # a later repeat of seed 0
    result = check_against("base", BASE, [*CHECK, extra])
    (cell,) = [c for c in result.cells if c.cell == "cnn:width=8,depth=2"]
    assert cell.test.check.n == cell.test.base.n == cell.test.change.n == 3
    assert cell.test.change.mean == pytest.approx(0.02)


def test_training_differences_are_named_and_unmatched_conclusions_counted():
    longer = {"epochs": 60}
    check = [dataclasses.replace(r, train=longer) for r in CHECK]
    result = check_against("base", [dataclasses.replace(r, train={"epochs": 30})
                                    for r in BASE], check)
    assert result.training == (("epochs", "30", "60"),)
    assert result.unmatched == ()
    # Two training settings among the cells here: their estimates are made within each
    # (their ``at`` names it), so the base's pooled ones have no counterpart, and say so.
    split = [dataclasses.replace(r, train={"epochs": 60 if r.arch["width"] == 8 else 61})
             for r in check]
    assert "depth per added block" in check_against("base", BASE, split).unmatched


def test_a_pooled_estimate_of_one_group_is_not_counted_twice():
    column = [r for r in BASE if r.arch["width"] == 8]  # one width: pooling over one group
    names = [(s.estimate, s.pooled) for s in check_against("base", column, column).shifts]
    assert ("depth per added block", False) in names
    assert ("depth per added block", True) not in names


def test_studies_that_share_no_unit_or_build_other_nets_are_refused():
    elsewhere = [dataclasses.replace(r, cell=r.cell.replace("cnn:", "cnn:head=gap,"))
                 for r in CHECK]
    with pytest.raises(AgainstError, match="no \\(cell, seed\\) unit is complete in both"):
        check_against("base", BASE, elsewhere)
    other_net = [dataclasses.replace(r, arch={**r.arch, "kernels": [3, 3, 3]}) for r in CHECK]
    with pytest.raises(AgainstError, match="builds another net in 'base'"):
        check_against("base", BASE, other_net)


def test_the_analysis_carries_it_into_scaling_json_only_when_asked():
    assert "against" not in analyze(CHECK).to_dict()
    data = json.loads(json.dumps(analyze(CHECK, base=("base", BASE)).to_dict()))
    block = data["against"]
    assert block["study"] == "base" and len(block["cells"]) == 6
    assert block["best_shared_cell"] == {"base": "cnn:width=16,depth=3",
                                         "here": "cnn:width=16,depth=3"}
    changed = {x["estimate"] for x in block["estimates"] if x["value"]["changed"]}
    assert "depth per added block" in changed and "width per doubling of width" not in changed
    assert block["training_differences"] == [] and block["unmatched_estimates"] == []
