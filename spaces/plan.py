"""A network as a graph of layers with their shapes, sizes and compute: built once into Keras.

Each family writes its architecture once, as a plan: layers in an order where every layer
comes after the outputs it reads (a chain reads the layer before it; a residual block
branches from an earlier output and joins the two paths with ``Add``). :func:`build_model`
turns the plan into a Keras functional model, and the same plan gives the parameter count,
the forward FLOPs and the layer table of ``best_architecture.md`` without importing
TensorFlow. Keras can only summarise a model it has built (its NumPy backend needs JAX),
and commands that do not train must start without TensorFlow; so the shape and size
arithmetic of the few layer types we use is written here, and tests/spaces/test_plan.py
checks every entry (and what it is connected to) against the model Keras builds from it.
FLOPs follow the convention of :mod:`spaces.cost`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from spaces.cost import Cost

if TYPE_CHECKING:
    import keras

INPUT_NAME = "image"


@dataclass(frozen=True)
class Layer:
    """One Keras layer: its class name in ``keras.layers``, the keyword arguments it is
    created with, the outputs it reads (layer names, or :data:`INPUT_NAME`) and what it
    does to one example."""

    name: str
    kind: str
    config: Mapping[str, Any]
    output_shape: tuple[int, ...]
    inputs: tuple[str, ...]
    params: int = 0
    frozen_params: int = 0  # not trained: batch norm's moving mean and variance
    flops: int = 0


class Tap(NamedTuple):
    """An output of the plan so far (a layer's, or the input's): where a branch starts."""

    name: str
    shape: tuple[int, ...]


@dataclass
class Planner:
    """Appends layers while following the shape of one example through them.

    Each layer reads ``here``, the output of the layer added last, unless :meth:`resume`
    moved it back to an earlier output (a second branch), and :meth:`add` joins branches.
    """

    input_shape: tuple[int, ...]
    layers: list[Layer] = field(default_factory=list)
    here: Tap = field(init=False)

    def __post_init__(self) -> None:
        self.here = Tap(INPUT_NAME, self.input_shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.here.shape

    def resume(self, tap: Tap) -> None:
        """Let the next layer read ``tap``, an earlier output: it starts another branch."""
        self.here = tap

    def _add(self, name: str, kind: str, config: Mapping[str, Any],
             output_shape: tuple[int, ...] | None = None, *, reads: Sequence[Tap] = (),
             **size: int) -> None:
        taps = tuple(reads) or (self.here,)
        shape = self.shape if output_shape is None else output_shape
        self.layers.append(Layer(name, kind, dict(config), shape,
                                 tuple(t.name for t in taps), **size))
        self.here = Tap(name, shape)

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

    def add(self, name: str, *branches: Tap) -> None:
        """Sum the outputs of ``branches`` (equal shapes), e.g. a residual block's two paths."""
        if len({b.shape for b in branches}) != 1:
            raise ValueError(f"{name}: cannot add outputs of shapes "
                             f"{', '.join(str(b.shape) for b in branches)}")
        self._add(name, "Add", {}, branches[0].shape, reads=branches)

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
    """The Keras functional model of a plan, layer for layer, each reading its ``inputs``."""
    import keras  # only to build: reading a plan needs no TensorFlow

    outputs = {INPUT_NAME: keras.Input(shape=input_shape, name=INPUT_NAME)}
    for layer in plan:
        read = [outputs[n] for n in layer.inputs]
        create = getattr(keras.layers, layer.kind)
        outputs[layer.name] = create(name=layer.name, **layer.config)(
            read[0] if len(read) == 1 else read)
    return keras.Model(outputs[INPUT_NAME], outputs[plan[-1].name], name=name)


def block_outputs(plan: Sequence[Layer]) -> list[Layer]:
    """The last layer of each block (every family names a block's layers ``blockN_...``),
    in order: what each block hands on, e.g. its pooled feature maps."""
    last: dict[str, Layer] = {}
    for layer in plan:
        block, sep, _ = layer.name.partition("_")
        if sep and block.removeprefix("block").isdigit():
            last[block] = layer
    return list(last.values())


def is_chain(plan: Sequence[Layer]) -> bool:
    """Whether every layer reads only the one before it (the input, for the first)."""
    before = [INPUT_NAME, *(layer.name for layer in plan)]
    return all(layer.inputs == (prev,) for layer, prev in zip(plan, before, strict=False))


def _shape(shape: tuple[int, ...]) -> str:
    return "(None, " + ", ".join(str(n) for n in shape) + ")"


def table(input_shape: tuple[int, ...], plan: Sequence[Layer]) -> str:
    """The layers as a Markdown table, with Keras' summary columns and totals; like Keras,
    a graph that is not a chain also shows what each layer is connected to."""
    chain = is_chain(plan)

    def row(name: str, kind: str, shape: tuple[int, ...], params: int,
            inputs: tuple[str, ...]) -> str:
        linked = "" if chain else f" {', '.join(inputs) or '—'} |"
        return f"| {name} ({kind}) | {_shape(shape)} | {params:,} |{linked}"

    rows = [row(INPUT_NAME, "InputLayer", input_shape, 0, ())]
    rows += [row(layer.name, layer.kind, layer.output_shape, layer.params, layer.inputs)
             for layer in plan]
    total = sum(layer.params for layer in plan)
    frozen = sum(layer.frozen_params for layer in plan)
    head = "| Layer (type) | Output shape | Param # |" + ("" if chain else " Connected to |")
    rule = "| --- | --- | ---: |" + ("" if chain else " --- |")
    return "\n".join([
        head,
        rule,
        *rows,
        "",
        f"Total params: {total:,} (trainable {total - frozen:,}, non-trainable {frozen:,})",
    ])
