"""search.analysis runs: how each run ended (convergence, schedule-limited runs,
premature stops) and every estimate again without the premature stops."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from search.analysis import analyze, cell_stats, convergence, premature_stops, schedule_limited
from tests.search.analysis.synthetic import SEEDS, SLOPE_NOISE, record, run


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
