"""search.analysis compute: curves against training FLOPs and their frontier."""

from __future__ import annotations

import dataclasses

from search.analysis import analyze, best_at, compute_curves, compute_frontier, spent_curve
from storage.records import DROPPED
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


def test_worker_time_counts_every_finished_trial_in_finishing_order():
    """A search's curve: a complete trial costs its training seconds, a pruned or failed one
    its wall time; only complete trials can be the best; order is by finishing time."""
    def trial(number: int, state: str, acc: float | None, finished: float, train: float,
              wall: float) -> object:
        made = record(number, "cnn", {"width": 8 + number}, 0, acc, state=state)
        return dataclasses.replace(made, finished_at=finished, wall_seconds=wall,
                                   train_seconds=train if state == "COMPLETE" else None,
                                   val_accuracy=acc)
    recs = [trial(0, "COMPLETE", 0.90, finished=100.0, train=1800, wall=1810),
            trial(1, "COMPLETE", 0.93, finished=400.0, train=3600, wall=3610),
            # Finished before trial 1 although numbered after it; pruned at a higher value.
            trial(3, "PRUNED", 0.95, finished=200.0, train=0, wall=900),
            trial(2, "FAIL", None, finished=500.0, train=0, wall=1800),
            dataclasses.replace(record(4, "cnn", {"width": 20}, 0, None, state="RUNNING"),
                                wall_seconds=None, finished_at=None),
            # Never ran: a unit dropped from a grid's queue, a twin closed by its claim.
            trial(5, "FAIL", None, finished=150.0, train=0, wall=3),
            dataclasses.replace(trial(6, "PRUNED", None, finished=160.0, train=0, wall=2),
                                duplicate_of=0)]
    recs[5] = dataclasses.replace(recs[5], fail_reason=DROPPED)
    points = spent_curve(recs)
    assert [p.trial for p in points] == [0, 3, 1, 2]  # the running trial has not finished
    assert [p.hours for p in points] == [0.5, 0.75, 1.75, 2.25]
    assert [p.best_trial for p in points] == [0, 0, 1, 1]
    assert [p.best_val for p in points] == [0.90, 0.90, 0.93, 0.93]
    summary = analyze(recs).worker_time()
    assert summary == {"hours": 2.25, "trials": 4,
                       "by_state": {"COMPLETE": 2, "PRUNED": 1, "FAIL": 1},
                       "best_trial": 1, "best_val": 0.93, "best_after_hours": 1.75}
    assert analyze(recs).to_dict()["worker_time"]["curve"][1]["state"] == "PRUNED"
