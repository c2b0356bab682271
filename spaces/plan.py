"""A network as a list of layers with their shapes, sizes and compute: built once into Keras.

Each family writes its architecture once, as a plan; :func:`build_model` turns the plan into
a Keras model, and the same plan gives the parameter count, the forward FLOPs and the
layer table of ``best_architecture.md`` without importing TensorFlow. Keras can only
summarise a model it has built (its NumPy backend needs JAX), and commands that do not
train must start without TensorFlow; so the shape and size arithmetic of the few layer
types we use is written here, and tests/spaces/test_plan.py checks every entry against the
model Keras builds from it.
FLOPs follow the convention of :mod:`spaces.cost`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spaces.cost import Cost

if TYPE_CHECKING:
    import keras

INPUT_NAME = "image"


@dataclass(frozen=True)
class Layer:
    """One Keras layer: its class name in ``keras.layers``, the keyword arguments it is
    created with, and what it does to one example."""

    name: str
    kind: str
    config: Mapping[str, Any]
    output_shape: tuple[int, ...]
    params: int = 0
    frozen_params: int = 0  # not trained: batch norm's moving mean and variance
    flops: int = 0


@dataclass
class Planner:
    """Appends layers while following the shape of one example through them."""

    input_shape: tuple[int, ...]
    layers: list[Layer] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def _add(self, name: str, kind: str, config: Mapping[str, Any],
             output_shape: tuple[int, ...] | None = None, **size: int) -> None:
        self.layers.append(Layer(name, kind, dict(config),
                                 self.shape if output_shape is None else output_shape, **size))

    def conv(self, name: str, filters: int, kernel: int, *, padding: str = "same",
             use_bias: bool = True, activation: str | None = None) -> None:
        h, w, cin = self.shape
        if padding == "valid":
            h, w = h - kernel + 1, w - kernel + 1
        macs = kernel * kernel * cin * filters
        self._add(name, "Conv2D", {"filters": filters, "kernel_size": kernel, "padding": padding,
                                   "use_bias": use_bias, "activation": activation},
                  (h, w, filters), params=macs + (filters if use_bias else 0),
                  flops=2 * macs * h * w)

    def batch_norm(self, name: str, momentum: float) -> None:
        channels = self.shape[-1]  # gamma and beta train; the moving mean and variance do not
        self._add(name, "BatchNormalization", {"momentum": momentum},
                  params=4 * channels, frozen_params=2 * channels)

    def activation(self, name: str, function: str) -> None:
        self._add(name, "Activation", {"activation": function})

    def pool(self, name: str, kind: str, size: int, *, strides: int | None = None,
             padding: str = "valid") -> None:
        h, w, c = self.shape
        step = size if strides is None else strides

        def side(n: int) -> int:
            return math.ceil(n / step) if padding == "same" else (n - size) // step + 1

        config = {"pool_size": size, "strides": strides, "padding": padding}
        self._add(name, kind, config, (side(h), side(w), c))

    def dropout(self, name: str, rate: float) -> None:
        self._add(name, "Dropout", {"rate": rate})

    def flatten(self, name: str) -> None:
        self._add(name, "Flatten", {}, (math.prod(self.shape),))

    def global_average(self, name: str) -> None:
        self._add(name, "GlobalAveragePooling2D", {}, (self.shape[-1],))

    def dense(self, name: str, units: int, *, activation: str | None = None,
              use_bias: bool = True, dtype: str | None = None) -> None:
        (cin,) = self.shape
        config: dict[str, Any] = {"units": units, "activation": activation, "use_bias": use_bias}
        if dtype is not None:
            config["dtype"] = dtype
        self._add(name, "Dense", config, (units,),
                  params=cin * units + (units if use_bias else 0), flops=2 * cin * units)


def cost(plan: Sequence[Layer]) -> Cost:
    return Cost(sum(layer.params for layer in plan), sum(layer.flops for layer in plan),
                sum(math.prod(layer.output_shape) for layer in plan))


def build_model(name: str, input_shape: tuple[int, ...], plan: Sequence[Layer]) -> keras.Model:
    """The Keras functional model of a plan, layer for layer."""
    import keras  # only to build: reading a plan needs no TensorFlow

    inputs = keras.Input(shape=input_shape, name=INPUT_NAME)
    x = inputs
    for layer in plan:
        x = getattr(keras.layers, layer.kind)(name=layer.name, **layer.config)(x)
    return keras.Model(inputs, x, name=name)


def _shape(shape: tuple[int, ...]) -> str:
    return "(None, " + ", ".join(str(n) for n in shape) + ")"


def table(input_shape: tuple[int, ...], plan: Sequence[Layer]) -> str:
    """The layers as a Markdown table, with Keras' summary columns and totals."""
    rows = [f"| {INPUT_NAME} (InputLayer) | {_shape(input_shape)} | 0 |"]
    rows += [f"| {layer.name} ({layer.kind}) | {_shape(layer.output_shape)} | {layer.params:,} |"
             for layer in plan]
    total = sum(layer.params for layer in plan)
    frozen = sum(layer.frozen_params for layer in plan)
    return "\n".join([
        "| Layer (type) | Output shape | Param # |",
        "| --- | --- | ---: |",
        *rows,
        "",
        f"Total params: {total:,} (trainable {total - frozen:,}, non-trainable {frozen:,})",
    ])
