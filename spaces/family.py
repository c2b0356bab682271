"""What a family is, declared once in its own file, and the registry every reader takes it from.

A family's file ends with one line::

    register(Family(ResNetSpec, role=STUDIED, width=Axis("width"),
                    depth=Axis("depth", "block", "residual blocks"), columns=("width", "depth")))

and :mod:`spaces.registry` imports that file. Everything outside ``spaces/`` that needs to
know what a family *means* (the analysis, the report, export) reads these declarations by
the family's name and never tests the name itself:

- ``role``: ``studied`` families are the ones a scaling study turns (effects along their
  axes, depth steps, the width x depth interaction, figures) and are compared against the
  ``baseline`` family at matched size; a ``reference`` family (the notebook's LeNet) is only
  measured and fitted.
- ``width`` and ``depth``: which spec fields the analysis treats as the size axis and the
  depth axis, and what one step along each is (a doubling, or one more block or layer).
- ``derived``: spec fields that follow from the axes (the cnn's explicit ``filters``), never
  a setting an estimate is made within; ``never_pooled``: settings that change what the axes
  mean (the cnn's head), so effects are pooled within each of their values, never over them.
- ``columns``: the spec fields ``cells.csv`` shows for the family's cells.

How it builds is its spec class: ``layer_plan()`` gives the layers, from which
:mod:`spaces.plan` builds the Keras model and counts parameters and FLOPs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from spaces._base import SpecBase

STUDIED, BASELINE, REFERENCE = "studied", "baseline", "reference"
ROLES = (STUDIED, BASELINE, REFERENCE)
DOUBLING = "doubling"  # an axis whose steps double the knob (widths 8, 16, 32)


def step_words(knob: str, step: str) -> str:
    """One step along an axis in words: ``doubling of width`` or ``added block``."""
    return f"doubling of {knob}" if step == DOUBLING else f"added {step}"


@dataclass(frozen=True)
class Axis:
    """One axis a scaling study turns: the spec field ``knob`` and what one step along it
    is, ``step``: a doubling (effects are slopes on log2 of the knob) or the unit one step
    adds (``block``: slopes on the knob itself). ``label`` says what the knob counts, for a
    plot's axis (a doubling axis is drawn on a log scale)."""

    knob: str
    step: str = DOUBLING
    label: str = ""

    @property
    def log(self) -> bool:
        return self.step == DOUBLING

    @property
    def words(self) -> str:
        return step_words(self.knob, self.step)

    @property
    def axis_title(self) -> str:
        """E.g. ``width (log scale)`` or ``depth (conv-pool blocks)``."""
        return f"{self.knob} ({'log scale' if self.log else self.label or self.step + 's'})"

    def scale(self, value: float) -> float:
        """Where a knob value lies on the axis: log2 for a doubling axis."""
        return math.log2(value) if self.log else float(value)


@dataclass(frozen=True)
class Family:
    """One architecture family: its spec class (which names it and builds it) and how the
    analysis reads it (see the module docstring)."""

    spec: type[SpecBase]
    role: str = REFERENCE
    width: Axis | None = None
    depth: Axis | None = None
    derived: frozenset[str] = frozenset()
    never_pooled: frozenset[str] = frozenset()
    columns: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.family

    def axis(self, which: str) -> Axis | None:
        """The ``width`` or the ``depth`` axis."""
        return self.width if which == "width" else self.depth

    def check(self) -> None:
        """Refuse a declaration the readers could not use (a bug in the family's file)."""
        fields = {f.name for f in dataclasses.fields(self.spec)}  # type: ignore[arg-type]
        named = [a.knob for a in (self.width, self.depth) if a is not None]
        named += [*self.derived, *self.never_pooled, *self.columns]
        unknown = sorted(set(named) - fields)
        problems = [f"unknown spec field(s) {', '.join(unknown)}"] if unknown else []
        if self.role not in ROLES:
            problems.append(f"role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.role == STUDIED and (self.width is None or self.depth is None):
            problems.append("a studied family needs a width and a depth axis")
        if self.role == BASELINE and self.width is None:
            problems.append("a baseline family needs a width axis (its size knob)")
        if self.width and self.depth and self.width.knob == self.depth.knob:
            problems.append("width and depth must be different fields")
        if problems:
            raise ValueError(f"family {self.name!r}: {'; '.join(problems)}")


# Every registered family by name, in registration order (spaces.registry imports them).
FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Make ``family`` known by its name (a second registration of a name is a bug)."""
    family.check()
    if family.name in FAMILIES:
        raise ValueError(f"family {family.name!r} is registered twice")
    FAMILIES[family.name] = family
    return family


def declared(name: str | None) -> Family | None:
    """The declaration of family ``name``; None for a family this install does not know
    (e.g. a study written by another version)."""
    return FAMILIES.get(name) if name is not None else None
