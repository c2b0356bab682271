"""Families registered by name: adding a family touches its own file and one line here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from spaces.cnn import CNNSpec
from spaces.cost import Cost
from spaces.dense import DenseSpec
from spaces.errors import SpecError
from spaces.lenet import LeNetSpec

if TYPE_CHECKING:
    import keras

ArchSpec = CNNSpec | DenseSpec | LeNetSpec

FAMILIES: dict[str, type[CNNSpec] | type[DenseSpec] | type[LeNetSpec]] = {
    cls.family: cls for cls in (CNNSpec, DenseSpec, LeNetSpec)
}


def from_dict(data: Mapping[str, Any]) -> ArchSpec:
    """Rebuild a spec from plain data (e.g. a stored trial's ``arch`` attribute)."""
    fields = dict(data)
    family = fields.pop("family", None)
    if family not in FAMILIES:
        raise SpecError(f"unknown family {family!r}: choose one of {', '.join(FAMILIES)}")
    try:
        return FAMILIES[family].from_fields(fields)
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
