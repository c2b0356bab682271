"""The dense (MLP) baseline: the yardstick a conv-pool network must beat at equal size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from spaces import _fields as f
from spaces._base import BN_MOMENTUM, SpecBase
from spaces.errors import SpecError

if TYPE_CHECKING:
    import keras


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
        if not isinstance(self.batch_norm, bool):
            raise SpecError(f"dense: batch_norm must be true or false, got {self.batch_norm!r}")
        set_(self, "dropout", f.fraction(fam, "dropout", self.dropout))
        set_(self, "input_shape", f.shape3(fam, self.input_shape))
        set_(self, "num_classes", f.positive_int(fam, "num_classes", self.num_classes))

    def build(self) -> keras.Model:
        import keras  # only to build: reading a spec needs no TensorFlow
        from keras import layers

        inputs = keras.Input(shape=self.input_shape, name="image")
        x = layers.Flatten(name="flatten")(inputs)
        for i in range(1, self.layers + 1):
            x = layers.Dense(
                self.units,
                use_bias=not self.batch_norm,
                name=f"hidden{i}_dense",
            )(x)
            if self.batch_norm:
                x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"hidden{i}_bn")(x)
            x = layers.Activation(self.activation, name=f"hidden{i}_{self.activation}")(x)
            if self.dropout:
                x = layers.Dropout(self.dropout, name=f"hidden{i}_dropout")(x)
        outputs = layers.Dense(
            self.num_classes, activation="softmax", dtype="float32", name="predictions"
        )(x)
        return keras.Model(inputs, outputs, name=f"dense_{self.layers}x{self.units}")
