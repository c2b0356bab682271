"""What a kept model does with the test images: the ones it gets wrong, the maps each block
hands on, and its first convolution's filters.

The one room of the report that imports Keras, inside :func:`load` and :func:`see`, which
are called only for a model that was kept and read back whole (``search.report.inside``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import spaces
from compat.tensorflow import import_quietly
from spaces.plan import block_outputs

if TYPE_CHECKING:
    import keras

MISTAKES = 24  # misclassified test images shown, the most confident mistakes first
SHOWN = 3  # test images whose feature maps are shown: the first of the test split
CHANNELS = 4  # maps shown per block: its most active channels over the shown images
BATCH = 512  # as the training's test pass, so the predictions are those it counted


@dataclass(frozen=True)
class Example:
    """One test image with what the model made of it."""

    index: int  # in the test split
    image: np.ndarray  # uint8, (H, W) grey or (H, W, 3) colour
    true: int
    predicted: int
    probability: float  # the model's probability of its predicted class


@dataclass(frozen=True)
class BlockMaps:
    """A block's output for the shown images: ``maps[i, j]`` is channel ``channels[j]``
    for shown image i."""

    layer: str  # the block's last layer
    shape: tuple[int, ...]  # of one output: height, width, channels
    channels: tuple[int, ...]
    maps: np.ndarray  # float, (images, channels, height, width)


@dataclass(frozen=True)
class Seen:
    """What a model did with the test split."""

    accuracy: float  # recomputed from its predictions here
    wrong: int
    total: int
    mistakes: tuple[Example, ...]
    shown: tuple[Example, ...]
    blocks: tuple[BlockMaps, ...]
    filters: np.ndarray | None  # the first convolution's kernel: (kh, kw, in, out)
    filter_layer: str | None


def load(path: Path) -> keras.Model:
    """The model in a ``.keras`` file, without compiling it (it holds no optimizer)."""
    import_quietly()  # a report's warnings are one line each, not TensorFlow's start-up
    import keras

    return keras.saving.load_model(path, compile=False)


def _pixels(x: np.ndarray) -> np.ndarray:
    """A [0, 1] float image as uint8, grey images without their channel axis."""
    image = np.rint(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)
    return image[..., 0] if image.shape[-1] == 1 else image


def _split(model: keras.Model, first: str) -> tuple[keras.Model, list[Any]]:
    """The family's network inside ``model`` and the input layers before it (scaling,
    augmentation: ``search.train`` wraps the network in them when a study asks)."""
    if any(layer.name == first for layer in model.layers):
        return model, []
    return model.layers[-1], list(model.layers[:-1])


def see(model: keras.Model, arch: dict[str, Any], x: np.ndarray, y: np.ndarray) -> Seen:
    """``model`` (an ArchSpec ``arch`` as ``search.train`` saved it) on the test images
    ``x`` (float in [0, 1]) with labels ``y``."""
    import keras

    probabilities = model.predict(x, batch_size=BATCH, verbose=0)
    predicted = probabilities.argmax(axis=-1)
    confidence = probabilities.max(axis=-1)

    def example(i: int) -> Example:
        return Example(int(i), _pixels(x[i]), int(y[i]), int(predicted[i]),
                       float(confidence[i]))

    wrong = np.flatnonzero(predicted != y)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:MISTAKES]
    plan = spaces.from_dict(arch).layer_plan()
    body, before = _split(model, plan[0].name)
    outputs = [layer for layer in block_outputs(plan) if len(layer.output_shape) == 3]
    blocks: list[BlockMaps] = []
    if outputs:
        probe = keras.Model(body.inputs, [body.get_layer(o.name).output for o in outputs])
        inputs: Any = x[:SHOWN]
        for layer in before:
            inputs = layer(inputs, training=False)  # augmentation is off outside training
        found = probe.predict(keras.ops.convert_to_numpy(inputs), verbose=0)
        for layer, maps in zip(outputs, found if len(outputs) > 1 else [found], strict=True):
            top = np.argsort(-maps.mean(axis=(0, 1, 2)), kind="stable")[:CHANNELS]
            blocks.append(BlockMaps(layer.name, layer.output_shape, tuple(int(c) for c in top),
                                    np.transpose(maps[..., top], (0, 3, 1, 2))))
    conv = next((layer for layer in plan if layer.kind == "Conv2D"), None)
    return Seen(accuracy=float(np.mean(predicted == y)), wrong=len(wrong), total=len(y),
                mistakes=tuple(example(i) for i in worst),
                shown=tuple(example(i) for i in range(min(SHOWN, len(y)))),
                blocks=tuple(blocks),
                filters=None if conv is None else body.get_layer(conv.name).get_weights()[0],
                filter_layer=None if conv is None else conv.name)
