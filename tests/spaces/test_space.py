"""The space declaration and its Optuna and grid adapters."""

import optuna
import pytest

from spaces import SpecError
from spaces.space import Param, Space, cell_key, parse_cell_key


def scaling_space() -> Space:
    return Space.parse({"family": "cnn", "params": {"width": [8, 16], "depth": [1, 2, 3]},
                        "fixed": {"kernels": [7, 5, 3]}})


def test_grid_is_the_full_product_in_declared_order():
    cells = scaling_space().grid()
    assert len(cells) == 6
    assert cells[0] == {"width": 8, "depth": 1}
    assert cells[-1] == {"width": 16, "depth": 3}


def test_conditional_params_drop_out_of_inactive_cells():
    space = Space.parse({"family": "cnn", "params": {
        "batch_norm": [False, True],
        "dropout": {"type": "choice", "values": [0.1, 0.3], "when": {"batch_norm": True}},
    }})
    assert space.grid() == [{"batch_norm": False}, {"batch_norm": True, "dropout": 0.1},
                            {"batch_norm": True, "dropout": 0.3}]


def test_grid_rejects_ranges():
    space = Space.parse({"family": "cnn", "params": {"width": {"type": "int", "low": 8,
                                                               "high": 64}}})
    with pytest.raises(SpecError, match="width is a range"):
        space.grid()


def test_optuna_adapter_suggests_every_kind_within_bounds():
    space = Space.parse({"family": "cnn", "params": {
        "width": {"type": "int", "low": 16, "high": 64, "step": 16},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "kernels": ["7-5-3", "3-3-3"],
        "batch_norm": [True, False],
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "when": {"batch_norm": False}},
    }})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen_dropout = set()
    for _ in range(20):
        trial = study.ask()
        values = space.suggest(trial)
        assert values["width"] in (16, 32, 48, 64)
        assert 1e-4 <= values["learning_rate"] <= 1e-2
        assert values["kernels"] in ("7-5-3", "3-3-3")
        assert ("dropout" in values) == (values["batch_norm"] is False)
        seen_dropout.add("dropout" in values)
        dists = trial.distributions
        assert isinstance(dists["learning_rate"], optuna.distributions.FloatDistribution)
        assert dists["learning_rate"].log
        study.tell(trial, 0.0)
    assert seen_dropout == {True, False}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"family": "vit"}, "unknown family 'vit'"),
        ({"family": "cnn", "params": {"width": {"type": "int", "low": 9, "high": 3}}},
         "needs low <= high"),
        ({"family": "cnn", "params": {"width": {"type": "integer", "low": 1, "high": 3}}},
         "unknown type 'integer'"),
        ({"family": "cnn", "params": {"lr": {"type": "float", "low": 0, "high": 1,
                                             "log": True}}}, "low must be > 0"),
        ({"family": "cnn", "params": {"width": [8]}, "fixed": {"width": 8}},
         "width both varies and is fixed"),
        ({"family": "cnn", "params": {"width": 8}}, "must be a list of values or a table"),
    ],
)
def test_malformed_declarations_fail_clearly(raw, message):
    with pytest.raises(SpecError) as err:
        Space.parse(raw)
    assert message in str(err.value)


def test_cell_keys_round_trip():
    key = cell_key("cnn", {"width": 16, "batch_norm": True})
    assert key == "cnn:width=16,batch_norm=true"
    assert parse_cell_key(key) == ("cnn", {"width": "16", "batch_norm": "true"})
    assert Param("x", "choice", choices=(1,)).active({})
