"""compat.keras_tuner against the installed KerasTuner: a pushed condition acts as
``conditional_scope``'s own, and a standalone oracle saves where it is told."""

import keras_tuner
import pytest

from compat.keras_tuner import condition, set_project_dir

CHECKED = "1.4.8"  # the version compat/keras_tuner.py was checked against


def changed(what: str) -> str:
    return (f"keras-tuner {keras_tuner.__version__} (compat/keras_tuner.py checked against "
            f"{CHECKED}): {what}; update compat/keras_tuner.py")


def test_a_condition_on_a_top_level_parent_nests_inside_a_public_scope():
    hp = keras_tuner.HyperParameters()
    hp.Choice("a", ["x", "y"])
    hp.Choice("b", ["u", "v"])
    try:
        with hp.conditional_scope("a", ["x"]), condition(hp, "b", ["v"]):
            hp.Int("c", 1, 4)
    except AttributeError as exc:
        pytest.fail(changed(f"the conditions stack moved ({exc})"))
    hp.Int("d", 1, 4)  # after the block: no condition left behind
    conditions = {p.name: p.conditions for p in hp.space}
    assert [(c.name, c.values) for c in conditions["c"]] == [("a", ["x"]), ("b", ["v"])], (
        changed("the pushed condition is not recorded on the hyperparameter"))
    assert conditions["d"] == [], changed("the pushed condition was not popped")
    for a, b, active in (("x", "v", True), ("x", "u", False), ("y", "v", False)):
        hp.values.update({"a": a, "b": b})
        assert hp.is_active("c") is active, changed(f"c active for a={a}, b={b}")


def test_a_standalone_oracle_saves_in_the_folder_it_is_given(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Int("x", 1, 3)
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("score", "max"), hyperparameters=hp, max_trials=2,
        seed=0)
    try:
        set_project_dir(oracle, str(tmp_path), "project")
    except AttributeError as exc:
        pytest.fail(changed(f"Oracle._set_project_dir is gone ({exc})"))
    oracle.save()
    assert (tmp_path / "project" / "oracle.json").is_file(), changed(
        "the oracle does not save into the project folder set")
