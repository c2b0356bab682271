"""search.analysis cells: seeds grouped into cells, selection by validation, and a
study still running."""

from __future__ import annotations

import dataclasses
import json

import pytest

from search.analysis import analyze, best_cell, cell_stats
from search.analysis.cells import varying_settings
from tests.search.analysis.synthetic import SEEDS, cnn_grid, planted, record


def test_cell_stats_groups_seeds_of_a_cell():
    cells = cell_stats(cnn_grid(lambda w, d, s: 0.5 + s / 100, widths=(8,), depths=(2,)))
    assert len(cells) == 1
    assert cells[0].seeds == SEEDS
    assert cells[0].by_seed == {0: 0.5, 1: 0.51, 2: 0.52}


def test_selection_follows_validation_when_validation_and_test_disagree():
    recs = [record(s, "cnn", {"width": 8, "depth": 1}, s, 0.90, val=0.80) for s in SEEDS]
    recs += [record(10 + s, "cnn", {"width": 16, "depth": 1}, s, 0.85, val=0.82)
             for s in SEEDS]
    cells = cell_stats(recs)
    assert max(cells, key=lambda c: c.test.mean).cell == "cnn:width=8,depth=1"
    assert best_cell(cells).cell == "cnn:width=16,depth=1"


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


def test_a_seed_stored_before_a_training_field_existed_shares_its_cells_setting():
    """v2's units span code from before label_smoothing and erasing existed and after (which
    stores them at 0.0): one setting, so no effect splits its cells into two strata."""
    base = {"epochs": 30, "optimizer": "adam"}
    now = {**base, "label_smoothing": 0.0, "erasing": 0.0}
    recs = [dataclasses.replace(  # the cell key names the arch alone, as a grid's does
        record(s * 2 + w // 16, "cnn", {"width": w, "depth": 1}, s, 0.80 + w / 1000 + s / 100,
               train=now if (s, w) in ((0, 16), (1, 8)) else base), cell=f"cnn:width={w}")
        for s in SEEDS for w in (8, 16)]
    cells = cell_stats(recs)
    assert len(cells) == 2 and cells[0].train == cells[1].train
    assert cells[0].train["erasing"] == 0.0 and cells[0].train["epochs"] == 30
    assert not varying_settings(cells, skip={"width"})
    smoothed = dataclasses.replace(recs[0], train={**base, "label_smoothing": 0.1},
                                   cell="cnn:width=8,ls")
    assert len(varying_settings(cell_stats([*recs, smoothed]), skip={"width"})) == 1
