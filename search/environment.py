"""Limits a user may set in the environment: each a positive number, refused in one line."""

from __future__ import annotations

import os

from search import validation


def positive_number(name: str, default: float, error: type[Exception]) -> float:
    """The value of environment variable ``name`` (``default`` when unset); any text that is
    not a finite positive number raises ``error`` with a one-line message."""
    text = os.environ.get(name)
    return default if text is None else validation.positive_number_text(name, text, error)
