"""The AlexNet-style family: conv-pool blocks whose kernels shrink as the maps get smaller.

``width`` is the number of filters of the first block (later blocks grow by ``growth``),
``depth`` the number of conv-pool blocks and ``convs_per_block`` the stacked convolutions
inside a block: the two knobs a scaling study turns.

``head`` decides what depth does to the size. ``flatten`` (AlexNet's) feeds every position
of the last map to the dense head, so each added block *shrinks* the head (a one-block
net's head holds ~99 % of its weights) and parameters mostly measure the head.
``gap`` (global average pooling, as in ResNet) makes the head independent of the map size,
so parameters grow with both width and depth and the two axes separate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from search import validation
from spaces import _fields as f
from spaces._base import BN_MOMENTUM, SpecBase
from spaces.errors import SizeError, SpecError
from spaces.family import STUDIED, Axis, Family, register
from spaces.plan import Layer, Planner

POOL = 2  # every block ends in a 2x2 pool with stride 2, halving the feature map
MIN_MAP = 2  # the last block's map must keep at least 2x2 positions
HEADS = ("flatten", "gap")


def pooled_size(size: int) -> int:
    """A side after one 2x2 pool. Pools pad ('same'): an odd side keeps its last row or
    column, pooled alone (7x7 -> 4x4), instead of dropping it (7x7 -> 3x3 would lose 13
    of 49 positions without a word)."""
    return math.ceil(size / POOL)


def map_sizes(input_shape: tuple[int, int, int], depth: int) -> tuple[tuple[int, int], ...]:
    """Height and width of the feature map after each block's pool."""
    h, w = input_shape[0], input_shape[1]
    sizes = []
    for _ in range(depth):
        h, w = pooled_size(h), pooled_size(w)
        sizes.append((h, w))
    return tuple(sizes)


def max_depth(input_shape: tuple[int, int, int]) -> int:
    """How many 2x2 pools fit before the map would shrink below ``MIN_MAP`` x ``MIN_MAP``."""
    depth, h, w = 0, input_shape[0], input_shape[1]
    while pooled_size(h) >= MIN_MAP and pooled_size(w) >= MIN_MAP:
        depth, h, w = depth + 1, pooled_size(h), pooled_size(w)
    return depth


def check_growth(family: str, width: int, depth: int, growth: Any) -> float:
    """``growth`` (the factor each block multiplies the filters by) as a finite float >= 1
    whose last block keeps at most ``MAX_INT`` filters."""
    validation.at_least("growth", growth, SpecError, 1, prefix=f"{family}: ")
    try:
        growth = float(growth)
        last = width * growth ** (depth - 1)
    except OverflowError:
        last = math.inf
    if last > f.MAX_INT:
        raise SizeError(f"{family}: width {width} grown by {growth:g} over {depth} blocks "
                        f"gives {last:.3g} filters; at most {f.MAX_INT:,}")
    return growth


def check_depth(family: str, input_shape: tuple[int, int, int], depth: int) -> None:
    """Refuse more conv-pool blocks than the input's 2x2 pools allow (:func:`max_depth`)."""
    limit = max_depth(input_shape)
    if depth > limit:
        h, w, _ = input_shape
        oh, ow = map_sizes(input_shape, depth)[-1]
        raise SpecError(f"{family}: depth {depth} pools a {h}x{w} input to {oh}x{ow}, below "
                        f"{MIN_MAP}x{MIN_MAP}; at most {limit} blocks")


def grown_filters(width: int, growth: float, depth: int) -> tuple[int, ...]:
    """Filters of each block: ``width`` multiplied by ``growth`` per block, rounded."""
    return tuple(round(width * growth**i) for i in range(depth))


@dataclass(frozen=True)
class CNNSpec(SpecBase):
    """One AlexNet-style conv-pool network."""

    family: ClassVar[str] = "cnn"

    width: int = 32
    depth: int = 2
    convs_per_block: int = 1
    growth: float = 2.0
    filters: tuple[int, ...] | None = None
    kernels: tuple[int, ...] = (7, 5, 3, 3)
    activation: str = "relu"
    pooling: str = "max"
    batch_norm: bool = False
    dropout: float = 0.0
    dense_units: int = 128
    head: str = "flatten"
    input_shape: tuple[int, int, int] = (28, 28, 1)
    num_classes: int = 10

    def __post_init__(self) -> None:
        fam = self.family
        set_ = object.__setattr__
        set_(self, "width", f.positive_int(fam, "width", self.width))
        set_(self, "depth", f.positive_int(fam, "depth", self.depth))
        set_(self, "convs_per_block", f.positive_int(fam, "convs_per_block", self.convs_per_block))
        set_(self, "growth", check_growth(fam, self.width, self.depth, self.growth))
        set_(self, "input_shape", f.shape3(fam, self.input_shape))
        set_(self, "kernels", f.int_tuple(fam, "kernels", self.kernels))
        if any(b > a for a, b in zip(self.kernels, self.kernels[1:], strict=False)):
            raise SpecError(f"cnn: kernels must not grow from block to block, got {self.kernels}")
        if self.filters is not None:
            set_(self, "filters", f.int_tuple(fam, "filters", self.filters))
            if len(self.filters) != self.depth:
                raise SpecError(
                    f"cnn: filters lists {len(self.filters)} blocks but depth is {self.depth}"
                )
            if self.filters[0] != self.width:
                raise SpecError(
                    f"cnn: filters[0] ({self.filters[0]}) must equal width ({self.width})"
                )
        check_depth(fam, self.input_shape, self.depth)
        f.choice(fam, "head", self.head, HEADS)
        f.choice(fam, "activation", self.activation, f.ACTIVATIONS)
        f.choice(fam, "pooling", self.pooling, ("max", "avg"))
        f.boolean(fam, "batch_norm", self.batch_norm)
        set_(self, "dropout", f.fraction(fam, "dropout", self.dropout))
        set_(self, "dense_units", f.capped(fam, "dense_units",
                                          f.non_negative_int(fam, "dense_units", self.dense_units)))
        set_(self, "num_classes", f.positive_int(fam, "num_classes", self.num_classes))

    def block_filters(self) -> tuple[int, ...]:
        """Filters of each block: explicit, or width grown by ``growth`` per block."""
        if self.filters is not None:
            return self.filters
        return grown_filters(self.width, self.growth, self.depth)

    def block_kernels(self) -> tuple[int, ...]:
        """Kernel size of each block; a schedule shorter than depth repeats its last entry."""
        return tuple(self.kernels[min(i, len(self.kernels) - 1)] for i in range(self.depth))

    def model_name(self) -> str:
        return f"cnn_w{self.width}_d{self.depth}"

    def layer_plan(self) -> list[Layer]:
        net = Planner(self.input_shape)
        pool = "MaxPooling2D" if self.pooling == "max" else "AveragePooling2D"
        for b, (filters, kernel) in enumerate(
            zip(self.block_filters(), self.block_kernels(), strict=True), start=1
        ):
            for c in range(1, self.convs_per_block + 1):
                net.conv(f"block{b}_conv{c}", filters, kernel, use_bias=not self.batch_norm)
                if self.batch_norm:
                    net.batch_norm(f"block{b}_bn{c}", BN_MOMENTUM)
                net.activation(f"block{b}_{self.activation}{c}", self.activation)
            net.pool(f"block{b}_pool", pool, POOL, padding="same")
            if self.dropout:
                net.dropout(f"block{b}_dropout", self.dropout)
        if self.head == "gap":
            net.global_average("gap")
        else:
            net.flatten("flatten")
        if self.dense_units:
            net.dense("head_dense", self.dense_units, activation=self.activation)
            if self.dropout:
                net.dropout("head_dropout", self.dropout)
        net.dense("predictions", self.num_classes, activation="softmax", dtype="float32")
        return net.layers


# Width is the first block's filters (a step doubles them), depth the conv-pool blocks; the
# head changes what depth does to the size, so nothing is pooled over it.
register(Family(CNNSpec, role=STUDIED, width=Axis("width"),
                depth=Axis("depth", "block", "conv-pool blocks"), derived=frozenset({"filters"}),
                never_pooled=frozenset({"head"}), columns=("head", "width", "depth")))
