"""What a dataset is: its declaration, the arrays it reads, its errors and its size caps."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from search.environment import positive_number

# No built-in dataset file is read (decompressed) past this size: a real Fashion-MNIST file
# is at most 47 MB and a CIFAR-10 batch 31 MB, while a corrupted or hostile 1 MB ``.gz``
# file can expand to gigabytes.
MAX_FILE_BYTES = 1 << 30

# The user's own data (npz:, folder:) is refused when its images, as the float32 arrays a
# study holds, would take more than this (Fashion-MNIST: 0.22 GB, CIFAR-10: 0.74 GB). It is
# checked on the headers, before the pixels are read; raise it for a larger machine.
MAX_DATA_ENV = "SEARCH_MAX_DATA_GB"
MAX_DATA_GB_DEFAULT = 4.0


DataDir = str | os.PathLike[str] | None  # a built-in dataset's folder, chosen by the user


class DataError(Exception):
    """A dataset is missing, truncated, corrupted or malformed.

    ``str(e)`` is a one-line message for the user naming the file and how to get it right.
    """


class UnknownDatasetError(DataError):
    """A dataset name that is neither registered nor a ``PREFIX:PATH`` of a known source."""


@dataclass(frozen=True, eq=False)
class Raw:
    """A dataset's official train and test sets as read, before any split.

    Images are ``(n, H, W, C)``, uint8 in ``0..255`` or float32 in ``[0, 1]``; labels are
    int32 in ``0..num_classes - 1``. ``source`` is the resolved file or folder read.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    source: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        h, w, c = self.x_train.shape[1:]
        return int(h), int(w), int(c)


@dataclass(frozen=True)
class Dataset:
    """One registered dataset: what a study needs to know before reading it.

    ``train_images`` is the full training set after the validation split (what one epoch
    trains on without ``train_subset``); validation is a stratified ``1/val_denominator``
    of the official training set. ``load(data_dir)`` returns the validated arrays;
    ``labels`` names the classes 0, 1, ... (empty: they are shown as their numbers).
    """

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    train_images: int
    val_denominator: int
    load: Callable[[DataDir], Raw] = field(compare=False, repr=False)
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A kind of the user's own data, named ``PREFIX:PATH`` (``npz:``, ``folder:``).

    ``read(path)`` returns validated arrays; ``train_counts(path)`` the training examples
    per class without reading the images (for commands that only describe a study).
    """

    prefix: str
    read: Callable[[str], Raw]
    train_counts: Callable[[str], np.ndarray]
    val_denominator: int = 10


def max_data_bytes() -> int:
    """The most bytes the user's own images may take as float32 (``SEARCH_MAX_DATA_GB``)."""
    return int(positive_number(MAX_DATA_ENV, MAX_DATA_GB_DEFAULT, DataError) * 1e9)


def shape_text(shape: tuple[int, ...]) -> str:
    """``(12, 12, 1)`` as ``12x12x1``."""
    return "x".join(map(str, shape))


def check_cap(path: str, images: int, shape: tuple[int, ...]) -> None:
    """Refuse ``images`` images of ``shape`` whose float32 arrays exceed the cap."""
    need = images * math.prod(shape) * 4  # Python ints: no overflow
    cap = max_data_bytes()
    if need > cap:
        raise DataError(f"{path}: {images:,} images of {shape_text(shape)} take "
                        f"{need / 1e9:,.3g} GB as float32, more than {cap / 1e9:g} GB "
                        f"(raise {MAX_DATA_ENV} to allow it)")
