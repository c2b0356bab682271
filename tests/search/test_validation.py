"""search.validation: one wording, the caller's error class, no bool taken for a number and
no inf or nan taken for a finite one; and a module every package may import."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from search import validation

PROJECT = ("benchmarks", "compat", "search", "spaces", "storage", "tests")


class Refused(ValueError):
    """The caller's error class, which every refusal must raise."""


def refusal(check, name: str, value: object, *bounds: object, **options: object) -> str:
    """The message ``check`` refuses ``value`` with, as a ``Refused``."""
    with pytest.raises(Refused) as err:
        check(name, value, Refused, *bounds, **options)
    return str(err.value)


def test_the_module_imports_nothing_from_the_project():
    tree = ast.parse(Path(validation.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert not {name.split(".")[0] for name in imported} & set(PROJECT)


def test_positive_int_takes_ints_and_with_floats_whole_floats():
    assert validation.positive_int("width", 32, Refused) == 32
    assert validation.positive_int("width", 32.0, Refused, floats=True) == 32
    assert type(validation.positive_int("n", np.int64(7), Refused)) is int
    assert validation.positive_int("width", 10**400, Refused) == 10**400  # no overflow


@pytest.mark.parametrize("value", [0, -3, True, False, "8", None, 32.0, 2.5, math.inf,
                                   math.nan])
def test_positive_int_refuses(value):
    assert refusal(validation.positive_int, "width", value, prefix="cnn: ") == (
        f"cnn: width must be a positive integer, got {value!r}")


@pytest.mark.parametrize("value", [2.5, math.inf, math.nan, -1.0, 0.0])
def test_positive_int_with_floats_still_refuses_fractions_and_non_finite(value):
    assert "must be a positive integer" in refusal(validation.positive_int, "n", value,
                                                   floats=True)


def test_a_numpy_int_is_shown_as_its_number():
    assert refusal(validation.positive_int, "train_subset", np.int64(0)) == (
        "train_subset must be a positive integer, got 0")


def test_integer_ranges():
    assert validation.int_between("epochs", 10_000, Refused, 1, 10_000) == 10_000
    assert refusal(validation.int_between, "epochs", 10_001, 1, 10_000) == (
        "epochs must be an integer from 1 to 10,000, got 10001")
    assert refusal(validation.int_between, "epochs", 3.0, 1, 10_000).endswith("got 3.0")
    assert refusal(validation.int_between, "seed", -1, 0, 2**63 - 1,
                   what="an integer from 0 to 2^63 - 1") == (
        "seed must be an integer from 0 to 2^63 - 1, got -1")
    assert validation.int_at_least("dense_units", 0, Refused, 0) == 0
    for bad in (-1, True, 1.0):
        assert refusal(validation.int_at_least, "factor", bad, 2) == (
            f"factor must be an integer >= 2, got {bad!r}")


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, True, "1", None])
def test_finite_checks_refuse_non_finite_values_and_bools(value):
    assert refusal(validation.positive_number, "timeout", value) == (
        f"timeout must be a positive number, got {value!r}")
    assert refusal(validation.above, "learning_rate", value, 0) == (
        f"learning_rate must be a finite number > 0, got {value!r}")
    assert refusal(validation.at_least, "growth", value, 1, prefix="cnn: ") == (
        f"cnn: growth must be a finite number >= 1, got {value!r}")
    assert refusal(validation.between, "stop_after", value, 0, 1) == (
        f"stop_after must be a number from 0 to 1, got {value!r}")


def test_number_bounds():
    assert validation.positive_number("t", 10**400, Refused) == 10**400  # an int is finite
    assert refusal(validation.positive_number, "t", 0) == "t must be a positive number, got 0"
    assert validation.above("lr", 1e-9, Refused, 0) == 1e-9
    assert "> 0" in refusal(validation.above, "lr", 0.0, 0)
    assert validation.at_least("growth", 1, Refused, 1) == 1
    assert validation.between("stop_after", 1, Refused, 0, 1) == 1
    assert "got 1.5" in refusal(validation.between, "stop_after", 1.5, 0, 1)


def test_fraction_is_a_rate_below_one():
    assert validation.fraction("dropout", 0, Refused) == 0.0
    for bad in (1, 1.0, -0.1, True, math.nan):
        assert refusal(validation.fraction, "dropout", bad) == (
            f"dropout must be a number in [0, 1), got {bad!r}")
    assert refusal(validation.fraction, "min_delta", -0.1, what="in [0, 1)") == (
        "min_delta must be in [0, 1), got -0.1")


def test_boolean_and_one_of():
    assert validation.boolean("test_curve", False, Refused) is False
    for bad in (0, 1, "true", None):
        assert refusal(validation.boolean, "test_curve", bad) == (
            f"test_curve must be true or false, got {bad!r}")
    assert validation.one_of("head", "gap", Refused, ("flatten", "gap")) == "gap"
    assert refusal(validation.one_of, "head", ["gap"], ("flatten", "gap"), prefix="cnn: ") == (
        "cnn: head must be one of flatten, gap, got ['gap']")


def test_environment_text_is_quoted_as_written():
    assert validation.positive_number_text("GB", "1e-6", Refused) == 1e-6
    for text in ("many", "-1", "0", "nan", "inf", ""):
        assert refusal(validation.positive_number_text, "GB", text) == (
            f"GB must be a positive number, got {text!r}")
    assert validation.positive_whole_text("BEAT", "10", Refused, "seconds") == 10
    for text in ("0", "1.5", "-3", " 5", "²", ""):
        assert refusal(validation.positive_whole_text, "BEAT", text, "seconds") == (
            f"BEAT must be a positive whole number of seconds, got {text!r}")
