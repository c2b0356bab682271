"""CIFAR-10: 32x32 colour images of 10 classes, read from its binary version (no pickle).

Each record of a batch file is 1 label byte then 3072 pixel bytes (1024 R, 1024 G,
1024 B, row-major); a file is read no further than ``MAX_FILE_BYTES``.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from search.datasets import _files
from search.datasets._base import DataDir, DataError, Dataset, Raw
from search.datasets._registry import register

NAME = "cifar10"
SHAPE = (32, 32, 3)
CLASSES = 10
HINT = ("download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, extract it "
        "and pass --data-dir")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
SUBDIR = "cifar-10-batches-bin"
TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST = "test_batch.bin"
RECORD = 1 + 32 * 32 * 3


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch: uint8 images ``(n, 32, 32, 3)`` and int32 labels."""
    path = os.fspath(path)
    data = _files.read_bytes(path, HINT)
    if len(data) == 0 or len(data) % RECORD:
        whole = max(1, -(-len(data) // RECORD)) * RECORD
        raise DataError(f"{path}: truncated (expected {whole} bytes, a multiple of {RECORD}, "
                        f"got {len(data)}); {HINT}")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    y = records[:, 0].astype(np.int32)
    if y.max() >= CLASSES:
        raise DataError(f"{path}: label {int(y.max())} out of range 0..{CLASSES - 1} "
                        f"(corrupted file); {HINT}")
    x = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), y


def default_dirs() -> list[str]:
    """Folders searched when neither ``data_dir`` nor ``SEARCH_DATA_DIR`` is given."""
    cache = _files.keras_datasets_dir()
    return [os.path.join(cache, SUBDIR),
            os.path.join(cache, "cifar-10-binary_extracted", SUBDIR)]


def _batches(directory: str) -> tuple[str, list[str]]:
    """The batches folder for ``directory`` (itself or its ``cifar-10-batches-bin``) and
    the files missing there."""
    wanted = (*TRAIN, TEST)
    best: tuple[str, list[str]] | None = None
    for cand in (os.path.join(directory, SUBDIR), directory):
        missing = [n for n in wanted if not os.path.isfile(os.path.join(cand, n))]
        if best is None or len(missing) < len(best[1]):
            best = (cand, missing)
    assert best is not None
    return best


def _download() -> str:
    return _files.keras_download("cifar-10-binary.tar.gz", URL, "datasets", extract=True)


@functools.lru_cache(maxsize=2)
def _read(directory: str) -> Raw:
    xs, ys = zip(*(read_cifar_batch(os.path.join(directory, f)) for f in TRAIN), strict=True)
    x_test, y_test = read_cifar_batch(os.path.join(directory, TEST))
    return Raw(np.concatenate(xs), np.concatenate(ys), x_test, y_test, CLASSES, directory)


def load(data_dir: DataDir) -> Raw:
    """The five training batches and the test batch from ``data_dir``,
    ``$SEARCH_DATA_DIR``, Keras' cache or a Keras download, in that order."""
    directory = _files.locate("CIFAR-10", data_dir, _batches, default_dirs(), _download, HINT)
    return _read(os.path.realpath(directory))


# Validation: 1/10 of the 50,000 training images, 5,000; 45,000 left to train on.
register(Dataset(NAME, SHAPE, CLASSES, train_images=45_000, val_denominator=10, load=load,
                 labels=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                         "horse", "ship", "truck")))
