"""The user's own data as a NumPy archive: ``--dataset npz:PATH``.

The archive (``numpy.savez`` or ``savez_compressed``) holds ``x_train``, ``y_train``,
``x_test`` and ``y_test``: images ``(n, H, W)`` or ``(n, H, W, C)``, uint8 (0..255) or
float (0..1), and integer labels 0..classes-1, the class count being y_train's largest
label + 1. Every array's header is checked (shapes agree, the size cap) before its data is
read, and an array is read no further than its header says, so a compressed archive that
expands to gigabytes is refused without filling memory. Pickled objects are never loaded.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterator

import numpy as np

from search.datasets import _user
from search.datasets._base import DataError, Raw, Source, check_cap
from search.datasets._registry import register_source

PREFIX = "npz"
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


@contextlib.contextmanager
def _archive(path: str) -> Iterator[zipfile.ZipFile]:
    """The archive open, every failure to read it (here or in the block) a DataError."""
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (npz:PATH names a NumPy .npz file)") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
        raise DataError(f"{path}: not a readable .npz archive ({e}); write it with "
                        "numpy.savez") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _member(archive: zipfile.ZipFile, path: str, key: str) -> str:
    name = f"{key}.npy"
    if name not in archive.namelist():
        raise DataError(f"{path}: no array {key} (it holds "
                        f"{', '.join(n.removesuffix('.npy') for n in archive.namelist())}; "
                        f"expected {', '.join(_user.SPLITS)})")
    return name


def _header(archive: zipfile.ZipFile, path: str, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of array ``key``, from its header alone."""
    with archive.open(_member(archive, path, key)) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version not in _HEADER_READERS:
                raise ValueError(f"format version {version}")
            shape, _, dtype = _HEADER_READERS[version](f)
        except ValueError as e:
            raise DataError(f"{path}: {key} is not a readable .npy array ({e})") from None
    if dtype.hasobject:
        raise DataError(f"{path}: {key} holds Python objects, which are never unpickled; "
                        "store numbers")
    return shape, dtype


def _array(archive: zipfile.ZipFile, path: str, key: str) -> np.ndarray:
    with archive.open(_member(archive, path, key)) as f:
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except ValueError as e:  # data shorter than its header says
            raise DataError(f"{path}: {key} is truncated or corrupted ({e})") from None


def _checked(archive: zipfile.ZipFile, path: str) -> None:
    """The four arrays' headers agree and their images are within the size cap."""
    layout = {k: _header(archive, path, k) for k in _user.SPLITS}
    check_cap(path, *_user.check_layout(path, layout))


def read(path: str) -> Raw:
    """The archive's four arrays, validated (headers, then values)."""
    with _archive(path) as archive:
        _checked(archive, path)
        arrays = {k: _array(archive, path, k) for k in _user.SPLITS}
    return _user.raw(path, arrays)


def train_counts(path: str) -> np.ndarray:
    """Training images per class, from the headers and y_train alone."""
    with _archive(path) as archive:
        _checked(archive, path)
        y = _array(archive, path, "y_train").reshape(-1)
    if y.min() < 0 or y.max() >= len(y):
        raise DataError(f"{path}: y_train does not hold labels 0, 1, 2, ...")
    return np.bincount(y.astype(np.int64))


register_source(Source(PREFIX, read, train_counts))
