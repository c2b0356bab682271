"""A small ResNet-style family: residual conv-pool blocks and a global-average head.

Each block is two ``kernel`` x ``kernel`` convolutions (each followed by batch norm when
``batch_norm``; a ReLU-like activation between them), added to the block's input through a
shortcut, then activated and 2x2 max-pooled, as in ResNet (He et al., 2016) with the
stride-2 convolutions replaced by the pools the cnn family uses. The shortcut is the input
itself when the channels agree and a 1x1 projection (with batch norm when ``batch_norm``)
when they change, as in every block when ``growth`` > 1.

The axes are the cnn family's: ``width`` is the filters of the first block (later blocks
grow by ``growth``, rounded, as the cnn's do) and ``depth`` the number of residual blocks,
at most as many as the input allows 2x2 pools. The head averages the last map (GAP), so
the parameters grow with both axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from spaces import _fields as f
from spaces._base import BN_MOMENTUM, SpecBase
from spaces.cnn import POOL, check_depth, check_growth, grown_filters
from spaces.family import STUDIED, Axis, Family, register
from spaces.plan import Layer, Planner


@dataclass(frozen=True)
class ResNetSpec(SpecBase):
    """One residual network: ``depth`` residual conv-pool blocks, then GAP and a softmax."""

    family: ClassVar[str] = "resnet"

    width: int = 16
    depth: int = 2
    growth: float = 2.0
    kernel: int = 3
    activation: str = "relu"
    batch_norm: bool = True
    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10

    def __post_init__(self) -> None:
        fam = self.family
        set_ = object.__setattr__
        set_(self, "width", f.positive_int(fam, "width", self.width))
        set_(self, "depth", f.positive_int(fam, "depth", self.depth))
        set_(self, "growth", check_growth(fam, self.width, self.depth, self.growth))
        set_(self, "kernel", f.positive_int(fam, "kernel", self.kernel))
        f.choice(fam, "activation", self.activation, f.ACTIVATIONS)
        f.boolean(fam, "batch_norm", self.batch_norm)
        set_(self, "input_shape", f.shape3(fam, self.input_shape))
        check_depth(fam, self.input_shape, self.depth)
        set_(self, "num_classes", f.positive_int(fam, "num_classes", self.num_classes))

    def block_filters(self) -> tuple[int, ...]:
        return grown_filters(self.width, self.growth, self.depth)

    def model_name(self) -> str:
        return f"resnet_w{self.width}_d{self.depth}"

    def _conv_bn(self, net: Planner, name: str, filters: int, kernel: int, bn: str) -> None:
        net.conv(name, filters, kernel, use_bias=not self.batch_norm)
        if self.batch_norm:
            net.batch_norm(bn, BN_MOMENTUM)

    def layer_plan(self) -> list[Layer]:
        net, act = Planner(self.input_shape), self.activation
        for b, filters in enumerate(self.block_filters(), start=1):
            block_in = net.here
            self._conv_bn(net, f"block{b}_conv1", filters, self.kernel, f"block{b}_bn1")
            net.activation(f"block{b}_{act}1", act)
            self._conv_bn(net, f"block{b}_conv2", filters, self.kernel, f"block{b}_bn2")
            main = net.here
            net.resume(block_in)
            if block_in.shape[-1] != filters:
                self._conv_bn(net, f"block{b}_proj", filters, 1, f"block{b}_proj_bn")
            net.add(f"block{b}_add", main, net.here)
            net.activation(f"block{b}_{act}2", act)
            net.pool(f"block{b}_pool", "MaxPooling2D", POOL, padding="same")
        net.global_average("gap")
        net.dense("predictions", self.num_classes, activation="softmax", dtype="float32")
        return net.layers


register(Family(ResNetSpec, role=STUDIED, width=Axis("width"),
                depth=Axis("depth", "block", "residual blocks"), columns=("width", "depth")))
