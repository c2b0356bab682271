"""search.analysis cells: seeds grouped into cells, selection by validation, and a
study still running."""

from __future__ import annotations

import dataclasses
import json

import pytest

from search.analysis import analyze, best_cell, cell_stats
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
