"""KerasTuner adapter: declare a :class:`~spaces.space.Space` as ``hp.*`` hyperparameters.

The third reader of the one space declaration (after :meth:`Space.suggest` for Optuna and
:meth:`Space.grid` for grids). Each :class:`~spaces.space.Param` kind maps to the matching
KerasTuner hyperparameter:

==========================  =====================================================
declared                    KerasTuner
==========================  =====================================================
``int`` (low, high, step)   ``hp.Int(min_value, max_value, step)``; ``log = true``
                            gives ``sampling="log"`` (no step: KerasTuner reads a
                            log step as a factor, Optuna allows none)
``float`` (low, high)       ``hp.Float(..., step, sampling="linear" | "log")``
choices ``[true, false]``   ``hp.Boolean``
other choices               ``hp.Choice(values)`` (KerasTuner orders numbers itself)
``when = {parent = [...]}``  declared inside ``hp.conditional_scope(parent, values)``
                            (all conditions must hold, see :func:`_scopes`)
==========================  =====================================================

Values come back in declared order and only for active parameters, exactly like
:meth:`Space.suggest`, so the same dict feeds ``Space.values`` and ``split_values``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import keras_tuner

from compat.keras_tuner import condition
from spaces.space import Param, Space


def hyperparameters(space: Space, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
    """Declare every parameter of ``space`` on ``hp``; return the active values.

    Called inside ``HyperModel.build(hp)``: the first call registers the search space with
    the tuner, later calls read the trial's values. Inactive conditional parameters are
    registered (KerasTuner must know the whole space) but left out of the result.
    """
    values: dict[str, Any] = {}
    for p in space.params:
        with _scopes(hp, p.when):
            value = _declare(p, hp)
        if p.active(values):
            values[p.name] = value
    return values


@contextlib.contextmanager
def _scopes(hp: keras_tuner.HyperParameters,
            when: tuple[tuple[str, tuple[Any, ...]], ...]) -> Iterator[None]:
    """``hp.conditional_scope`` for each condition, all of which must hold.

    KerasTuner's public scope only accepts a parent declared *inside* the enclosing scopes,
    so "A in [...] and B in [...]" with A and B both top-level cannot be nested with it.
    The first condition uses the public scope; further ones are added the way
    ``conditional_scope`` itself does (:func:`compat.keras_tuner.condition`).
    """
    if not when:
        yield
        return
    (first, allowed), rest = when[0], when[1:]
    with hp.conditional_scope(first, list(allowed)), contextlib.ExitStack() as stack:
        for parent, more in rest:
            stack.enter_context(condition(hp, parent, more))
        yield


def _declare(p: Param, hp: keras_tuner.HyperParameters) -> Any:
    if p.kind == "choice":
        if _is_boolean(p.choices):
            return hp.Boolean(p.name, default=bool(p.choices[0]))
        return hp.Choice(p.name, list(p.choices), default=p.choices[0])
    assert p.low is not None and p.high is not None  # Param.__post_init__ checked it
    sampling = "log" if p.log else "linear"
    if p.kind == "int":
        step = None if p.log else int(p.step or 1)
        return hp.Int(p.name, int(p.low), int(p.high), step=step, sampling=sampling)
    step = None if p.log else p.step
    return hp.Float(p.name, float(p.low), float(p.high), step=step, sampling=sampling)


def _is_boolean(choices: tuple[Any, ...]) -> bool:
    return len(choices) == 2 and all(isinstance(c, bool) for c in choices) and len(
        set(choices)) == 2


def varying(space: Space, hp_values: Mapping[str, Any]) -> dict[str, Any]:
    """The active declared values of a KerasTuner trial (``trial.hyperparameters.values``).

    Drops KerasTuner's own entries (``tuner/epochs``, ...) and inactive parameters, and
    restores declared types (KerasTuner may hand back numpy scalars).
    """
    values: dict[str, Any] = {}
    for p in space.params:
        if p.name in hp_values and p.active(values):
            values[p.name] = _plain(p, hp_values[p.name])
    return values


def _plain(p: Param, value: Any) -> Any:
    if p.kind == "int":
        return int(value)
    if p.kind == "float":
        return float(value)
    if _is_boolean(p.choices):
        return bool(value)
    return next((c for c in p.choices if c == value), value)
