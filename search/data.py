"""Dataset loading for the scaling searches: Fashion-MNIST and CIFAR-10, split three ways.

Every trial of a study picks its hyperparameters (width, depth, learning rate, ...) by its
score on the **validation** split, which is carved out of the official training set with a
seeded, stratified split. The official **test** split is never used for selection: it is
only evaluated for reporting, so the reported accuracy is an unbiased estimate of the chosen
model and not one that was tuned against the very data it is reported on.

The files are read directly (IDX for Fashion-MNIST, the binary version of CIFAR-10, no
pickle) and validated: headers, lengths, label ranges and, for the real Fashion-MNIST files,
the SHA-256 of the decompressed content (see ``shared/DATA.md``), image sizes (28x28 for
Fashion-MNIST). No file is read past its IDX header's size, nor past ``MAX_FILE_BYTES``
(1 GiB) decompressed, so a small ``.gz`` that expands to gigabytes is refused without
filling memory. Any problem raises
:class:`DataError` with a one-line message naming the file and how to get a good copy.

Loaded splits are memoized per process, so all trials of a study share the same arrays
(they are marked read-only to keep one trial from changing another's data).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import math
import os
import socket
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

__all__ = [
    "DATASETS",
    "DataError",
    "Splits",
    "load_splits",
    "read_cifar_batch",
    "read_idx",
]

DATASETS = ("fashion_mnist", "cifar10")
INPUT_SHAPES = {"fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


class DataError(Exception):
    """A dataset is missing, truncated or corrupted.

    ``str(e)`` is a one-line message for the user naming the file and how to get it.
    """


@dataclass(frozen=True, eq=False, repr=False)
class Splits:
    """Train/validation/test arrays of one dataset.

    Images are float32 ``(n, H, W, C)`` in ``[0, 1]``; labels are int32 ``0..9``.
    Validation is for model selection, test only for reporting.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(H, W, C)``."""
        h, w, c = self.x_train.shape[1:]
        return int(h), int(w), int(c)

    num_classes: int = 10

    def __repr__(self) -> str:
        return (
            f"Splits(name={self.name!r}, train={len(self.y_train)}, val={len(self.y_val)}, "
            f"test={len(self.y_test)}, input_shape={self.input_shape}, source={self.source!r})"
        )


# --------------------------------------------------------------------------- constants

_NUM_CLASSES = 10
_DEBIAN_HINT = "install the Debian package dataset-fashion-mnist or pass --data-dir"
_CIFAR_HINT = (
    "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, extract it "
    "and pass --data-dir"
)

_FASHION_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FASHION_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# Size and SHA-256 of the decompressed real files (shared/DATA.md).
_FASHION_SHA256 = {
    "train-images-idx3-ubyte": (
        47040016,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "train-labels-idx1-ubyte": (
        60008,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "t10k-images-idx3-ubyte": (
        7840016,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    "t10k-labels-idx1-ubyte": (
        10008,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}

_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_CIFAR_SUBDIR = "cifar-10-batches-bin"
_CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_CIFAR_TEST = "test_batch.bin"
_CIFAR_RECORD = 1 + 32 * 32 * 3

_IDX_IMAGES = 0x00000803
_IDX_LABELS = 0x00000801

# Validation share of the official training set: Fashion 60k -> 50k/10k, CIFAR 50k -> 45k/5k.
_VAL_DENOMINATOR = {"fashion_mnist": 6, "cifar10": 10}

_DOWNLOAD_TIMEOUT_S = 5.0

# No dataset file is read (decompressed) past this size: a real Fashion-MNIST file is at
# most 47 MB and a CIFAR-10 batch 31 MB, while a corrupted or hostile 1 MB ``.gz`` file
# can expand to gigabytes.
MAX_FILE_BYTES = 1 << 30


# --------------------------------------------------------------------------- file readers


@contextlib.contextmanager
def _reading(path: str, hint: str) -> Iterator[BinaryIO]:
    """``path`` open for reading (decompressed on the fly, for ``.gz``), errors as DataError."""
    try:
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
            yield f
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; {hint}") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(
            f"{path}: corrupted gzip file ({e}); re-install it or delete the file ({hint})"
        ) from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e}); {hint}") from None


def _read_bytes(path: str, hint: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The (decompressed) content of ``path``, refused past ``limit`` bytes: a small
    ``.gz`` file can expand to gigabytes, so it is never read further than that."""
    with _reading(path, hint) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{path}: larger than {limit:,} bytes (decompressed), the most a "
                        f"dataset file may hold; {hint}")
    return data


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
    with _reading(path, _DEBIAN_HINT) as f:
        data = f.read(4)
        if len(data) < 4:
            raise DataError(
                f"{path}: truncated (expected an IDX header, got {len(data)} bytes)")
        found = int.from_bytes(data[:4], "big")
        allowed = (magic,) if magic is not None else (_IDX_IMAGES, _IDX_LABELS)
        if found not in allowed:
            wanted = " or ".join(f"0x{m:08x}" for m in allowed)
            raise DataError(f"{path}: not a valid IDX file (magic 0x{found:08x}, expected "
                            f"{wanted}); {_DEBIAN_HINT}")
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
                f"hold (corrupted file?); {_DEBIAN_HINT}")
        data += f.read(expected - header + 1)
    if len(data) < expected:
        raise DataError(f"{path}: truncated (expected {expected} bytes, got {len(data)})")
    if len(data) > expected:
        raise DataError(
            f"{path}: trailing data (expected {expected} bytes, got more); {_DEBIAN_HINT}"
        )
    _verify_checksum(path, data)
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _verify_checksum(path: str, data: bytes) -> None:
    """Check the SHA-256 of a file that has the exact size of a real Fashion-MNIST file."""
    base = os.path.basename(path)
    base = base.removesuffix(".gz")
    known = _FASHION_SHA256.get(base)
    if known is None or len(data) != known[0]:
        return
    digest = hashlib.sha256(data).hexdigest()
    if digest != known[1]:
        raise DataError(
            f"{path}: checksum mismatch (sha256 of decompressed content {digest[:16]}..., "
            f"expected {known[1][:16]}...): re-install dataset-fashion-mnist or delete the file"
        )


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch: uint8 images ``(n, 32, 32, 3)`` and int32 labels.

    Each record is 1 label byte then 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major).
    """
    path = os.fspath(path)
    data = _read_bytes(path, _CIFAR_HINT)
    if len(data) == 0 or len(data) % _CIFAR_RECORD:
        whole = max(1, -(-len(data) // _CIFAR_RECORD)) * _CIFAR_RECORD
        raise DataError(
            f"{path}: truncated (expected {whole} bytes, a multiple of {_CIFAR_RECORD}, "
            f"got {len(data)}); {_CIFAR_HINT}"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    y = records[:, 0].astype(np.int32)
    if y.max() >= _NUM_CLASSES:
        raise DataError(
            f"{path}: label {int(y.max())} out of range 0..9 (corrupted file); {_CIFAR_HINT}"
        )
    x = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), y


# --------------------------------------------------------------------------- locating files


def _keras_home() -> str:
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def _default_dirs(name: str) -> list[str]:
    """Directories searched when neither ``data_dir`` nor ``SEARCH_DATA_DIR`` is given."""
    datasets = os.path.join(_keras_home(), "datasets")
    if name == "fashion_mnist":
        return ["/usr/share/datasets/fashion-mnist", os.path.join(datasets, "fashion-mnist")]
    return [
        os.path.join(datasets, _CIFAR_SUBDIR),
        os.path.join(datasets, "cifar-10-binary_extracted", _CIFAR_SUBDIR),
    ]


def _explicit_dir(data_dir: str | os.PathLike[str] | None) -> tuple[str, str] | None:
    """``(directory, where it came from)`` if the user chose one, else None."""
    if data_dir is not None and os.fspath(data_dir) != "":
        return os.path.expanduser(os.fspath(data_dir)), "data_dir"
    env = os.environ.get("SEARCH_DATA_DIR", "")
    if env:
        return os.path.expanduser(env), "SEARCH_DATA_DIR"
    return None


def _fashion_paths(directory: str) -> tuple[dict[str, str], list[str]]:
    """Paths of the four IDX files in ``directory`` (``.gz`` preferred) and the missing ones."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for base in _FASHION_FILES:
        for candidate in (base + ".gz", base):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                found[base] = path
                break
        else:
            missing.append(base + ".gz")
    return found, missing


def _cifar_dir(directory: str) -> tuple[str, list[str]]:
    """The batches directory for ``directory`` (itself or its ``cifar-10-batches-bin``)."""
    names = (*_CIFAR_TRAIN, _CIFAR_TEST)
    best: tuple[str, list[str]] | None = None
    for cand in (os.path.join(directory, _CIFAR_SUBDIR), directory):
        missing = [n for n in names if not os.path.isfile(os.path.join(cand, n))]
        if not missing:
            return cand, []
        if best is None or len(missing) < len(best[1]):
            best = (cand, missing)
    assert best is not None
    return best


def _keras_download(fname: str, origin: str, cache_subdir: str, extract: bool) -> str:
    """Download with Keras' own downloader after a quick reachability check."""
    host = origin.split("/")[2]
    # get_file has no timeout: fail fast when there is no network at all.
    socket.create_connection((host, 443), timeout=_DOWNLOAD_TIMEOUT_S).close()
    import keras  # slow import, only needed here

    return keras.utils.get_file(fname, origin=origin, cache_subdir=cache_subdir, extract=extract)


def _locate_fashion(data_dir: str | os.PathLike[str] | None) -> str:
    explicit = _explicit_dir(data_dir)
    if explicit is not None:
        directory, origin = explicit
        if not os.path.isdir(directory):
            raise DataError(
                f"Fashion-MNIST directory {directory} (from {origin}) does not exist; "
                f"{_DEBIAN_HINT}"
            )
        _, missing = _fashion_paths(directory)
        if missing:
            raise DataError(
                f"Fashion-MNIST not found in {directory} (from {origin}): missing "
                f"{', '.join(missing)}; {_DEBIAN_HINT}"
            )
        return directory
    searched = _default_dirs("fashion_mnist")
    for directory in searched:
        if os.path.isdir(directory) and not _fashion_paths(directory)[1]:
            return directory
    try:
        paths = [
            _keras_download(
                base + ".gz", _FASHION_URL + base + ".gz", "datasets/fashion-mnist", extract=False
            )
            for base in _FASHION_FILES
        ]
    except Exception as e:
        raise DataError(
            f"Fashion-MNIST not found in {', '.join(searched)} and download failed "
            f"(no network? {type(e).__name__}: {e}): {_DEBIAN_HINT}".replace("\n", " ")
        ) from None
    return os.path.dirname(paths[0])


def _locate_cifar(data_dir: str | os.PathLike[str] | None) -> str:
    explicit = _explicit_dir(data_dir)
    if explicit is not None:
        directory, origin = explicit
        if not os.path.isdir(directory):
            raise DataError(
                f"CIFAR-10 directory {directory} (from {origin}) does not exist; {_CIFAR_HINT}"
            )
        batches, missing = _cifar_dir(directory)
        if missing:
            raise DataError(
                f"CIFAR-10 binary batches not found in {directory} (from {origin}): missing "
                f"{', '.join(missing)} (in {batches}); {_CIFAR_HINT}"
            )
        return batches
    searched = _default_dirs("cifar10")
    for directory in searched:
        if os.path.isdir(directory):
            batches, missing = _cifar_dir(directory)
            if not missing:
                return batches
    try:
        extracted = _keras_download("cifar-10-binary.tar.gz", _CIFAR_URL, "datasets", extract=True)
    except Exception as e:
        raise DataError(
            f"CIFAR-10 not found in {', '.join(searched)} and download failed "
            f"(no network? {type(e).__name__}: {e}): {_CIFAR_HINT}".replace("\n", " ")
        ) from None
    batches, missing = _cifar_dir(extracted)
    if missing:
        raise DataError(
            f"CIFAR-10 download to {extracted} is incomplete: missing {', '.join(missing)}; "
            f"delete it and retry, or {_CIFAR_HINT}"
        )
    return batches


# --------------------------------------------------------------------------- raw arrays


@functools.lru_cache(maxsize=2)
def _read_raw(name: str, directory: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 images and int32 labels of the official train and test sets."""
    if name == "fashion_mnist":
        paths, missing = _fashion_paths(directory)
        if missing:  # files removed since they were located
            raise DataError(f"Fashion-MNIST not found in {directory}: missing {missing}")
        parts = []
        for split in ("train", "t10k"):
            ipath = paths[f"{split}-images-idx3-ubyte"]
            lpath = paths[f"{split}-labels-idx1-ubyte"]
            x = read_idx(ipath, _IDX_IMAGES)
            if x.shape[1:] != INPUT_SHAPES[name][:2]:
                rows, cols = INPUT_SHAPES[name][:2]
                raise DataError(
                    f"{ipath}: images are {x.shape[1]}x{x.shape[2]}, Fashion-MNIST's are "
                    f"{rows}x{cols}; {_DEBIAN_HINT}"
                )
            y = read_idx(lpath, _IDX_LABELS)
            if len(x) != len(y):
                raise DataError(
                    f"{lpath}: {len(y)} labels but {os.path.basename(ipath)} has {len(x)} "
                    f"images; {_DEBIAN_HINT}"
                )
            if len(y) and y.max() >= _NUM_CLASSES:
                raise DataError(f"{lpath}: label {int(y.max())} out of range 0..9; {_DEBIAN_HINT}")
            parts += [x[..., np.newaxis], y.astype(np.int32)]
        if len(parts[0]) == 0:
            raise DataError(f"{paths['train-images-idx3-ubyte']}: contains no images")
        return parts[0], parts[1], parts[2], parts[3]
    xs, ys = zip(*(read_cifar_batch(os.path.join(directory, f)) for f in _CIFAR_TRAIN), strict=True)
    x_test, y_test = read_cifar_batch(os.path.join(directory, _CIFAR_TEST))
    return np.concatenate(xs), np.concatenate(ys), x_test, y_test


# --------------------------------------------------------------------------- splitting


def _stratified_split(
    y: np.ndarray, denominator: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): per class, a random ``1/denominator`` share goes to val.

    The share is rounded to nearest, with at least one example per class when the class
    has two or more. Indices are returned sorted (the original order).
    """
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = len(idx)
        k = (2 * n + denominator) // (2 * denominator)  # round half up of n / denominator
        if n >= 2:
            k = min(max(k, 1), n - 1)
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _stratified_subset(
    y: np.ndarray, n: int, rng: np.random.Generator, min_per_class: int = 0
) -> np.ndarray:
    """Sorted indices of ``n`` examples, allocated to classes by largest remainder."""
    if n >= len(y):
        return np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * n / len(y)
    take = np.floor(quota).astype(np.int64)
    floor_ = np.minimum(counts, min_per_class)
    take = np.maximum(take, floor_)
    left = n - int(take.sum())
    if left > 0:
        order = np.argsort(-(quota - np.floor(quota)), kind="stable")
        for i in order:
            if left == 0:
                break
            if take[i] < counts[i]:
                take[i] += 1
                left -= 1
    chosen = [
        rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def _to_float(x: np.ndarray) -> np.ndarray:
    out = x.astype(np.float32)
    out /= 255.0
    out.setflags(write=False)
    return out


def _readonly(y: np.ndarray) -> np.ndarray:
    y = np.ascontiguousarray(y, dtype=np.int32)
    y.setflags(write=False)
    return y


# --------------------------------------------------------------------------- public entry


def load_splits(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    split_seed: int = 0,
    train_subset: int | None = None,
) -> Splits:
    """Load ``name`` ("fashion_mnist" or "cifar10") split into train / validation / test.

    The directory is ``data_dir``, else ``$SEARCH_DATA_DIR``, else the standard locations
    (``/usr/share/datasets/fashion-mnist``, ``~/.keras/datasets/...``), else a Keras
    download; an explicitly chosen directory is never fallen back from.

    Validation is a seeded (``split_seed``), stratified share of the official training set:
    1/6 for Fashion-MNIST (50k/10k) and 1/10 for CIFAR-10 (45k/5k), at least one example per
    class when possible. The official test set is untouched.

    ``train_subset=N`` then keeps a stratified, seeded subset of N training examples and
    shrinks validation proportionally to keep the train:val ratio (Fashion-MNIST:
    2000 train -> 400 val; CIFAR-10: 2000 -> 222), keeping at least one validation example
    per class. N at or above the training size keeps everything; N <= 0 is a DataError.

    Loaded once per process: memoized on (name, resolved dir, split_seed, train_subset), so
    all trials share the same (read-only) arrays.
    """
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}: choose fashion_mnist or cifar10")
    if train_subset is not None:
        if isinstance(train_subset, bool) or not isinstance(train_subset, (int, np.integer)):
            raise DataError(f"train_subset must be a positive integer, got {train_subset!r}")
        if train_subset <= 0:
            raise DataError(f"train_subset must be a positive integer, got {train_subset}")
        train_subset = int(train_subset)
    located = _locate_fashion(data_dir) if name == "fashion_mnist" else _locate_cifar(data_dir)
    return _load_cached(name, os.path.realpath(located), int(split_seed), train_subset)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, directory: str, split_seed: int, train_subset: int | None) -> Splits:
    x_all, y_all, x_test, y_test = _read_raw(name, directory)
    rng = np.random.default_rng(split_seed)
    train_idx, val_idx = _stratified_split(y_all, _VAL_DENOMINATOR[name], rng)
    if train_subset is not None and train_subset > len(train_idx):
        raise DataError(f"train_subset {train_subset:,} exceeds the {len(train_idx):,} training "
                        f"images {name} has after its validation split")
    if train_subset is not None and train_subset < len(train_idx):
        sub_rng = np.random.default_rng([split_seed, 1])
        n_val = round(train_subset * len(val_idx) / len(train_idx))
        n_classes = len(np.unique(y_all[val_idx]))
        train_idx = train_idx[_stratified_subset(y_all[train_idx], train_subset, sub_rng)]
        n_val = min(max(n_val, n_classes), len(val_idx))
        val_idx = val_idx[_stratified_subset(y_all[val_idx], n_val, sub_rng, min_per_class=1)]
    return Splits(
        name=name,
        x_train=_to_float(x_all[train_idx]),
        y_train=_readonly(y_all[train_idx]),
        x_val=_to_float(x_all[val_idx]),
        y_val=_readonly(y_all[val_idx]),
        x_test=_to_float(x_test),
        y_test=_readonly(y_test),
        source=directory,
    )
