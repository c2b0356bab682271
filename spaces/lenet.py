"""The original notebook's LeNet-like network, kept verbatim so its results can be replicated.

conv 6@k 'same' -> avg-pool 2 stride 1 -> conv 16@k -> [extra 16@5x5 convs] ->
avg-pool 2 (stride 2, or 1 when extra convs are present) -> conv 120@k -> dense 84 -> softmax.
The notebook called changing ``kernel`` "width"; here it is just the kernel size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from spaces import _fields as f
from spaces._base import SpecBase
from spaces.errors import SpecError
from spaces.family import Family, register
from spaces.plan import Layer, Planner


@dataclass(frozen=True)
class LeNetSpec(SpecBase):
    """The notebook's model; ``extra_convs`` adds 16-filter 5x5 valid convs after conv 2."""

    family: ClassVar[str] = "lenet"

    kernel: int = 5
    extra_convs: int = 0
    activation: str = "tanh"
    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10

    def __post_init__(self) -> None:
        fam = self.family
        object.__setattr__(self, "kernel", f.positive_int(fam, "kernel", self.kernel))
        object.__setattr__(self, "extra_convs",
                           f.non_negative_int(fam, "extra_convs", self.extra_convs))
        f.choice(fam, "activation", self.activation, f.ACTIVATIONS)
        object.__setattr__(self, "input_shape", f.shape3(fam, self.input_shape))
        classes = f.positive_int(fam, "num_classes", self.num_classes)
        object.__setattr__(self, "num_classes", classes)
        side = self._final_side()
        if side < 1:
            raise SpecError(
                f"lenet: kernel {self.kernel} with {self.extra_convs} extra convs leaves no "
                f"feature map on a {self.input_shape[0]}x{self.input_shape[1]} input"
            )

    def _final_side(self) -> int:
        """Side of the last conv's output, following the valid convolutions and pools."""
        side = min(self.input_shape[:2]) - 1  # 'same' conv, then 2x2 pool stride 1
        side -= self.kernel - 1
        side -= 4 * self.extra_convs
        side = side - 1 if self.extra_convs else (side - 2) // 2 + 1
        return side - (self.kernel - 1)

    def model_name(self) -> str:
        return f"lenet_k{self.kernel}_x{self.extra_convs}"

    def layer_plan(self) -> list[Layer]:
        act, k = self.activation, self.kernel
        net = Planner(self.input_shape)
        net.conv("block1_conv1", 6, k, activation=act)
        net.pool("block1_pool", "AveragePooling2D", 2, strides=1)
        net.conv("block2_conv1", 16, k, padding="valid", activation=act)
        for i in range(self.extra_convs):
            net.conv(f"block2_conv{i + 2}", 16, 5, padding="valid", activation=act)
        net.pool("block2_pool", "AveragePooling2D", 2, strides=1 if self.extra_convs else 2)
        net.conv("block3_conv1", 120, k, padding="valid", activation=act)
        net.flatten("flatten")
        net.dense("head_dense", 84, activation=act)
        net.dense("predictions", self.num_classes, activation="softmax", dtype="float32")
        return net.layers


# Kept to replicate the notebook: measured and fitted, neither scaled nor compared; its
# fields are in the cell's key, so cells.csv adds no column for it.
register(Family(LeNetSpec))
