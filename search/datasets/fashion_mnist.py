"""Fashion-MNIST: 28x28 grey images of 10 classes, read from its four IDX files.

The files are validated: headers, lengths, label ranges, image sizes and, for the real
files, the SHA-256 of the decompressed content (see ``shared/DATA.md``). No file is read
past its IDX header's size, nor past ``MAX_FILE_BYTES`` (1 GiB) decompressed, so a small
``.gz`` that expands to gigabytes is refused without filling memory.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os

import numpy as np

from search.datasets import _files
from search.datasets._base import MAX_FILE_BYTES, DataDir, DataError, Dataset, Raw
from search.datasets._registry import register

NAME = "fashion_mnist"
SHAPE = (28, 28, 1)
CLASSES = 10
HINT = "install the Debian package dataset-fashion-mnist or pass --data-dir"
URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Size and SHA-256 of the decompressed real files (shared/DATA.md).
SHA256 = {
    "train-images-idx3-ubyte": (
        47040016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (
        60008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (
        7840016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (
        10008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}
IDX_IMAGES = 0x00000803
IDX_LABELS = 0x00000801


def read_idx(path: str | os.PathLike[str], magic: int | None = None) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain) as a uint8 array.

    Images (magic 0x00000803) give ``(count, rows, cols)``, labels (0x00000801) give
    ``(count,)``. ``magic`` restricts the accepted kind. The payload length must match the
    header; a file with the size of a real Fashion-MNIST file must also match its SHA-256.
    The file is read (decompressed) only as far as its header says it extends, plus one
    byte to detect trailing data, and a header declaring more than ``MAX_FILE_BYTES`` is
    refused before reading on.
    """
    path = os.fspath(path)
    with _files.reading(path, HINT) as f:
        data = f.read(4)
        if len(data) < 4:
            raise DataError(
                f"{path}: truncated (expected an IDX header, got {len(data)} bytes)")
        found = int.from_bytes(data[:4], "big")
        allowed = (magic,) if magic is not None else (IDX_IMAGES, IDX_LABELS)
        if found not in allowed:
            wanted = " or ".join(f"0x{m:08x}" for m in allowed)
            raise DataError(f"{path}: not a valid IDX file (magic 0x{found:08x}, expected "
                            f"{wanted}); {HINT}")
        ndim = found & 0xFF
        header = 4 + 4 * ndim
        data += f.read(header - 4)
        if len(data) < header:
            raise DataError(
                f"{path}: truncated (expected at least {header} bytes, got {len(data)})")
        dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        expected = header + math.prod(dims)  # Python ints: no overflow
        if expected > MAX_FILE_BYTES:
            raise DataError(
                f"{path}: its header declares {' x '.join(map(str, dims))} values "
                f"({expected:,} bytes), more than the {MAX_FILE_BYTES:,} a dataset file may "
                f"hold (corrupted file?); {HINT}")
        data += f.read(expected - header + 1)
    if len(data) < expected:
        raise DataError(f"{path}: truncated (expected {expected} bytes, got {len(data)})")
    if len(data) > expected:
        raise DataError(f"{path}: trailing data (expected {expected} bytes, got more); {HINT}")
    _verify_checksum(path, data)
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _verify_checksum(path: str, data: bytes) -> None:
    """Check the SHA-256 of a file that has the exact size of a real Fashion-MNIST file."""
    known = SHA256.get(os.path.basename(path).removesuffix(".gz"))
    if known is None or len(data) != known[0]:
        return
    digest = hashlib.sha256(data).hexdigest()
    if digest != known[1]:
        raise DataError(
            f"{path}: checksum mismatch (sha256 of decompressed content {digest[:16]}..., "
            f"expected {known[1][:16]}...): re-install dataset-fashion-mnist or delete the file"
        )


def default_dirs() -> list[str]:
    """Folders searched when neither ``data_dir`` nor ``SEARCH_DATA_DIR`` is given."""
    return ["/usr/share/datasets/fashion-mnist",
            os.path.join(_files.keras_datasets_dir(), "fashion-mnist")]


def _paths(directory: str) -> tuple[dict[str, str], list[str]]:
    """Paths of the four IDX files in ``directory`` (``.gz`` preferred) and the missing ones."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for base in FILES:
        path = next((p for p in (os.path.join(directory, base + ".gz"),
                                 os.path.join(directory, base)) if os.path.isfile(p)), None)
        if path is None:
            missing.append(base + ".gz")
        else:
            found[base] = path
    return found, missing


def _download() -> str:
    paths = [_files.keras_download(base + ".gz", URL + base + ".gz", "datasets/fashion-mnist",
                                   extract=False) for base in FILES]
    return os.path.dirname(paths[0])


def _split(paths: dict[str, str], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 28, 28, 1)`` and int32 labels of ``split`` ("train" or "t10k")."""
    ipath, lpath = paths[f"{split}-images-idx3-ubyte"], paths[f"{split}-labels-idx1-ubyte"]
    x = read_idx(ipath, IDX_IMAGES)
    if x.shape[1:] != SHAPE[:2]:
        raise DataError(f"{ipath}: images are {x.shape[1]}x{x.shape[2]}, Fashion-MNIST's are "
                        f"{SHAPE[0]}x{SHAPE[1]}; {HINT}")
    y = read_idx(lpath, IDX_LABELS)
    if len(x) != len(y):
        raise DataError(f"{lpath}: {len(y)} labels but {os.path.basename(ipath)} has {len(x)} "
                        f"images; {HINT}")
    if len(y) and y.max() >= CLASSES:
        raise DataError(f"{lpath}: label {int(y.max())} out of range 0..{CLASSES - 1}; {HINT}")
    return x[..., np.newaxis], y.astype(np.int32)


@functools.lru_cache(maxsize=2)
def _read(directory: str) -> Raw:
    paths, missing = _paths(directory)
    if missing:  # files removed since they were located
        raise DataError(f"Fashion-MNIST not found in {directory}: missing {', '.join(missing)}")
    x_train, y_train = _split(paths, "train")
    if len(x_train) == 0:
        raise DataError(f"{paths['train-images-idx3-ubyte']}: contains no images")
    x_test, y_test = _split(paths, "t10k")
    return Raw(x_train, y_train, x_test, y_test, CLASSES, directory)


def load(data_dir: DataDir) -> Raw:
    """The official train and test sets from ``data_dir``, ``$SEARCH_DATA_DIR``, the Debian
    package's folder, Keras' cache or a Keras download, in that order."""
    directory = _files.locate("Fashion-MNIST", data_dir, lambda d: (d, _paths(d)[1]),
                              default_dirs(), _download, HINT)
    return _read(os.path.realpath(directory))


# Validation: 1/6 of the 60,000 training images, 10,000; 50,000 left to train on.
register(Dataset(NAME, SHAPE, CLASSES, train_images=50_000, val_denominator=6, load=load,
                 labels=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")))
