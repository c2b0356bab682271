"""The dense (MLP) baseline: the yardstick a conv-pool network must beat at equal size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from spaces import _fields as f
from spaces._base import BN_MOMENTUM, SpecBase
from spaces.family import BASELINE, Axis, Family, register
from spaces.plan import Layer, Planner


@dataclass(frozen=True)
class DenseSpec(SpecBase):
    """``layers`` hidden layers of ``units`` units each, then a softmax."""

    family: ClassVar[str] = "dense"

    layers: int = 1
    units: int = 256
    activation: str = "relu"
    batch_norm: bool = False
    dropout: float = 0.0
    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10

    def __post_init__(self) -> None:
        fam = self.family
        set_ = object.__setattr__
        set_(self, "layers", f.positive_int(fam, "layers", self.layers))
        set_(self, "units", f.positive_int(fam, "units", self.units))
        f.choice(fam, "activation", self.activation, f.ACTIVATIONS)
        f.boolean(fam, "batch_norm", self.batch_norm)
        set_(self, "dropout", f.fraction(fam, "dropout", self.dropout))
        set_(self, "input_shape", f.shape3(fam, self.input_shape))
        set_(self, "num_classes", f.positive_int(fam, "num_classes", self.num_classes))

    def model_name(self) -> str:
        return f"dense_{self.layers}x{self.units}"

    def layer_plan(self) -> list[Layer]:
        net = Planner(self.input_shape)
        net.flatten("flatten")
        for i in range(1, self.layers + 1):
            net.dense(f"hidden{i}_dense", self.units, use_bias=not self.batch_norm)
            if self.batch_norm:
                net.batch_norm(f"hidden{i}_bn", BN_MOMENTUM)
            net.activation(f"hidden{i}_{self.activation}", self.activation)
            if self.dropout:
                net.dropout(f"hidden{i}_dropout", self.dropout)
        net.dense("predictions", self.num_classes, activation="softmax", dtype="float32")
        return net.layers


# The yardstick: every studied family is compared with it at matched size; its size axis is
# the units of each hidden layer, its depth the hidden layers.
register(Family(DenseSpec, role=BASELINE, width=Axis("units"),
                depth=Axis("layers", "layer", "hidden layers"), columns=("units", "layers")))
