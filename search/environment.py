"""Limits a user may set in the environment: each a positive number, refused in one line."""

from __future__ import annotations

import math
import os


def positive_number(name: str, default: float, error: type[Exception]) -> float:
    """The value of environment variable ``name`` (``default`` when unset); any text that is
    not a finite positive number raises ``error`` with a one-line message."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise error(f"{name} must be a positive number, got {text!r}")
    return value
