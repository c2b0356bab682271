"""Shared validation of spec fields, so every family words its errors the same way."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from spaces.errors import SizeError, SpecError

ACTIVATIONS = ("relu", "tanh", "gelu", "elu")
MAX_INT = 2**31 - 1  # TensorFlow's shapes and Keras' layer sizes are 32-bit


def positive_int(family: str, name: str, value: Any) -> int:
    """Return ``value`` as an int, or fail when it is not a positive whole number of at
    most ``MAX_INT``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        isinstance(value, int) or math.isfinite(value)) or int(value) != value:
        raise SpecError(f"{family}: {name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise SpecError(f"{family}: {name} must be a positive integer, got {value!r}")
    if value > MAX_INT:
        raise SizeError(f"{family}: {name} must be at most {MAX_INT:,}, got {value:.3g}")
    return int(value)


def choice(family: str, name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` when it is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise SpecError(f"{family}: {name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def boolean(family: str, name: str, value: Any) -> bool:
    """A switch: exactly true or false (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        raise SpecError(f"{family}: {name} must be true or false, got {value!r}")
    return value


def fraction(family: str, name: str, value: Any) -> float:
    """A dropout-like rate in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise SpecError(f"{family}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)


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
