"""Datasets by name: the registered ones, and the user's own data as ``PREFIX:PATH``."""

from __future__ import annotations

import functools
import os

import numpy as np

from search.datasets._base import DataError, Dataset, Raw, Source, UnknownDatasetError
from search.datasets.split import train_count

DATASETS: dict[str, Dataset] = {}
_SOURCES: dict[str, Source] = {}


def register(dataset: Dataset) -> Dataset:
    """Make ``dataset`` known by its name (a second registration of a name is a bug)."""
    if dataset.name in DATASETS or ":" in dataset.name:
        raise ValueError(f"dataset name {dataset.name!r} is taken or holds ':'")
    DATASETS[dataset.name] = dataset
    return dataset


def register_source(source: Source) -> Source:
    """Make ``PREFIX:PATH`` names read the user's data with ``source``."""
    if source.prefix in _SOURCES:
        raise ValueError(f"data source {source.prefix!r} is registered twice")
    _SOURCES[source.prefix] = source
    return source


def names() -> tuple[str, ...]:
    """The registered datasets, in registration order."""
    return tuple(DATASETS)


def choices() -> str:
    """What ``--dataset`` accepts, for help and error messages."""
    return ", ".join([*DATASETS, *(f"{p}:PATH" for p in _SOURCES)])


def _source(name: str) -> tuple[Source, str]:
    """The source and the path of a ``PREFIX:PATH`` name, or UnknownDatasetError."""
    prefix, sep, path = name.partition(":")
    if not sep or prefix not in _SOURCES:
        raise UnknownDatasetError(f"unknown dataset {name!r}: choose one of {choices()}")
    if not path:
        raise UnknownDatasetError(f"dataset {name!r} names no path: write {prefix}:PATH")
    return _SOURCES[prefix], os.path.realpath(os.path.expanduser(path))


@functools.lru_cache(maxsize=4)
def _read(prefix: str, path: str) -> Raw:
    """The user's data, read and validated once per process (all trials share it)."""
    return _SOURCES[prefix].read(path)


def get(name: str) -> Dataset:
    """The dataset called ``name``: a registered one, or the user's data at ``PREFIX:PATH``.

    A registered dataset is its declaration (no file is read); the user's data is read and
    validated here, once per process, so a bad file is refused before a study is touched.
    Raises UnknownDatasetError for a name that is neither, DataError for unusable data.
    """
    if name in DATASETS:
        return DATASETS[name]
    source, path = _source(name)
    raw = _read(source.prefix, path)
    counts = np.bincount(raw.y_train, minlength=raw.num_classes)
    return Dataset(name=name, input_shape=raw.input_shape, num_classes=raw.num_classes,
                   train_images=train_count(counts, source.val_denominator),
                   val_denominator=source.val_denominator, load=lambda _data_dir: raw)


def train_images(name: str) -> int | None:
    """Training images per epoch of the full training split, None if unknown.

    Reads no image: a registered dataset's declaration, or the label counts of the user's
    data; None when the name is unknown or the data cannot be read here (a study made on
    another machine).
    """
    if name in DATASETS:
        return DATASETS[name].train_images
    try:
        source, path = _source(name)
        return train_count(source.train_counts(path), source.val_denominator)
    except DataError:
        return None


def labels(name: str, classes: int) -> tuple[str, ...]:
    """The names of classes 0 .. ``classes`` - 1: a registered dataset's, else the
    numbers (reads no file)."""
    declared = DATASETS[name].labels if name in DATASETS else ()
    return declared if len(declared) == classes else tuple(str(k) for k in range(classes))
