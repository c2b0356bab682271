"""The progress line's cost model and ETA on an in-memory study with known trial times."""

import io

import optuna
import pytest
from optuna.trial import TrialState

from search.config import TrainConfig
from search.progress import Progress, epoch_seconds_model

IMAGES = 1000


def finished(study, cell, seed, flops, seconds, epochs):
    study.add_trial(optuna.trial.create_trial(
        state=TrialState.COMPLETE, value=0.8,
        user_attrs={"cell": cell, "seed": seed, "flops": flops, "train_seconds": seconds,
                    "epochs_run": epochs}))


def test_epoch_seconds_follow_a_line_in_flops_fitted_on_finished_trials():
    study = optuna.create_study()
    finished(study, "a", 0, 1_000, 4 * 3.0, 4)  # 3 s per epoch at 1e6 FLOPs x images
    finished(study, "b", 0, 3_000, 2 * 7.0, 2)  # 7 s per epoch at 3e6
    model = epoch_seconds_model(study.trials, IMAGES)
    assert model(1_000 * IMAGES) == pytest.approx(3.0)
    assert model(2_000 * IMAGES) == pytest.approx(5.0)  # a + b x work, a = 1, b = 2e-6


def test_eta_charges_each_open_unit_its_predicted_epochs():
    study = optuna.create_study()
    finished(study, "a", 0, 1_000, 4 * 3.0, 4)
    finished(study, "b", 0, 3_000, 2 * 7.0, 2)
    units = {"a": 2, "b": 2, "c": 1}  # open: (a, 1), (b, 1), (c, 0)
    flops = {"a": 1_000, "b": 3_000, "c": 2_000}
    converged = Progress(study, TrainConfig(epochs=30, stop="converged"), IMAGES, units, flops,
                         str, stream=io.StringIO())
    # a and b: their own cell's epochs (4 and 2); c: the mean over finished trials (3).
    # No time outside fit measured yet.
    assert converged.eta(study.trials) == pytest.approx(4 * 3.0 + 2 * 7.0 + 3 * 5.0)
    fixed = Progress(study, TrainConfig(epochs=10), IMAGES, units, flops, str,
                     stream=io.StringIO())
    assert fixed.eta(study.trials) == pytest.approx(10 * (3.0 + 7.0 + 5.0))


def test_a_cell_seen_before_is_charged_its_own_seconds_per_epoch_not_the_line():
    study = optuna.create_study()
    finished(study, "a", 0, 1_000, 4 * 3.0, 4)
    finished(study, "b", 0, 3_000, 2 * 7.0, 2)
    finished(study, "c", 0, 2_000, 3 * 9.0, 3)  # 9 s per epoch where the line says 5
    progress = Progress(study, TrainConfig(epochs=30, stop="converged"), IMAGES,
                        {"a": 1, "b": 1, "c": 2, "d": 1}, {"a": 1_000, "b": 3_000,
                                                          "c": 2_000, "d": 2_000},
                        str, stream=io.StringIO())
    model = epoch_seconds_model(study.trials, IMAGES)
    # c's open seed: 3 epochs at its own 9 s; d (never seen): the mean epochs at the line.
    assert progress.eta(study.trials) == pytest.approx(3 * 9.0 + 3 * model(2_000 * IMAGES))


def test_plain_output_gives_each_trial_a_status_line():
    study = optuna.create_study()
    finished(study, "a", 0, 1_000, 4 * 3.0, 4)
    out = io.StringIO()
    progress = Progress(study, TrainConfig(epochs=4), IMAGES, {"a": 2}, {"a": 1_000},
                        lambda t: f"trial {t.number}", stream=out)
    progress.epoch(0, 2)
    progress.trial_done(study.trials[0])
    lines = out.getvalue().splitlines()
    assert lines[0] == "trial 0"
    assert lines[1].startswith("    1/2 units · this worker 1 · elapsed 0:00:0")
    assert "ETA 0:00:12" in lines[1]  # one open unit: 4 epochs x 3 s


def test_quiet_prints_nothing_per_trial():
    study = optuna.create_study()
    finished(study, "a", 0, 1_000, 4 * 3.0, 4)
    out = io.StringIO()
    progress = Progress(study, TrainConfig(epochs=4), IMAGES, {"a": 2}, {"a": 1_000},
                        lambda t: f"trial {t.number}", stream=out, quiet=True)
    progress.trial_done(study.trials[0])
    progress.close()
    assert out.getvalue() == ""


def test_a_sequential_grid_counts_the_seeds_its_plan_has_queued_up_to_the_cap():
    study = optuna.create_study()
    finished(study, "a", 0, 1_000, 4 * 3.0, 4)
    finished(study, "b", 0, 1_000, 4 * 3.0, 4)
    for cell, seed in (("a", 1), ("a", 2), ("a", 3)):  # the plan queued a's seeds 1-2;
        study.enqueue_trial({}, user_attrs={"cell": cell, "seed": seed})  # 3: a larger run's
    study.add_trial(optuna.trial.create_trial(  # queued by an earlier plan, then dropped
        state=TrialState.FAIL, user_attrs={"cell": "b", "seed": 1}))
    out = io.StringIO()
    progress = Progress(study, TrainConfig(epochs=4), IMAGES, {"a": 1, "b": 1},
                        {"a": 1_000, "b": 1_000}, lambda t: f"trial {t.number}", stream=out,
                        most={"a": 3, "b": 3})
    # Open: a's seeds 1 and 2, each 4 epochs x 3 s; not seed 3 (beyond the cap).
    assert progress.eta(study.trials) == pytest.approx(2 * 4 * 3.0)
    progress.trial_done(study.trials[0])
    assert out.getvalue().splitlines()[1].startswith("    2/4 units · ")
