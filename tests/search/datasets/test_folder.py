"""``folder:PATH``: one sub-folder per class, PNG or JPEG images of one size."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from search import datasets
from search.datasets import DataError
from tests.search.datasets.make import folder, png


def test_a_grey_png_folder_loads_with_its_classes_in_name_order(tmp_path: Path) -> None:
    root = folder(tmp_path / "f")
    (root / "train" / "cat" / ".DS_Store").write_bytes(b"\0")  # hidden files are skipped
    d = datasets.get(f"folder:{root}")
    assert (d.input_shape, d.num_classes, d.train_images) == ((12, 12, 1), 3, 9)
    raw = d.load(None)
    assert raw.x_train.dtype == np.uint8 and raw.x_train.shape == (12, 12, 12, 1)
    # cat, dog, owl -> labels 0, 1, 2; image i of class c has brightness 100 c + i
    assert raw.y_train.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert raw.x_train[:, 0, 0, 0].tolist() == [100 * c + i for c in range(3) for i in range(4)]
    assert raw.y_test.tolist() == [0, 1, 2]
    assert datasets.train_images(f"folder:{root}") == 9


def test_colour_jpegs_load(tmp_path: Path) -> None:
    import tensorflow as tf

    for split, n in (("train", 3), ("test", 1)):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = np.full((6, 9, 3), (200, 50, 10) if name == "a" else (10, 50, 200),
                                 np.uint8)
                data = tf.io.encode_jpeg(pixels, quality=100).numpy()
                (tmp_path / split / name / f"{i}.jpg").write_bytes(data)
    raw = datasets.get(f"folder:{tmp_path}").load(None)
    assert raw.x_train.shape == (6, 6, 9, 3) and raw.num_classes == 2
    assert abs(int(raw.x_train[0, 3, 4, 0]) - 200) <= 3  # red stays red: channel order kept


def test_one_colour_image_makes_them_all_rgb(tmp_path: Path) -> None:
    root = folder(tmp_path / "f")
    red = np.zeros((12, 12, 3), np.uint8)
    red[..., 0] = 255
    (root / "test" / "owl" / "0.png").write_bytes(png(red))
    raw = datasets.get(f"folder:{root}").load(None)
    assert raw.x_train.shape == (12, 12, 12, 3) and raw.x_test.shape == (3, 12, 12, 3)
    assert raw.x_train[5, 0, 0].tolist() == [101] * 3  # grey 101 (dog, image 1) as RGB
    assert raw.x_test[2, 0, 0].tolist() == [255, 0, 0]


def _move(root: Path, relative: str, to: str) -> None:
    shutil.move(root / relative, root / to)


BAD = {
    "no train/": (lambda r: shutil.rmtree(r / "train"), "no train/ folder; folder:PATH holds"),
    "no test/": (lambda r: shutil.rmtree(r / "test"), "no test/ folder"),
    "mixed image sizes": (
        lambda r: (r / "train" / "dog" / "1.png").write_bytes(png(np.zeros((12, 10), np.uint8))),
        "images differ in size: "),
    "an image of 0x0 pixels": (
        lambda r: (r / "test" / "owl" / "0.png").write_bytes(
            (p := png(np.zeros((12, 12), np.uint8)))[:16] + bytes(8) + p[24:]),
        "test/owl/0.png: an image of 0x0 pixels"),
    "a file beside the class folders": (lambda r: (r / "train" / "notes.txt").write_text("x"),
                                        "holds the file notes.txt, not one sub-folder per class"),
    "a test class train/ lacks": (lambda r: _move(r, "train/owl", "owl"),
                                  "test/owl: class 'owl' is not in train/"),
    "an empty class": (lambda r: shutil.rmtree(r / "train" / "dog") or
                       (r / "train" / "dog").mkdir(), "train/dog: holds no image"),
    "no test image": (lambda r: [p.unlink() for p in (r / "test").rglob("*.png")],
                      "test/ holds no image"),
    "not an image": (lambda r: (r / "train" / "dog" / "2.png").write_text("hello"),
                     "train/dog/2.png: not a PNG or JPEG image"),
    "a corrupted png": (lambda r: (r / "train" / "dog" / "2.png").write_bytes(
        (r / "train" / "dog" / "2.png").read_bytes()[:40]), "a corrupted image"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_folders_are_one_line(tmp_path: Path, case: str) -> None:
    root = folder(tmp_path / "f")
    spoil, message = BAD[case]
    spoil(root)
    with pytest.raises(DataError) as err:
        datasets.get(f"folder:{root}")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_an_image_whose_header_claims_a_huge_size_is_refused_before_decoding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = folder(tmp_path / "f", per_class=2)
    monkeypatch.setenv("SEARCH_MAX_DATA_GB", "1")
    header = bytearray(png(np.zeros((12, 12), np.uint8)))
    for path in root.rglob("*.png"):  # every image claims 100,000 x 100,000 pixels
        header[16:24] = (100_000).to_bytes(4, "big") * 2
        path.write_bytes(bytes(header))
    with pytest.raises(DataError, match=r"9 images of 100000x100000x1 take 360 GB as float32, "
                                        r"more than 1 GB"):
        datasets.get(f"folder:{root}")
