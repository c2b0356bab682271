"""Search spaces declared once, as plain data, with one adapter per consumer.

A :class:`Space` is a family, the parameters that vary and the values held fixed.
The same declaration is read three ways: :meth:`Space.suggest` asks an Optuna trial,
:meth:`Space.grid` enumerates the cells of a factorial grid, and
:func:`spaces.kt.hyperparameters` (KerasTuner) declares ``hp.*`` values.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from spaces.errors import SpecError
from spaces.registry import FAMILIES

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

KINDS = ("int", "float", "choice")
Scalar = bool | int | float | str


class Suggester(Protocol):
    """The part of ``optuna.trial.Trial`` the adapter needs (kept narrow on purpose)."""

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
                    ) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float: ...
    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


@dataclass(frozen=True)
class Param:
    """One varying value: an int or float range, or a list of choices.

    ``when`` makes it conditional: it is active only when each named parameter has one
    of the listed values (e.g. dropout only when ``regularize`` is true).
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Scalar, ...] = ()
    when: tuple[tuple[str, tuple[Scalar, ...]], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpecError(f"space: parameter {self.name!r} has unknown type {self.kind!r}; "
                            f"use one of {', '.join(KINDS)}")
        if self.kind == "choice":
            if not self.choices:
                raise SpecError(f"space: parameter {self.name!r} lists no values")
        elif self.low is None or self.high is None or not self.low <= self.high:
            raise SpecError(f"space: parameter {self.name!r} needs low <= high")
        elif self.log and self.low <= 0:
            raise SpecError(f"space: parameter {self.name!r} is log-scaled, so low must be > 0")

    def active(self, values: Mapping[str, Any]) -> bool:
        return all(values.get(parent) in allowed for parent, allowed in self.when)

    @classmethod
    def parse(cls, name: str, raw: Any) -> Param:
        """From TOML: a list means choices; a table gives ``type`` and its bounds."""
        if isinstance(raw, list):
            return cls(name, "choice", choices=tuple(raw))
        if not isinstance(raw, Mapping):
            raise SpecError(f"space: parameter {name!r} must be a list of values or a table")
        raw = dict(raw)
        kind = raw.pop("type", "choice")
        when = tuple((k, tuple(v if isinstance(v, list) else [v]))
                     for k, v in dict(raw.pop("when", {})).items())
        choices = tuple(raw.pop("values", ()))
        allowed = {"low", "high", "step", "log"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise SpecError(f"space: parameter {name!r} has unknown key(s) {', '.join(unknown)}")
        return cls(name, kind, choices=choices, when=when, **raw)


@dataclass(frozen=True)
class Space:
    """A family plus its varying parameters and the values held fixed."""

    family: str
    params: tuple[Param, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise SpecError(f"unknown family {self.family!r}: choose one of "
                            f"{', '.join(FAMILIES)}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise SpecError(f"space: a parameter is declared twice in {names}")
        clash = sorted(set(names) & set(self.fixed))
        if clash:
            raise SpecError(f"space: {', '.join(clash)} both varies and is fixed")

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Space:
        """From a preset table: ``family``, ``params`` (name -> declaration), ``fixed``."""
        raw = dict(raw)
        family = raw.pop("family", None)
        params = tuple(Param.parse(k, v) for k, v in dict(raw.pop("params", {})).items())
        fixed = dict(raw.pop("fixed", {}))
        if raw:
            raise SpecError(f"space: unknown key(s) {', '.join(sorted(raw))}")
        return cls(family, params, fixed)

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        """Optuna adapter: ask the trial for every active parameter, in declared order."""
        values: dict[str, Any] = {}
        for p in self.params:
            if not p.active(values):
                continue
            if p.kind == "choice":
                values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
            elif p.kind == "int":
                values[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high),
                                                   step=int(p.step or 1), log=p.log)
            else:
                values[p.name] = trial.suggest_float(p.name, p.low, p.high, step=p.step,
                                                     log=p.log)
        return values

    def grid(self) -> list[dict[str, Any]]:
        """Grid adapter: every combination of the choice parameters (inactive ones dropped)."""
        ranged = [p.name for p in self.params if p.kind != "choice"]
        if ranged:
            raise SpecError(f"space: a grid needs lists of values, but {', '.join(ranged)} "
                            "is a range")
        cells: list[dict[str, Any]] = []
        for combo in itertools.product(*(p.choices for p in self.params)):
            values = {}
            for p, v in zip(self.params, combo, strict=True):
                if p.active(values):
                    values[p.name] = v
            if values not in cells:
                cells.append(values)
        return cells

    def values(self, varying: Mapping[str, Any]) -> dict[str, Any]:
        """Everything a trial needs: the fixed values overlaid with the varying ones."""
        return {**self.fixed, **varying}

    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna distributions of every parameter, as :meth:`suggest` would declare them.

        For recording trials sampled elsewhere (KerasTuner) with
        ``optuna.trial.create_trial``; pick the active ones. Values are
        ``optuna.distributions.BaseDistribution`` (imported here only, so a space can be
        declared without Optuna installed).
        """
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out: dict[str, BaseDistribution] = {}
        for p in self.params:
            if p.kind == "choice":
                out[p.name] = CategoricalDistribution(list(p.choices))
            elif p.kind == "int":
                out[p.name] = IntDistribution(int(p.low), int(p.high), log=p.log,
                                              step=int(p.step or 1))
            else:
                out[p.name] = FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        return out


def cell_key(family: str, varying: Mapping[str, Any]) -> str:
    """A stable, readable name for a grid cell, e.g. ``cnn:width=16,depth=2``."""
    inner = ",".join(f"{k}={_text(v)}" for k, v in varying.items())
    return f"{family}:{inner}" if inner else family


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_cell_key(key: str) -> tuple[str, dict[str, str]]:
    """Inverse of :func:`cell_key` (values come back as text)."""
    family, _, inner = key.partition(":")
    pairs = (item.split("=", 1) for item in inner.split(",") if "=" in item)
    return family, {k: v for k, v in pairs}
