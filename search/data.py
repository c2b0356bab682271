"""A dataset split three ways: train to fit, validation to select, test only to report.

Every trial of a study picks its hyperparameters (width, depth, learning rate, ...) by its
score on the **validation** split, which is carved out of the official training set with a
seeded, stratified split. The official **test** split is never used for selection: it is
only evaluated for reporting, so the reported accuracy is an unbiased estimate of the chosen
model and not one that was tuned against the very data it is reported on.

What a dataset is and how its files are read and validated is :mod:`search.datasets`.
Loaded splits are memoized per process, so all trials of a study share the same arrays
(they are marked read-only to keep one trial from changing another's data).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from search import datasets, validation
from search.datasets import DataError, Raw
from search.datasets.split import stratified_split, stratified_subset

__all__ = ["DataError", "Splits", "load_splits"]


@dataclass(frozen=True, eq=False, repr=False)
class Splits:
    """Train/validation/test arrays of one dataset.

    Images are float32 ``(n, H, W, C)`` in ``[0, 1]``; labels are int32
    ``0..num_classes - 1``. Validation is for model selection, test only for reporting.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(H, W, C)``."""
        h, w, c = self.x_train.shape[1:]
        return int(h), int(w), int(c)

    def __repr__(self) -> str:
        return (
            f"Splits(name={self.name!r}, train={len(self.y_train)}, val={len(self.y_val)}, "
            f"test={len(self.y_test)}, input_shape={self.input_shape}, "
            f"classes={self.num_classes}, source={self.source!r})"
        )


def _to_float(x: np.ndarray) -> np.ndarray:
    out = x.astype(np.float32)
    if x.dtype == np.uint8:
        out /= 255.0
    out.setflags(write=False)
    return out


def _readonly(y: np.ndarray) -> np.ndarray:
    y = np.ascontiguousarray(y, dtype=np.int32)
    y.setflags(write=False)
    return y


def load_splits(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    split_seed: int = 0,
    train_subset: int | None = None,
) -> Splits:
    """Load dataset ``name`` (see :func:`search.datasets.get`) split three ways.

    A built-in dataset's folder is ``data_dir``, else ``$SEARCH_DATA_DIR``, else its
    standard locations, else a Keras download; the user's own data (``npz:PATH``,
    ``folder:PATH``) names its place itself.

    Validation is a seeded (``split_seed``), stratified share of the official training set,
    the dataset's ``1/val_denominator``: 1/6 for Fashion-MNIST (50k/10k), 1/10 for CIFAR-10
    (45k/5k) and the user's data, at least one example per class when possible. The
    official test set is untouched.

    ``train_subset=N`` then keeps a stratified, seeded subset of N training examples and
    shrinks validation proportionally to keep the train:val ratio (Fashion-MNIST:
    2000 train -> 400 val; CIFAR-10: 2000 -> 222), keeping at least one validation example
    per class. N above the training size or N <= 0 is a DataError.

    Loaded once per process: memoized on (dataset, its files, split_seed, train_subset), so
    all trials share the same (read-only) arrays.
    """
    dataset = datasets.get(name)
    if train_subset is not None:
        train_subset = validation.positive_int("train_subset", train_subset, DataError)
    raw = dataset.load(data_dir)
    return _load_cached(name, dataset.val_denominator, raw, int(split_seed), train_subset)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, denominator: int, raw: Raw, split_seed: int,
                 train_subset: int | None) -> Splits:
    y_all = raw.y_train
    rng = np.random.default_rng(split_seed)
    train_idx, val_idx = stratified_split(y_all, denominator, rng)
    if train_subset is not None and train_subset > len(train_idx):
        raise DataError(f"train_subset {train_subset:,} exceeds the {len(train_idx):,} training "
                        f"images {name} has after its validation split")
    if train_subset is not None and train_subset < len(train_idx):
        sub_rng = np.random.default_rng([split_seed, 1])
        n_val = round(train_subset * len(val_idx) / len(train_idx))
        n_classes = len(np.unique(y_all[val_idx]))
        train_idx = train_idx[stratified_subset(y_all[train_idx], train_subset, sub_rng)]
        n_val = min(max(n_val, n_classes), len(val_idx))
        val_idx = val_idx[stratified_subset(y_all[val_idx], n_val, sub_rng, min_per_class=1)]
    return Splits(
        name=name,
        x_train=_to_float(raw.x_train[train_idx]),
        y_train=_readonly(y_all[train_idx]),
        x_val=_to_float(raw.x_train[val_idx]),
        y_val=_readonly(y_all[val_idx]),
        x_test=_to_float(raw.x_test),
        y_test=_readonly(raw.y_test),
        source=raw.source,
        num_classes=raw.num_classes,
    )
