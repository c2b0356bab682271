"""Families by name, derived from their registrations.

A family is one file in ``spaces/`` ending with ``register(Family(...))``
(:mod:`spaces.family`) plus its import line below; nothing else names it. ``FAMILIES``,
:func:`from_dict`, :func:`build` and :func:`cost` read the registrations, so a new family
is created, built and measured by the same calls as the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from spaces._base import SpecBase
from spaces.cost import Cost
from spaces.errors import SpecError
from spaces.family import FAMILIES

# The families, each registering itself on import.
from spaces import cnn  # noqa: F401  isort: skip
from spaces import dense  # noqa: F401  isort: skip
from spaces import lenet  # noqa: F401  isort: skip
from spaces import resnet  # noqa: F401  isort: skip

if TYPE_CHECKING:
    import keras

# Any registered family's spec: each is a frozen SpecBase dataclass.
ArchSpec = SpecBase

__all__ = ["FAMILIES", "ArchSpec", "build", "cost", "from_dict", "from_json"]


def from_dict(data: Mapping[str, Any]) -> ArchSpec:
    """Rebuild a spec from plain data (e.g. a stored trial's ``arch`` attribute)."""
    fields = dict(data)
    family = fields.pop("family", None)
    if family not in FAMILIES:
        raise SpecError(f"unknown family {family!r}: choose one of {', '.join(FAMILIES)}")
    try:
        return FAMILIES[family].spec.from_fields(fields)
    except TypeError as exc:  # a field of the wrong kind reached the dataclass
        raise SpecError(f"{family}: {exc}") from None


def from_json(text: str) -> ArchSpec:
    return from_dict(json.loads(text))


def build(spec: ArchSpec) -> keras.Model:
    """Dispatch on the family: one call creates any registered architecture."""
    return spec.build()


def cost(spec: ArchSpec) -> Cost:
    """Parameters and forward FLOPs per example, without building (or importing) Keras."""
    return spec.cost()
