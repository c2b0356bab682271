"""Size and compute of a built model: parameters and forward FLOPs per example.

Keras reports parameters but not FLOPs, and TensorFlow's profiler counts graph ops
(including activations and pools) in ways that shift between versions; the scaling fits
need a stable, documented convention, so it is computed here: FLOPs = 2 x multiply-adds
of the convolution and dense layers, per example, forward pass only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras


def _free_layers() -> tuple[type, ...]:
    """Layers that hold no weights and whose arithmetic the convention leaves out."""
    from keras import layers  # only when a built model is measured

    return (layers.InputLayer, layers.Activation, layers.MaxPooling2D,
            layers.AveragePooling2D, layers.GlobalAveragePooling2D, layers.Flatten,
            layers.Dropout, layers.Rescaling, layers.RandomFlip, layers.RandomTranslation)


@dataclass(frozen=True)
class Cost:
    """``params`` counts every weight (trainable or not), as Keras' ``count_params``."""

    params: int
    flops: int


def _layer_cost(layer: keras.layers.Layer) -> Cost:
    import keras
    from keras import layers

    if isinstance(layer, keras.Model):
        return _sum(layer.layers)
    if isinstance(layer, layers.Conv2D):
        kh, kw = layer.kernel_size
        cin = layer.input.shape[-1]
        _, oh, ow, cout = layer.output.shape
        macs = kh * kw * cin * cout
        bias = cout if layer.use_bias else 0
        return Cost(params=macs + bias, flops=2 * macs * oh * ow)
    if isinstance(layer, layers.Dense):
        cin = layer.input.shape[-1]
        cout = layer.units
        bias = cout if layer.use_bias else 0
        return Cost(params=cin * cout + bias, flops=2 * cin * cout)
    if isinstance(layer, layers.BatchNormalization):
        channels = layer.input.shape[-1]
        return Cost(params=4 * channels, flops=0)  # gamma, beta, moving mean and variance
    if isinstance(layer, _free_layers()):
        return Cost(0, 0)
    raise TypeError(f"no cost rule for layer {layer.name!r} of type {type(layer).__name__}")


def _sum(layer_list: list[keras.layers.Layer]) -> Cost:
    costs = [_layer_cost(layer) for layer in layer_list]
    return Cost(sum(c.params for c in costs), sum(c.flops for c in costs))


def cost(model: keras.Model) -> Cost:
    """Parameters and forward FLOPs per example of a built functional or sequential model."""
    return _sum(model.layers)


def human(n: float) -> str:
    """Short human form of a count, e.g. 1.2M, 350k."""
    if n <= 0:
        return "0"
    exp = min(int(math.log10(n) // 3), 4)
    suffix = ["", "k", "M", "G", "T"][exp]
    value = n / 1000**exp
    return f"{value:.0f}{suffix}" if value >= 100 or exp == 0 else f"{value:.1f}{suffix}"
