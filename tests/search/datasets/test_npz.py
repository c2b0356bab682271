"""``npz:PATH``: the user's NumPy archive, validated from its headers, then its values."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from search import datasets
from search.datasets import DataError
from tests.search.datasets.make import arrays, npz


def test_grey_uint8_images_load_with_their_shape_and_classes(tmp_path: Path) -> None:
    path = npz(tmp_path / "d.npz")
    d = datasets.get(f"npz:{path}")
    assert (d.input_shape, d.num_classes, d.train_images) == ((12, 12, 1), 3, 9)
    raw = d.load(None)
    assert raw.x_train.dtype == np.uint8 and raw.x_train.shape == (12, 12, 12, 1)
    assert np.array_equal(raw.x_train[..., 0], arrays()["x_train"])
    assert raw.y_train.dtype == np.int32 and raw.num_classes == 3


def test_float_colour_images_and_column_labels_load(tmp_path: Path) -> None:
    a = arrays(classes=5, per_class=2, size=7, channels=3)
    path = npz(tmp_path / "d.npz", x_train=a["x_train"] / 255.0, x_test=a["x_test"] / 255.0,
               y_train=a["y_train"].reshape(-1, 1), y_test=a["y_test"].astype(np.uint8))
    d = datasets.get(f"npz:{path}")
    assert (d.input_shape, d.num_classes) == ((7, 7, 3), 5)
    raw = d.load(None)
    assert raw.x_train.dtype == np.float32
    assert np.allclose(raw.x_train * 255, a["x_train"], atol=1e-3)
    assert raw.y_train.shape == (10,)


def test_a_compressed_archive_loads_and_train_images_reads_only_labels(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    np.savez_compressed(path, **arrays())
    assert datasets.train_images(f"npz:{path}") == 9 == datasets.get(f"npz:{path}").train_images
    assert datasets.train_images(f"npz:{tmp_path / 'gone.npz'}") is None  # made elsewhere


def _truncated(path: Path) -> Path:
    """An archive whose x_test header declares more images than its data holds."""
    a = arrays()
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, a["x_test"])
    data = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for key in ("x_train", "y_train", "y_test"):
            with z.open(f"{key}.npy", "w") as f:
                np.lib.format.write_array(f, a[key])
        z.writestr("x_test.npy", data[:-50])
    return path


BAD = {
    "test images of another size": (
        lambda t: npz(t / "d.npz", x_test=np.zeros((6, 10, 10), np.uint8)),
        "x_train images are 12x12x1 but x_test images are 10x10x1"),
    "a test label beyond the training labels": (
        lambda t: npz(t / "d.npz", y_test=np.array([0, 1, 2, 7, 0, 1])),
        "y_test holds label 7, out of range 0..2 (the class count is y_train's largest "
        "label + 1 = 3)"),
    "a negative label": (lambda t: npz(t / "d.npz", y_train=np.arange(12) % 3 - 1),
                         "y_train holds label -1"),
    "a label far beyond the images": (
        lambda t: npz(t / "d.npz", y_train=np.array([0, 1] * 5 + [0, 10**12])),
        "y_train holds label 1000000000000 but only 12 training images"),
    "one class": (lambda t: npz(t / "d.npz", y_train=np.zeros(12, int),
                                y_test=np.zeros(6, int)), "y_train holds one class"),
    "too few labels": (lambda t: npz(t / "d.npz", y_train=np.arange(11) % 3),
                       "y_train has 11 labels but x_train has 12 images"),
    "float labels": (lambda t: npz(t / "d.npz", y_train=np.arange(12) % 3 + 0.0),
                     "y_train holds float64, expected integer class labels"),
    "images as a flat table": (lambda t: npz(t / "d.npz", x_train=np.zeros((12, 144), np.uint8)),
                               "x_train has shape (12, 144), expected (n, H, W) or (n, H, W, C)"),
    "int64 images": (lambda t: npz(t / "d.npz", x_train=np.zeros((12, 12, 12), np.int64)),
                     "x_train holds int64, expected uint8 (0..255) or float (0..1) images"),
    "floats outside [0, 1]": (lambda t: npz(t / "d.npz", x_test=np.full((6, 12, 12), 255.0)),
                              "x_test holds floats outside [0, 1]"),
    "NaN pixels": (lambda t: npz(t / "d.npz", x_test=np.full((6, 12, 12), np.nan)),
                   "x_test holds floats outside [0, 1] (or NaN)"),
    "no array x_test": (lambda t: (np.savez(t / "d.npz", **{k: v for k, v in arrays().items()
                                                             if k != "x_test"}), t / "d.npz")[1],
                        "no array x_test (it holds x_train, y_train, y_test; expected"),
    "pickled objects": (lambda t: npz(t / "d.npz", y_test=np.array([0, 1, None], object)),
                        "y_test holds Python objects, which are never unpickled"),
    "not an npz": (lambda t: (t / "d.npz").write_text("x,y\n1,2\n") and t / "d.npz",
                   "not a readable .npz archive"),
    "a folder": (lambda t: t, "cannot read"),
    "missing": (lambda t: t / "none.npz", "none.npz: file not found"),
    "truncated data": (lambda t: _truncated(t / "d.npz"), "x_test is truncated or corrupted"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_archives_are_one_line(tmp_path: Path, case: str) -> None:
    make, message = BAD[case]
    path = make(tmp_path)
    with pytest.raises(DataError) as err:
        datasets.get(f"npz:{path}")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_cap_is_checked_on_headers_before_any_pixel_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.npz"
    big = np.zeros((2000, 100, 100, 3), np.uint8)  # 60 MB of zeros, a 60 kB file
    np.savez_compressed(path, x_train=big, y_train=np.arange(2000) % 2, x_test=big[:1],
                        y_test=np.zeros(1, int))
    monkeypatch.setenv("SEARCH_MAX_DATA_GB", "0.1")
    with pytest.raises(DataError, match=r"2,001 images of 100x100x3 take 0.24 GB as float32, "
                                        r"more than 0.1 GB \(raise SEARCH_MAX_DATA_GB"):
        datasets.get(f"npz:{path}")
    monkeypatch.setenv("SEARCH_MAX_DATA_GB", "-1")
    with pytest.raises(DataError, match="SEARCH_MAX_DATA_GB must be a positive number, got '-1'"):
        datasets.get(f"npz:{path}")
