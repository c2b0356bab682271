"""Checks shared by the user's own data sources: four arrays that agree with each other."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from search.datasets._base import DataError, Raw, shape_text

SPLITS = ("x_train", "y_train", "x_test", "y_test")
Layout = Mapping[str, tuple[tuple[int, ...], np.dtype]]  # array name -> (shape, dtype)


def check_layout(path: str, layout: Layout) -> tuple[int, tuple[int, int, int]]:
    """Images in all and the ``(H, W, C)`` they share, from shapes and dtypes alone (an
    archive's headers, before any pixel is read): images ``(n, H, W)`` or ``(n, H, W, C)``
    of uint8 or float, one shape in both splits, one integer label per image."""
    shapes = {}
    for key in ("x_train", "x_test"):
        shape, dtype = layout[key]
        if len(shape) not in (3, 4) or 0 in shape:
            raise DataError(f"{path}: {key} has shape {shape}, expected (n, H, W) or "
                            "(n, H, W, C) with no zero length")
        if dtype != np.uint8 and dtype.kind != "f":
            raise DataError(f"{path}: {key} holds {dtype}, expected uint8 (0..255) or float "
                            "(0..1) images")
        shapes[key] = (*shape[1:3], shape[3] if len(shape) == 4 else 1)
    if shapes["x_train"] != shapes["x_test"]:
        raise DataError(f"{path}: x_train images are {shape_text(shapes['x_train'])} but x_test "
                        f"images are {shape_text(shapes['x_test'])}")
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        shape, dtype = layout[y]
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            raise DataError(f"{path}: {y} has shape {shape}, expected (n,) or (n, 1)")
        if dtype.kind not in "iu":
            raise DataError(f"{path}: {y} holds {dtype}, expected integer class labels")
        if shape[0] != layout[x][0][0]:
            raise DataError(f"{path}: {y} has {shape[0]:,} labels but {x} has "
                            f"{layout[x][0][0]:,} images")
    return layout["x_train"][0][0] + layout["x_test"][0][0], shapes["x_train"]


def _images(path: str, key: str, x: np.ndarray) -> np.ndarray:
    """``(n, H, W, C)``, uint8 as it is or float32 checked to lie in [0, 1]."""
    x = x if x.ndim == 4 else x[..., np.newaxis]
    if x.dtype == np.uint8:
        return x
    if not (np.isfinite(x).all() and 0 <= x.min() <= x.max() <= 1):
        raise DataError(f"{path}: {key} holds floats outside [0, 1] (or NaN); scale them to "
                        "[0, 1] or store uint8 0..255")
    return x.astype(np.float32)


def raw(path: str, arrays: Mapping[str, np.ndarray]) -> Raw:
    """Validated arrays (:func:`check_layout`, float images in [0, 1]), labels from 0 to
    the class count - 1, where the class count is y_train's largest label + 1."""
    check_layout(path, {k: (a.shape, a.dtype) for k, a in arrays.items()})
    y_train, y_test = arrays["y_train"].reshape(-1), arrays["y_test"].reshape(-1)
    for key, y in (("y_train", y_train), ("y_test", y_test)):
        if y.min() < 0:
            raise DataError(f"{path}: {key} holds label {int(y.min())}; labels are 0, 1, 2, "
                            "... (one per class)")
    classes = int(y_train.max()) + 1
    if classes > len(y_train):  # most classes would have no image: labels are not 0, 1, ...
        raise DataError(f"{path}: y_train holds label {classes - 1} but only {len(y_train):,} "
                        "training images; labels are 0, 1, 2, ... (one per class)")
    if classes < 2:
        raise DataError(f"{path}: y_train holds one class (label 0); a classifier needs two")
    if y_test.max() >= classes:
        raise DataError(f"{path}: y_test holds label {int(y_test.max())}, out of range "
                        f"0..{classes - 1} (the class count is y_train's largest label + 1 "
                        f"= {classes})")
    if np.bincount(y_train.astype(np.int64)).max() < 2:
        raise DataError(f"{path}: no class has two training images, so none can be held out "
                        "for validation")
    return Raw(_images(path, "x_train", arrays["x_train"]), y_train.astype(np.int32),
               _images(path, "x_test", arrays["x_test"]), y_test.astype(np.int32), classes,
               path)
