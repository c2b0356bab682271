"""KerasTuner internals this project relies on (checked against KerasTuner 1.4.8)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import keras_tuner
from keras_tuner.src.engine.conditions import Parent


@contextlib.contextmanager
def condition(hp: keras_tuner.HyperParameters, parent: str,
              values: Sequence[Any]) -> Iterator[None]:
    """Declare the block's hyperparameters active only when ``parent`` is in ``values``,
    on top of the enclosing ``hp.conditional_scope``.

    The public ``conditional_scope`` in KerasTuner 1.4.8 only accepts a parent declared
    under the current conditions, so "A in [...] and B in [...]" with A and B both
    top-level cannot be nested with it. This pushes the ``Parent`` condition (from the
    private ``keras_tuner.src.engine.conditions``) on ``hp._conditions`` and pops it after,
    as ``conditional_scope`` itself does.
    """
    hp._conditions.append(Parent(parent, list(values)))
    try:
        yield
    finally:
        hp._conditions.pop()


def set_project_dir(oracle: keras_tuner.Oracle, directory: str, project_name: str) -> None:
    """Where a standalone oracle (one without a Tuner) saves its trials.

    KerasTuner 1.4.8 sets it only from ``Tuner.__init__``, through the private
    ``Oracle._set_project_dir``; there is no public setter.
    """
    oracle._set_project_dir(directory, project_name)
