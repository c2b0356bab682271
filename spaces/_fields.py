"""Spec fields checked as every family checks them: a refusal names the family
(``cnn: width must be a positive integer, got 0``), the checks themselves are
:mod:`search.validation`'s."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from search import validation
from spaces.errors import SizeError, SpecError

ACTIVATIONS = ("relu", "tanh", "gelu", "elu")
MAX_INT = 2**31 - 1  # TensorFlow's shapes and Keras' layer sizes are 32-bit


def capped(family: str, name: str, value: int) -> int:
    """Refuse a size over ``MAX_INT`` with a SizeError (a limit, not a typo in the spec)."""
    if value > MAX_INT:
        raise SizeError(f"{family}: {name} must be at most {MAX_INT:,}, got {value:.3g}")
    return value


def positive_int(family: str, name: str, value: Any) -> int:
    """``value`` as an int from 1 to ``MAX_INT`` (a whole float such as 32.0 too)."""
    return capped(family, name, validation.positive_int(name, value, SpecError,
                                                        prefix=f"{family}: ", floats=True))


def non_negative_int(family: str, name: str, value: Any) -> int:
    """``value`` as an int >= 0 (a count that may be none)."""
    return validation.int_at_least(name, value, SpecError, 0, prefix=f"{family}: ")


def choice(family: str, name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` when it is one of ``allowed``."""
    return validation.one_of(name, value, SpecError, allowed, prefix=f"{family}: ")


def boolean(family: str, name: str, value: Any) -> bool:
    """A switch: exactly true or false (not 0, 1 or a string)."""
    return validation.boolean(name, value, SpecError, prefix=f"{family}: ")


def fraction(family: str, name: str, value: Any) -> float:
    """A dropout-like rate in [0, 1)."""
    return validation.fraction(name, value, SpecError, prefix=f"{family}: ")


def int_tuple(family: str, name: str, value: Any) -> tuple[int, ...]:
    """Accept a list of ints or a dash-separated string such as ``"7-5-3"``."""
    if isinstance(value, str):
        parts: list[Any] = value.split("-")
        try:
            parts = [int(p) for p in parts]
        except ValueError:
            raise SpecError(f"{family}: {name} must look like '7-5-3', got {value!r}") from None
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise SpecError(f"{family}: {name} must be a list of integers, got {value!r}")
    if not parts:
        raise SpecError(f"{family}: {name} must not be empty")
    return tuple(positive_int(family, f"{name} entry", p) for p in parts)


def shape3(family: str, value: Any) -> tuple[int, int, int]:
    """An input shape (height, width, channels)."""
    shape = int_tuple(family, "input_shape", value)
    if len(shape) != 3:
        raise SpecError(f"{family}: input_shape must be (height, width, channels), got {value!r}")
    return shape  # type: ignore[return-value]
