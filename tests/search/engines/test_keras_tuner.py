"""A tiny real KerasTuner search lands in a real SQLite Optuna storage, exactly once.

Real Fashion-MNIST (300 training images), real Keras training, real KerasTuner projects.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import optuna
import pytest

from search import presets
from search.data import load_splits
from search.engines.keras_tuner import (
    ENGINE,
    KerasTunerError,
    hyperband_epochs,
    project_dir,
    run_keras_tuner,
)
from spaces.space import Space, cell_key
from storage import open_storage, records, trial_records

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"

TINY = Space.parse({
    "family": "cnn",
    "params": {
        "width": {"type": "int", "low": 8, "high": 16, "step": 8},
        "depth": {"type": "int", "low": 1, "high": 2},
        "kernels": ["3-3", "5-3"],
        "batch_norm": [True, False],
        "dropout": {"type": "float", "low": 0.0, "high": 0.3, "when": {"batch_norm": False}},
        "learning_rate": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
    },
    "fixed": {"dense_units": 32},
})
ATTRS = {"cell", "seed", "arch", "train", "param_count", "flops", "test_accuracy", "engine",
         "kt_trial_id", "kt_tuner", "fit"}  # as stored (epochs run and seconds are in fit)


@pytest.fixture(scope="module")
def data():
    return load_splits("fashion_mnist", data_dir=DEBIAN_DIR, train_subset=300)


def tiny_spec(epochs: int, trials: int | None) -> presets.StudySpec:
    spec = presets.load("search", epochs=epochs, trials=trials, train_subset=300,
                        data_dir=DEBIAN_DIR)
    return dataclasses.replace(spec, space=TINY)


def study_at(url: str, name: str) -> optuna.Study:
    """A fresh handle on the storage each time, as a re-run in a new process would get."""
    return optuna.create_study(storage=open_storage(url), study_name=name,
                               direction="maximize", load_if_exists=True)


class Interrupt(BaseException):
    """Stands in for Ctrl-C right after a trial is stored."""


@pytest.mark.slow
@pytest.mark.trains
def test_random_search_is_stored_with_full_attrs_and_never_twice(tmp_path: Path, data) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    spec = tiny_spec(epochs=1, trials=2)

    # Killed right after the first trial is stored, before KerasTuner saves its oracle:
    # the worst moment for exactly-once.
    def crash(_trial: optuna.trial.FrozenTrial) -> None:
        raise Interrupt

    with pytest.raises(Interrupt):
        run_keras_tuner(spec, data, study_at(url, "kt"), "random", tmp_path, crash)
    assert len(study_at(url, "kt").trials) == 1

    seen: list[int] = []
    added = run_keras_tuner(spec, data, study_at(url, "kt"), "random", tmp_path,
                            lambda t: seen.append(t.number))
    assert added == 1 and seen == [1]  # trial 0 was re-run by KerasTuner but not re-stored
    assert run_keras_tuner(spec, data, study_at(url, "kt"), "random", tmp_path,
                           lambda t: None) == 0

    trials = study_at(url, "kt").trials
    assert sorted(t.user_attrs["kt_trial_id"] for t in trials) == ["0", "1"]
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert set(t.user_attrs) >= ATTRS
        a = records.attrs(t)
        assert a["engine"] == ENGINE and a["kt_tuner"] == "random"
        assert a["family"] == "cnn"
        assert a["cell"] == cell_key("cnn", {**t.params, "epochs": 1})
        assert a["seed"] == int(a["kt_trial_id"]) and a["epochs_run"] == 1
        assert t.value == a["val_accuracy"] and 0 <= a["test_accuracy"] <= 1
        assert a["arch"]["dense_units"] == 32  # fixed values reach the model
        assert a["train"]["learning_rate"] == t.params["learning_rate"]
        assert a["param_count"] > 0 and a["flops"] > 0 and a["train_seconds"] > 0
        assert list(t.intermediate_values) == [0]
        assert ("dropout" in t.params) == (t.params["batch_norm"] is False)
    assert all(r.complete and r.engine == ENGINE for r in trial_records(study_at(url, "kt")))
    assert (project_dir(tmp_path, "kt") / "oracle.json").is_file()

    with pytest.raises(KerasTunerError, match="other settings"):
        run_keras_tuner(spec, data, study_at(url, "kt"), "bayesian", tmp_path, lambda t: None)


@pytest.mark.trains
def test_architectures_over_max_params_are_skipped_without_ending_the_search(
        tmp_path: Path, data) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    spec = dataclasses.replace(tiny_spec(epochs=1, trials=5), max_params=10)
    # Five over-budget trials in a row: more than KerasTuner's default limit of 3 failures.
    assert run_keras_tuner(spec, data, study_at(url, "cap"), "random", tmp_path,
                           lambda t: None) == 0
    assert study_at(url, "cap").trials == []
    oracle = json.loads((project_dir(tmp_path, "cap") / "oracle.json").read_text())
    assert len(oracle["ongoing_trials"]) == 0 and oracle["tried_so_far"]


@pytest.mark.slow
@pytest.mark.trains
def test_hyperband_continues_rounds_from_the_parent_checkpoint(tmp_path: Path, data) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    spec = tiny_spec(epochs=3, trials=None)
    added = run_keras_tuner(spec, data, study_at(url, "hb"), "hyperband", tmp_path,
                            lambda t: None)
    expected_trials, expected_epochs = hyperband_epochs(3)
    trials = study_at(url, "hb").trials
    assert added == len(trials) == expected_trials
    assert sum(records.attrs(t)["epochs_run"] for t in trials) == expected_epochs
    continued = [t for t in trials if "kt_parent_trial_id" in t.user_attrs]
    assert continued, "one Hyperband iteration with max_epochs 3 promotes the best trials"
    for t in continued:
        start = t.user_attrs["kt_initial_epoch"]
        assert start > 0 and min(t.intermediate_values) == start
        assert len(t.intermediate_values) == records.attrs(t)["epochs_run"]
        # The stored settings count the parent's epochs too: what a retrain must match.
        assert json.loads(t.user_attrs["train"])["epochs"] == start + records.attrs(t)["epochs_run"]
        parent = next(p for p in trials
                      if p.user_attrs["kt_trial_id"] == t.user_attrs["kt_parent_trial_id"])
        assert parent.params == t.params
        # Rounds of one architecture are separate cells, never seeds of one cell.
        assert parent.user_attrs["cell"] != t.user_attrs["cell"]
        assert t.user_attrs["cell"].endswith(f",epochs={start + records.attrs(t)['epochs_run']}")
    assert run_keras_tuner(spec, data, study_at(url, "hb"), "hyperband", tmp_path,
                           lambda t: None) == 0
