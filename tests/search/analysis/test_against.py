"""search.analysis.against: a study's cells against the same cells and seeds of another,
on synthetic studies whose change is planted."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from search.analysis import analyze, check_against
from tests.search.analysis.synthetic import SEEDS, cnn_grid, planted, record

# The base study: +2 pp per doubling of width, +3 pp per block, over widths 8-16; width 32
# falls 3 pp short of that line (only the shared widths 8-16 may enter a shift).
BASE = cnn_grid(lambda w, d, s: planted(lambda d: 0.02, 0.03)(w, d, s) - 0.03 * (w == 32),
                widths=(8, 16, 32))
# Trained again (say, twice as long) at widths 8-16 and 64: +1 pp more per block, width's
# gain unchanged; one unit the base never trained (seed 3) and one cell it lacks (width 64).
CHECK = cnn_grid(lambda w, d, s: planted(lambda d: 0.02, 0.03)(w, d, s) + 0.01 * (d - 1),
                 widths=(8, 16, 64))
CHECK += [record(len(CHECK), "cnn", {"width": 8, "depth": 1}, 3, 0.99)]


def _shift(result, name: str, **at):
    (found,) = [s for s in result.shifts if s.estimate == name and s.at == at and s.pooled
                == ("depth" not in at and "width" not in at)]
    return found


def test_each_shared_cell_changes_by_its_planted_amount_paired_by_seed():
    result = check_against("base", BASE, CHECK)
    assert result.study == "base"
    assert {c.cell for c in result.cells} == {f"cnn:width={w},depth={d}"
                                              for w in (8, 16) for d in (1, 2, 3)}
    for c in result.cells:
        depth = int(c.cell[-1])
        assert c.seeds == SEEDS  # seed 3 ran here only: not a shared unit
        # Pairing by seed cancels the seed-wide offsets: the change has no spread.
        assert c.change.mean == pytest.approx(0.01 * (depth - 1))
        assert c.change.high - c.change.low == pytest.approx(0, abs=1e-9)
        assert c.check.mean - c.base.mean == pytest.approx(c.change.mean)
    assert result.unshared == ("cnn:width=64,depth=1", "cnn:width=64,depth=2",
                               "cnn:width=64,depth=3")
    # Ordered by the base's test accuracy, best first; the best by validation in both.
    assert result.cells[0].cell == "cnn:width=16,depth=3"
    assert result.best == ("cnn:width=16,depth=3", "cnn:width=16,depth=3")


def test_the_planted_depth_gain_moves_and_the_width_gain_does_not():
    result = check_against("base", BASE, CHECK)
    depth = _shift(result, "depth per added block")
    # Both sides from the shared cells only: the base's +3 pp, the check's +4 pp, and the
    # check lies outside the base's interval (seed noise 0.2 pp per block).
    assert depth.base.mean == pytest.approx(0.03) and depth.check.mean == pytest.approx(0.04)
    assert depth.change.mean == pytest.approx(0.01) and depth.moved
    assert not depth.verdict_changed  # settled above 0 in both
    width = _shift(result, "width per doubling of width")
    assert analyze(BASE).pooled("width")[0].estimate.mean < 0.015  # with width 32
    assert width.base.mean == pytest.approx(0.02) == width.check.mean
    assert width.base.n == 3 and not width.moved and not width.verdict_changed
    assert width.change.mean == pytest.approx(0, abs=1e-12)
    step = _shift(result, "depth step 2->3")
    assert step.change.mean == pytest.approx(0.01) and step.moved
    # A difference of two cells: the one better in the base first.
    diff = next(s for s in result.shifts
                if s.estimate == "cnn:width=16,depth=3 - cnn:width=8,depth=1")
    assert diff.base.mean == pytest.approx(0.02 + 0.06)
    assert diff.change.mean == pytest.approx(0.02)
    assert {s.estimate for s in result.moved()} >= {"depth per added block",
                                                    "depth step 2->3"}
    assert "width per doubling of width" not in {s.estimate for s in result.moved()}


def test_a_difference_the_base_left_open_and_the_check_settles_changes_verdict():
    def pair(gaps: tuple[float, float, float]) -> list:
        out = []
        for s, gap in zip(SEEDS, gaps, strict=True):
            out += [record(len(out), "cnn", {"width": 8, "depth": 1}, s, 0.80 + gap),
                    record(len(out) + 1, "cnn", {"width": 8, "depth": 2}, s, 0.80)]
        return out
    base, check = pair((0.010, -0.010, 0.003)), pair((0.020, 0.021, 0.019))
    (diff,) = [s for s in check_against("base", base, check).shifts if " - " in s.estimate]
    assert diff.estimate == "cnn:width=8,depth=1 - cnn:width=8,depth=2"
    assert diff.base.low < 0 < diff.base.high and diff.check.low > 0
    # Settled here, open there, yet inside the wide interval there: the two flags differ.
    assert diff.verdict_changed and not diff.moved
    # One seed gives no interval there: nothing can move beyond it.
    (single,) = [s for s in check_against("base", base[:2], check[:2]).shifts
                 if " - " in s.estimate]
    assert math.isnan(single.base.low) and not single.moved


def test_the_analysis_carries_it_into_scaling_json_only_when_asked():
    plain = analyze(CHECK).to_dict()
    assert "against" not in plain
    data = json.loads(json.dumps(analyze(CHECK, base=("base", BASE)).to_dict()))
    block = data["against"]
    assert block["study"] == "base" and len(block["cells"]) == 6
    assert block["best_shared_cell"] == {"base": "cnn:width=16,depth=3",
                                         "here": "cnn:width=16,depth=3"}
    moved = {x["estimate"] for x in block["estimates"] if x["moved"]}
    assert "depth per added block" in moved and "width per doubling of width" not in moved
    # A check with no cell in common says so rather than inventing a comparison.
    elsewhere = [dataclasses.replace(r, cell=r.cell.replace("cnn:", "cnn:head=gap,"))
                 for r in CHECK]
    empty = check_against("base", BASE, elsewhere)
    assert empty.cells == () and empty.shifts == () and empty.best is None
    assert len(empty.unshared) == 9
