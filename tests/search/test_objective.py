import optuna
import pytest

from search.config import TrainConfig
from search.data import load_splits
from search.objective import Objective
from search.presets import StudySpec
from spaces.space import Space
from storage import records

pytestmark = pytest.mark.trains  # the objective trains what it is given


@pytest.fixture(scope="module")
def tiny():
    return load_splits("fashion_mnist", train_subset=200)


def test_architectures_over_max_params_are_pruned_untrained(tiny):
    space = Space.parse({"family": "dense", "params": {"units": [8, 512]}})
    spec = StudySpec(preset="cap", description="", mode="search", dataset="fashion_mnist",
                     train=TrainConfig(epochs=1), seeds=1, space=space, max_params=20_000)
    study = optuna.create_study(direction="maximize")
    for units in (512, 8):
        study.enqueue_trial({"units": units})
    study.optimize(Objective(spec, tiny), n_trials=2)
    big, small = study.trials
    assert big.state == optuna.trial.TrialState.PRUNED
    assert big.user_attrs["param_count"] > 20_000
    assert big.user_attrs["prune_reason"] == (
        f"not trained: {big.user_attrs['param_count']:,} parameters exceed max_params 20,000")
    assert "val_accuracy" not in big.user_attrs and not big.intermediate_values
    assert small.state == optuna.trial.TrialState.COMPLETE
    assert small.user_attrs["param_count"] <= 20_000 and "prune_reason" not in small.user_attrs


def test_a_converged_trial_stores_how_it_ended_and_pruning_still_works(tiny):
    space = Space.parse({"family": "dense", "params": {"units": [16, 32]}})
    cfg = TrainConfig(epochs=6, batch_size=32, stop="converged", patience=1,
                      learning_rate=0.02)
    spec = StudySpec(preset="conv", description="", mode="search", dataset="fashion_mnist",
                     train=cfg, seeds=1, space=space)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(
        lower=0.99, n_warmup_steps=2))  # prunes every trial once it has run 3 epochs
    study.enqueue_trial({"units": 16})
    study.optimize(Objective(spec, tiny), n_trials=2)
    for trial in study.trials:
        a = records.attrs(trial)
        if trial.state == optuna.trial.TrialState.COMPLETE:  # stopped by patience first
            assert a["converged"] is True and a["epochs_run"] <= 3
            assert a["epochs_run"] == len(trial.intermediate_values)
            assert a["val_accuracy"] == trial.intermediate_values[a["best_epoch"] - 1]
            assert 0 <= a["train_accuracy"] <= 1 and a["train_loss"] > 0
            stored = [trial.value, a["test_accuracy"], a["train_accuracy"], a["train_loss"]]
            assert stored == [round(v, 6) for v in stored]  # not float32 digits in float64
        else:
            assert trial.state == optuna.trial.TrialState.PRUNED
            assert len(trial.intermediate_values) == 3 and "val_accuracy" not in a
        reported = list(trial.intermediate_values.values())
        assert reported == [round(v, 6) for v in reported]


def test_a_table_study_stores_test_accuracy_and_seconds_of_every_epoch(tiny):
    space = Space.parse({"family": "dense", "params": {"units": [16]}})
    spec = StudySpec(preset="table", description="", mode="search", dataset="fashion_mnist",
                     train=TrainConfig(epochs=3, batch_size=64), seeds=1, space=space,
                     test_curve=True)
    study = optuna.create_study(direction="maximize")
    study.optimize(Objective(spec, tiny), n_trials=1)
    a = records.attrs(study.trials[0])
    assert len(a["test_curve"]) == len(a["epoch_seconds"]) == 3
    assert a["test_curve"][-1] == a["test_accuracy"]  # fixed epochs: the last one is reported
    assert all(0 < s < a["train_seconds"] for s in a["epoch_seconds"])
    assert sum(a["epoch_seconds"]) <= a["train_seconds"]  # the test passes are not charged
    without = StudySpec(**{**spec.__dict__, "test_curve": False})
    assert "test_curve" in spec.identity() and "test_curve" not in without.identity()
