"""Engines: the ways a study is run, each one module of this package behind one ``run``.

    run(spec, storage, study, context) -> trials this process ran or recorded

An engine is named by a preset's ``engine`` setting (``--engine``) and declares the preset
modes it runs; :func:`for_spec` picks the engine of a spec, so ``search/study.py`` holds
no branch per engine. A new engine is its module here (ending in a ``run`` with the
signature above) plus its ``register`` line at the bottom of this file.

Every registered ``run`` here is :func:`lazy`: an engine's module is imported on its first
run only, as the engines train (TensorFlow, Keras, KerasTuner) and commands that only read
studies must stay light (``tests/search/test_light_floor.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial

from search.data import Splits
from search.errors import PresetError
from search.presets import MODES, StudySpec

Objective = Callable[[optuna.Trial], float]
Report = Callable[[FrozenTrial], None]

# What a preset of each mode holds, for the line that refuses a mode.
_HOLDS = {"grid": "[[grid]] tables", "search": "a [space] table"}


@dataclass(frozen=True, kw_only=True)
class Context:
    """What a run needs besides the spec, the storage and the study. Keyword-only: each
    engine reads the fields it uses, and a field added for one engine changes no other."""

    data: Splits
    objective: Objective  # a trial -> its validation accuracy, stored (Optuna engines)
    report: Report  # called with each trial once it is stored (the progress line)
    created: bool  # this process created the study (a grid's queue is then its to fill)
    drop_queue: bool = False  # fail queued grid units beyond this command's grid
    cost: Mapping[str, float] | None = None  # per grid cell: the order units are queued in
    notice: Callable[[str], None] = print  # a line for the user, e.g. "waiting for ..."


Run = Callable[[StudySpec, optuna.storages.BaseStorage, optuna.Study, Context], int]


@dataclass(frozen=True)
class Engine:
    """``name`` as a preset's ``engine`` says it; ``modes`` the preset modes it runs;
    ``title`` how a refusal names it (the name when empty)."""

    name: str
    modes: tuple[str, ...]
    run: Run
    title: str = ""


# (name, mode) -> the engine that runs it.
REGISTERED: dict[tuple[str, str], Engine] = {}


def register(engine: Engine) -> Engine:
    """Add ``engine`` for each of its modes; a mode no preset has, or one that another
    engine of the same name already runs, is a bug in the registration."""
    for mode in engine.modes:
        if mode not in MODES:
            raise ValueError(f"engine {engine.name}: unknown mode {mode!r} "
                             f"(modes: {', '.join(MODES)})")
        if (engine.name, mode) in REGISTERED:
            raise ValueError(f"engine {engine.name} already runs {mode} presets")
    for mode in engine.modes:
        REGISTERED[engine.name, mode] = engine
    return engine


def names() -> tuple[str, ...]:
    """The engine names a preset's ``engine`` and ``--engine`` accept."""
    return tuple(sorted({name for name, _ in REGISTERED}))


def for_spec(spec: StudySpec) -> Engine:
    """The engine that runs ``spec``; a mode its engine does not declare is one line
    (``PresetError``), said before anything is stored."""
    engine = REGISTERED.get((spec.engine, spec.mode))
    if engine is not None:
        return engine
    named = [e for (name, _), e in REGISTERED.items() if name == spec.engine]
    if not named:
        raise PresetError(f"unknown engine {spec.engine!r}: choose one of {', '.join(names())}")
    modes = [mode for e in named for mode in e.modes]
    wanted = " or ".join(f"a {mode} preset ({_HOLDS[mode]})" for mode in modes)
    raise PresetError(f"preset {spec.preset}: {named[0].title or spec.engine} needs "
                      f"{wanted}, not a {spec.mode}")


def lazy(module: str) -> Run:
    """The ``run`` of ``module``, imported when it is first called."""
    def run(spec: StudySpec, storage: optuna.storages.BaseStorage, study: optuna.Study,
            context: Context) -> int:
        engine_run: Run = importlib.import_module(module).run
        return engine_run(spec, storage, study, context)
    return run


register(Engine("optuna", ("grid",), lazy("search.engines.grid")))
register(Engine("optuna", ("search",), lazy("search.engines.optuna_search")))
register(Engine("keras-tuner", ("search",), lazy("search.engines.keras_tuner"),
                title="KerasTuner"))
