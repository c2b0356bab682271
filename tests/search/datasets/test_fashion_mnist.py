"""Fashion-MNIST's IDX files: every kind of damage is one DataError line, before a study."""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from search.data import load_splits
from search.datasets import DataError, _files, fashion_mnist
from search.datasets.fashion_mnist import read_idx
from tests.search.datasets.make import fashion, idx_bytes, write


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_images(tmp_path: Path, gz: bool) -> None:
    files = fashion(tmp_path, gz=gz)
    path = files["train-images"]
    content = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    write(tmp_path / "train-images-idx3-ubyte", content[:-100], gz)
    expected = 16 + 120 * 28 * 28
    with pytest.raises(DataError) as err:
        load_splits("fashion_mnist", data_dir=str(tmp_path))
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg
    assert f"truncated (expected {expected} bytes, got {expected - 100})" in msg
    assert "\n" not in msg


def test_wrong_magic(tmp_path: Path) -> None:
    fashion(tmp_path, gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    content = bytearray(path.read_bytes())
    content[0:4] = struct.pack(">I", 0x00000802)
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: not a valid IDX file \(magic"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_images_and_labels_swapped(tmp_path: Path) -> None:
    files = fashion(tmp_path, gz=False)
    labels = files["t10k-labels"].read_bytes()
    files["t10k-labels"].write_bytes(files["t10k-images"].read_bytes())
    files["t10k-images"].write_bytes(labels)
    with pytest.raises(DataError, match=r"t10k-.*not a valid IDX file"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_corrupted_gzip(tmp_path: Path) -> None:
    files = fashion(tmp_path)
    path = files["t10k-images"]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: corrupted gzip"):
        load_splits("fashion_mnist", data_dir=tmp_path)
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: corrupted gzip"):
        read_idx(path)
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8)))[:-10])
    with pytest.raises(DataError, match="corrupted gzip"):
        read_idx(path)


def test_label_count_mismatch(tmp_path: Path) -> None:
    fashion(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.arange(29, dtype=np.uint8) % 10), True)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: 29 labels but .* 30 images"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_label_out_of_range(tmp_path: Path) -> None:
    fashion(tmp_path)
    labels = np.arange(120, dtype=np.uint8) % 10
    labels[7] = 12
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels), True)
    with pytest.raises(DataError, match=r"label 12 out of range 0\.\.9"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_missing_file_in_explicit_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = fashion(tmp_path)
    files["train-labels"].unlink()
    with pytest.raises(DataError) as err:
        load_splits("fashion_mnist", data_dir=tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and "train-labels-idx1-ubyte.gz" in msg
    assert "dataset-fashion-mnist" in msg
    missing = tmp_path / "nope"
    monkeypatch.setenv("SEARCH_DATA_DIR", str(missing))
    with pytest.raises(
        DataError, match=re.escape(str(missing)) + r".*SEARCH_DATA_DIR.*does not exist"
    ):
        load_splits("fashion_mnist")


def test_not_found_anywhere_download_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = [str(tmp_path / "a"), str(tmp_path / "b")]
    monkeypatch.setattr(fashion_mnist, "default_dirs", lambda: empty)
    with pytest.raises(DataError) as err:
        load_splits("fashion_mnist")
    msg = str(err.value)
    assert f"not found in {empty[0]}, {empty[1]} and download failed (no network?" in msg
    assert msg.endswith("install the Debian package dataset-fashion-mnist or pass --data-dir")


def test_real_size_wrong_checksum(tmp_path: Path) -> None:
    fashion(tmp_path)
    header = struct.pack(">IIII", 0x00000803, 60000, 28, 28)
    content = header + bytes(60000 * 28 * 28)
    assert len(content) == 47040016
    write(tmp_path / "train-images-idx3-ubyte", content, True)
    with pytest.raises(DataError) as err:
        load_splits("fashion_mnist", data_dir=tmp_path)
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz: checksum mismatch" in msg
    assert "re-install dataset-fashion-mnist or delete the file" in msg


def test_trailing_data(tmp_path: Path) -> None:
    path = tmp_path / "x-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(5, dtype=np.uint8)) + b"\0")
    with pytest.raises(DataError, match="trailing data"):
        read_idx(path)


def test_read_idx_shapes(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / "imgs", idx_bytes(images), True)
    got = read_idx(path)
    assert got.dtype == np.uint8 and np.array_equal(got, images)
    path = write(tmp_path / "labs", idx_bytes(np.array([3, 1, 4], np.uint8)), False)
    assert np.array_equal(read_idx(str(path)), [3, 1, 4])


@pytest.mark.parametrize(("split", "shape"), [("t10k", (27, 29)), ("train", (2, 2))])
def test_images_of_the_wrong_size_are_refused_at_load(tmp_path: Path, split: str,
                                                      shape: tuple) -> None:
    fashion(tmp_path)
    n = 120 if split == "train" else 30
    write(tmp_path / f"{split}-images-idx3-ubyte", idx_bytes(np.zeros((n, *shape), np.uint8)),
          True)
    with pytest.raises(DataError, match=f"{split}-images-idx3-ubyte.gz: images are "
                                        f"{shape[0]}x{shape[1]}, Fashion-MNIST's are 28x28"):
        load_splits("fashion_mnist", data_dir=tmp_path)


# --------------------------------------------------------------------------- unbounded input


def _bomb(path: Path, header: bytes, gigabytes: int) -> Path:
    """A few-MB ``.gz`` file that expands to ``header`` plus ``gigabytes`` GB of zeros
    (gzip members concatenated: each member compressed once, written many times)."""
    member = gzip.compress(bytes(100 << 20), compresslevel=9)  # 100 MB -> ~100 KB
    with path.open("wb") as f:
        f.write(gzip.compress(header))
        for _ in range(10 * gigabytes):
            f.write(member)
    return path


def test_a_gzip_bomb_is_read_no_further_than_its_header_says(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "train-images-idx3-ubyte.gz",
                 struct.pack(">IIII", 0x803, 100, 28, 28), gigabytes=3)
    assert path.stat().st_size < 10 << 20
    with pytest.raises(DataError, match=r"trailing data \(expected 78416 bytes, got more\)"):
        read_idx(path)


def test_a_bomb_without_an_idx_header_is_cut_at_the_limit(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "data_batch_1.bin.gz", b"", gigabytes=2)
    with pytest.raises(DataError, match="larger than 52,428,800 bytes"):
        _files.read_bytes(str(path), "hint", limit=50 << 20)


@pytest.mark.parametrize("dims", [(2**32 - 1, 2**32 - 1, 2**32 - 1), (60000, 28, 10**6)])
def test_a_header_declaring_too_much_is_refused_before_reading_on(tmp_path: Path,
                                                                  dims: tuple) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x803, *dims) + bytes(100))
    with pytest.raises(DataError, match=r"its header declares .* bytes\), more than the "
                                        r"1,073,741,824 a dataset file may hold") as err:
        read_idx(path)
    assert "\n" not in str(err.value)
