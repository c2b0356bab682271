"""What a trained net does with the test images, taken when its training ends: its
predictions counted by class, the images it gets wrong, the maps each block hands on, its
first convolution's filters.

Taken by the training (``search.train``), which holds the model and the test split, and
kept beside the model as an ``.npz`` artifact (``storage.artifacts``), so that ``report``
draws them with NumPy alone: the commands that do not train never import TensorFlow, and
the report needs neither the model nor the dataset's files.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from search.stats import confusion
from spaces.plan import block_outputs

if TYPE_CHECKING:
    import keras

    import spaces

FILE = "seen.npz"  # its name as Optuna and the dashboard list the artifact
MISTAKES = 24  # misclassified test images kept, the most confident mistakes first
SHOWN = 3  # test images whose feature maps are kept: the first of the test split
CHANNELS = 4  # maps kept per block: its most active channels over the shown images


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
    maps: np.ndarray  # float32, (images, channels, height, width)


@dataclass(frozen=True)
class Seen:
    """What a model did with the test split."""

    accuracy: float
    wrong: int
    total: int
    confusion: np.ndarray  # int counts: rows the true class, columns the predicted one
    mistakes: tuple[Example, ...]
    shown: tuple[Example, ...]
    blocks: tuple[BlockMaps, ...]
    filters: np.ndarray | None  # the first convolution's kernel: (kh, kw, in, out)
    filter_layer: str | None

    def most_confused(self) -> tuple[int, int, int]:
        """(true class, predicted class, count) of the most frequent mistake."""
        counts = self.confusion.copy()
        np.fill_diagonal(counts, -1)
        true, predicted = np.unravel_index(int(np.argmax(counts)), counts.shape)
        return int(true), int(predicted), int(counts[true, predicted])


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


def see(model: keras.Model, spec: spaces.ArchSpec, x: np.ndarray, y: np.ndarray,
        probabilities: np.ndarray) -> Seen:
    """``model`` (built from ``spec`` by ``search.train``) on the test images ``x`` (float
    in [0, 1]) with labels ``y``, whose predicted ``probabilities`` the caller has."""
    import keras

    predicted = probabilities.argmax(axis=-1)
    confidence = probabilities.max(axis=-1)

    def example(i: int) -> Example:
        return Example(int(i), _pixels(x[i]), int(y[i]), int(predicted[i]),
                       float(confidence[i]))

    wrong = np.flatnonzero(predicted != y)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:MISTAKES]
    plan = spec.layer_plan()
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
            blocks.append(BlockMaps(layer.name, tuple(layer.output_shape),
                                    tuple(int(c) for c in top),
                                    np.transpose(maps[..., top], (0, 3, 1, 2))))
    conv = next((layer for layer in plan if layer.kind == "Conv2D"), None)
    return Seen(accuracy=float(np.mean(predicted == y)), wrong=len(wrong), total=len(y),
                confusion=np.array(confusion(y, predicted, probabilities.shape[-1])),
                mistakes=tuple(example(i) for i in worst),
                shown=tuple(example(i) for i in range(min(SHOWN, len(y)))),
                blocks=tuple(blocks),
                filters=None if conv is None else body.get_layer(conv.name).get_weights()[0],
                filter_layer=None if conv is None else conv.name)


def _examples(prefix: str, examples: tuple[Example, ...]) -> dict[str, np.ndarray]:
    return {f"{prefix}_index": np.array([e.index for e in examples], dtype=np.int64),
            f"{prefix}_image": np.array([e.image for e in examples], dtype=np.uint8),
            f"{prefix}_true": np.array([e.true for e in examples], dtype=np.int64),
            f"{prefix}_predicted": np.array([e.predicted for e in examples], dtype=np.int64),
            f"{prefix}_probability": np.array([e.probability for e in examples])}


def save(seen: Seen, path: Path) -> None:
    """Write ``seen`` to the ``.npz`` file ``path`` (NumPy arrays only, no pickles)."""
    arrays: dict[str, Any] = {
        "counts": np.array([seen.wrong, seen.total], dtype=np.int64),
        "confusion": seen.confusion.astype(np.int64),
        "accuracy": np.array(seen.accuracy),
        **_examples("mistakes", seen.mistakes), **_examples("shown", seen.shown),
        "block_layers": np.array([b.layer for b in seen.blocks], dtype=str),
    }
    for i, block in enumerate(seen.blocks):
        arrays[f"block{i}_shape"] = np.array(block.shape, dtype=np.int64)
        arrays[f"block{i}_channels"] = np.array(block.channels, dtype=np.int64)
        arrays[f"block{i}_maps"] = block.maps.astype(np.float32)
    if seen.filters is not None:
        arrays["filters"] = seen.filters.astype(np.float32)
        arrays["filter_layer"] = np.array(seen.filter_layer, dtype=str)
    with path.open("wb") as file:
        np.savez_compressed(file, **arrays)


def _read_examples(data: Any, prefix: str) -> tuple[Example, ...]:
    return tuple(Example(int(i), image, int(t), int(p), float(q)) for i, image, t, p, q in zip(
        data[f"{prefix}_index"], data[f"{prefix}_image"], data[f"{prefix}_true"],
        data[f"{prefix}_predicted"], data[f"{prefix}_probability"], strict=True))


def read(path: Path) -> Seen:
    """The :class:`Seen` in ``path``; ValueError when it is not a whole file of ours."""
    try:
        with np.load(path, allow_pickle=False) as data:
            wrong, total = (int(n) for n in data["counts"])
            blocks = tuple(
                BlockMaps(str(layer), tuple(int(n) for n in data[f"block{i}_shape"]),
                          tuple(int(c) for c in data[f"block{i}_channels"]),
                          data[f"block{i}_maps"])
                for i, layer in enumerate(data["block_layers"]))
            filters = data.get("filters")
            return Seen(accuracy=float(data["accuracy"]), wrong=wrong, total=total,
                        confusion=data["confusion"], mistakes=_read_examples(data, "mistakes"),
                        shown=_read_examples(data, "shown"), blocks=blocks, filters=filters,
                        filter_layer=str(data["filter_layer"]) if filters is not None
                        else None)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        # What np.load and its zip archive raise for a truncated or foreign file.
        raise ValueError(f"not a whole {FILE} ({type(exc).__name__})") from None
