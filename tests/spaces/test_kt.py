"""The KerasTuner adapter declares each kind of parameter as the matching ``hp.*``."""

from __future__ import annotations

import keras_tuner
import optuna
import pytest
from keras_tuner.engine import hyperparameters as hpt

from spaces.kt import hyperparameters, varying
from spaces.space import Param, Space

SPACE = Space("cnn", (
    Param("width", "int", low=16, high=64, step=16),
    Param("depth", "int", low=1, high=8, log=True),
    Param("dropout", "float", low=0.0, high=0.5),
    Param("learning_rate", "float", low=1e-4, high=1e-2, log=True),
    Param("kernels", "choice", choices=("7-5-3", "3-3-3")),
    Param("dense_units", "choice", choices=(0, 128, 256)),
    Param("batch_norm", "choice", choices=(True, False)),
    Param("regularize", "choice", choices=(True,)),
    Param("weight_decay", "float", low=1e-6, high=1e-2, log=True,
          when=(("batch_norm", (False,)),)),
    Param("decay_floor", "float", low=0.0, high=1.0, step=0.25,
          when=(("batch_norm", (False,)), ("kernels", ("3-3-3",)))),
), {"convs_per_block": 1})


def declared(space: Space = SPACE) -> tuple[keras_tuner.HyperParameters, dict]:
    hp = keras_tuner.HyperParameters()
    values = hyperparameters(space, hp)
    return hp, values


def entry(hp: keras_tuner.HyperParameters, name: str) -> hpt.HyperParameter:
    return next(p for p in hp.space if p.name == name)


def test_int_maps_to_hp_int_with_bounds_and_step() -> None:
    hp, _ = declared()
    width = entry(hp, "width")
    assert type(width) is hpt.Int
    assert (width.min_value, width.max_value, width.step, width.sampling) == (16, 64, 16,
                                                                              "linear")


def test_log_int_maps_to_log_sampling_without_a_step() -> None:
    hp, _ = declared()
    depth = entry(hp, "depth")
    assert type(depth) is hpt.Int
    assert (depth.min_value, depth.max_value, depth.sampling) == (1, 8, "log")
    assert depth.step is None  # KerasTuner reads a log step as a factor


def test_float_maps_to_hp_float_linear_and_log() -> None:
    hp, _ = declared()
    dropout, lr = entry(hp, "dropout"), entry(hp, "learning_rate")
    assert type(dropout) is hpt.Float and type(lr) is hpt.Float
    assert (dropout.min_value, dropout.max_value, dropout.step, dropout.sampling) == (
        0.0, 0.5, None, "linear")
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1e-2, "log")


def test_choices_map_to_hp_choice_and_booleans_to_hp_boolean() -> None:
    hp, _ = declared()
    kernels, dense = entry(hp, "kernels"), entry(hp, "dense_units")
    assert type(kernels) is hpt.Choice and kernels.values == ["7-5-3", "3-3-3"]
    assert type(dense) is hpt.Choice and dense.values == [0, 128, 256]
    assert type(entry(hp, "batch_norm")) is hpt.Boolean
    only_true = entry(hp, "regularize")  # a one-value bool list is a Choice, not a Boolean
    assert type(only_true) is hpt.Choice and only_true.values == [True]


def test_conditional_params_are_declared_in_conditional_scopes() -> None:
    hp, _ = declared()
    wd = entry(hp, "weight_decay")
    assert type(wd) is hpt.Float and wd.sampling == "log"
    assert [(c.name, c.values) for c in wd.conditions] == [("batch_norm", [False])]
    floor = entry(hp, "decay_floor")
    assert floor.step == 0.25
    assert [(c.name, c.values) for c in floor.conditions] == [
        ("batch_norm", [False]), ("kernels", ["3-3-3"])]


def test_values_are_returned_in_declared_order_and_only_when_active() -> None:
    hp, values = declared()
    # Defaults: the first listed choice (also for a Boolean), the lowest bound.
    assert list(values) == ["width", "depth", "dropout", "learning_rate", "kernels",
                            "dense_units", "batch_norm", "regularize"]
    assert values["batch_norm"] is True and values["kernels"] == "7-5-3"
    hp.values["batch_norm"] = False
    hp.ensure_active_values()  # what a KerasTuner oracle does before handing hp to build
    values = hyperparameters(SPACE, hp)
    assert 1e-6 <= values["weight_decay"] <= 1e-2
    assert "decay_floor" not in values  # also needs kernels 3-3-3
    hp.values["kernels"] = "3-3-3"
    hp.ensure_active_values()
    assert hyperparameters(SPACE, hp)["decay_floor"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    hp.values["batch_norm"] = True
    again = hyperparameters(SPACE, hp)
    assert "weight_decay" not in again and "decay_floor" not in again


def test_varying_drops_tuner_entries_and_inactive_params() -> None:
    hp_values = {"width": 32, "depth": 2, "dropout": 0.1, "learning_rate": 1e-3,
                 "kernels": "3-3-3", "dense_units": 128, "batch_norm": True,
                 "regularize": True, "weight_decay": 1e-4, "tuner/epochs": 3,
                 "tuner/trial_id": "0001"}
    got = varying(SPACE, hp_values)
    assert "tuner/epochs" not in got and "weight_decay" not in got
    assert got["batch_norm"] is True and got["width"] == 32


def test_random_samples_stay_inside_the_optuna_distributions() -> None:
    """What KerasTuner samples can be recorded as Optuna params of the same space."""
    oracle_hp, _ = declared()
    dists = SPACE.distributions()
    assert isinstance(dists["width"], optuna.distributions.IntDistribution)
    assert dists["width"].step == 16 and dists["depth"].log
    assert isinstance(dists["learning_rate"], optuna.distributions.FloatDistribution)
    assert dists["learning_rate"].log and dists["decay_floor"].step == 0.25
    assert isinstance(dists["batch_norm"], optuna.distributions.CategoricalDistribution)
    for seed in range(25):
        hp = keras_tuner.HyperParameters()
        for p in oracle_hp.space:
            hp.merge([p])
            if hp.is_active(p):
                hp.values[p.name] = p.random_sample(seed)
        for name, value in varying(SPACE, hp.values).items():
            dist = dists[name]
            assert dist._contains(dist.to_internal_repr(value)), (name, value)


@pytest.mark.parametrize("preset", ["search"])
def test_the_shipped_search_space_declares(preset: str) -> None:
    from search import presets

    space = presets.load(preset).space
    hp = keras_tuner.HyperParameters()
    values = hyperparameters(space, hp)
    assert [p.name for p in hp.space] == [p.name for p in space.params]
    assert set(values) == {p.name for p in space.params}
