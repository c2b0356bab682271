import optuna
import pytest

from search.data import load_splits
from search.objective import Objective
from search.presets import StudySpec
from search.train import TrainConfig
from spaces.space import Space


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
