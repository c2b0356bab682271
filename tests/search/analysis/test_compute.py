"""search.analysis compute: curves against training FLOPs and their frontier."""

from __future__ import annotations

from search.analysis import analyze, best_at, compute_curves, compute_frontier
from tests.search.analysis.synthetic import SEEDS, record


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
