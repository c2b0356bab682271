"""A family the tests declare themselves, the way a newcomer adds one: a spec with its plan
and one ``register(Family(...))``, no other edit. Its axes are named unlike the cnn's
(``breadth`` doubles the filters, ``stack`` adds a conv stage), so a reader that tested
names instead of reading the declaration would miss it. :func:`registered` registers it for
one test and forgets it afterwards, so other tests see the shipped families only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest

from spaces import FAMILIES, STUDIED, Axis, Family, register
from spaces import _fields as f
from spaces._base import SpecBase
from spaces.plan import Layer, Planner


@dataclass(frozen=True)
class TinySpec(SpecBase):
    """``stack`` stages of one 3x3 conv (``breadth`` filters) and a 2x2 pool; GAP head."""

    family: ClassVar[str] = "tiny"

    breadth: int = 4
    stack: int = 1
    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10

    def __post_init__(self) -> None:
        fam, set_ = self.family, object.__setattr__
        set_(self, "breadth", f.positive_int(fam, "breadth", self.breadth))
        set_(self, "stack", f.positive_int(fam, "stack", self.stack))
        set_(self, "input_shape", f.shape3(fam, self.input_shape))
        set_(self, "num_classes", f.positive_int(fam, "num_classes", self.num_classes))

    def model_name(self) -> str:
        return f"tiny_b{self.breadth}_s{self.stack}"

    def layer_plan(self) -> list[Layer]:
        net = Planner(self.input_shape)
        for s in range(1, self.stack + 1):
            net.conv(f"stage{s}_conv", self.breadth, 3, activation="relu")
            net.pool(f"stage{s}_pool", "MaxPooling2D", 2, padding="same")
        net.global_average("gap")
        net.dense("predictions", self.num_classes, activation="softmax", dtype="float32")
        return net.layers


TINY = Family(TinySpec, role=STUDIED, width=Axis("breadth"),
              depth=Axis("stack", "stage", "conv stages"), columns=("breadth", "stack"))


@pytest.fixture
def registered() -> Iterator[Family]:
    """The tiny family, registered for one test."""
    family = register(TINY)
    yield family
    del FAMILIES[family.name]
