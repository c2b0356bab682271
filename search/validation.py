"""Checks of the values a user gives (preset keys, flags, spec fields, environment
variables), each written once.

Every check refuses with the caller's exception class and words its refusal one way,
``{prefix}{name} must be {what}, got {value!r}``, so a preset key, an ArchSpec field and
an environment variable read alike and each caller keeps its own one-line error. Two rules
hold everywhere: a bool is never a number (Python counts ``True`` as 1, but ``width =
true`` is a mistake), and inf and nan are never finite (every int is, however large).

Like :mod:`search.stats`, this module sits below everything: it imports nothing from the
project, so ``spaces``, ``storage`` and ``search`` all use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any, NoReturn

Error = type[Exception]


def _refuse(error: Error, prefix: str, name: str, what: str, got: Any) -> NoReturn:
    if isinstance(got, Integral) and not isinstance(got, bool):
        got = int(got)  # NumPy's ints shown as the plain number they are
    raise error(f"{prefix}{name} must be {what}, got {got!r}")


def _number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _number(value) and (isinstance(value, Integral) or math.isfinite(value))


def _whole(value: Any, floats: bool) -> int | None:
    """``value`` as an int when it is an integer (with ``floats``, also a whole float such as
    ``32.0``, as TOML and JSON may write it), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Integral):
        return int(value)
    if floats and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def positive_int(name: str, value: Any, error: Error, *, prefix: str = "",
                 floats: bool = False) -> int:
    """``value`` as an int > 0; ``floats`` also accepts a whole float (``32.0``)."""
    number = _whole(value, floats)
    if number is None or number <= 0:
        _refuse(error, prefix, name, "a positive integer", value)
    return number


def int_at_least(name: str, value: Any, error: Error, low: int, *, prefix: str = "") -> int:
    """``value`` as an int >= ``low``."""
    number = _whole(value, floats=False)
    if number is None or number < low:
        _refuse(error, prefix, name, f"an integer >= {low}", value)
    return number


def int_between(name: str, value: Any, error: Error, low: int, high: int, *, prefix: str = "",
                what: str | None = None) -> int:
    """``value`` as an int from ``low`` to ``high`` (both included); ``what`` words the
    range where a formula reads better than digits (``"an integer from 0 to 2^63 - 1"``)."""
    number = _whole(value, floats=False)
    if number is None or not low <= number <= high:
        _refuse(error, prefix, name, what or f"an integer from {low:,} to {high:,}", value)
    return number


def positive_number(name: str, value: Any, error: Error, *, prefix: str = "") -> float:
    """``value`` when it is a finite number > 0 (returned unconverted: an int may be too
    large for a float)."""
    if not _finite(value) or value <= 0:
        _refuse(error, prefix, name, "a positive number", value)
    return value


def above(name: str, value: Any, error: Error, low: float, *, prefix: str = "") -> float:
    """``value`` when it is a finite number > ``low`` (unconverted)."""
    if not _finite(value) or not value > low:
        _refuse(error, prefix, name, f"a finite number > {low:g}", value)
    return value


def at_least(name: str, value: Any, error: Error, low: float, *, prefix: str = "") -> float:
    """``value`` when it is a finite number >= ``low`` (unconverted)."""
    if not _finite(value) or value < low:
        _refuse(error, prefix, name, f"a finite number >= {low:g}", value)
    return value


def between(name: str, value: Any, error: Error, low: float, high: float, *,
            prefix: str = "") -> float:
    """``value`` when it is a number from ``low`` to ``high``, both included (unconverted)."""
    if not _finite(value) or not low <= value <= high:
        _refuse(error, prefix, name, f"a number from {low:g} to {high:g}", value)
    return value


def fraction(name: str, value: Any, error: Error, *, prefix: str = "",
             what: str = "a number in [0, 1)") -> float:
    """``value`` as a float in [0, 1): a rate such as dropout, never all of it."""
    if not _number(value) or not 0 <= value < 1:
        _refuse(error, prefix, name, what, value)
    return float(value)


def boolean(name: str, value: Any, error: Error, *, prefix: str = "") -> bool:
    """A switch: exactly true or false (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        _refuse(error, prefix, name, "true or false", value)
    return value


def one_of(name: str, value: Any, error: Error, allowed: Iterable[str], *,
           prefix: str = "") -> str:
    """``value`` when it is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        _refuse(error, prefix, name, f"one of {', '.join(allowed)}", value)
    return value


def positive_number_text(name: str, text: str, error: Error) -> float:
    """Text (an environment variable's) read as a finite number > 0; a refusal quotes the
    text as the user wrote it."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not _finite(value) or value <= 0:
        _refuse(error, "", name, "a positive number", text)
    return value


def positive_whole_text(name: str, text: str, error: Error, unit: str) -> int:
    """Text (an environment variable's) of decimal digits only, read as an int > 0 of
    ``unit``; a refusal quotes the text as the user wrote it."""
    if not text.isdecimal() or int(text) <= 0:
        _refuse(error, "", name, f"a positive whole number of {unit}", text)
    return int(text)
