"""Tests for search.data: IDX / CIFAR readers, validation, splitting, memoization."""

from __future__ import annotations

import gzip
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from search import data
from search.data import DataError, Splits, load_splits, read_cifar_batch, read_idx

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"


# --------------------------------------------------------------------------- helpers


def idx_bytes(arr: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array (1-D labels or 3-D images)."""
    magic = 0x00000801 if arr.ndim == 1 else 0x00000803
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write(path: Path, content: bytes, gz: bool) -> Path:
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb", compresslevel=1) as f:
            f.write(content)
    else:
        path.write_bytes(content)
    return path


def make_fashion(
    directory: Path, n_train: int = 120, n_test: int = 30, gz: bool = True, seed: int = 0
) -> dict[str, Path]:
    """Small valid Fashion-MNIST-like set; labels cycle through all 10 classes."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = 0
        images[:, 0, 1] = 255
        labels = (np.arange(n) % 10).astype(np.uint8)
        out[f"{split}-images"] = write(
            directory / f"{split}-images-idx3-ubyte", idx_bytes(images), gz
        )
        out[f"{split}-labels"] = write(
            directory / f"{split}-labels-idx1-ubyte", idx_bytes(labels), gz
        )
    return out


def cifar_records(labels: list[int], seed: int = 0) -> tuple[bytes, np.ndarray]:
    """CIFAR binary records and the (n, 32, 32, 3) images they encode."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
    chunks = []
    for lab, img in zip(labels, images, strict=True):
        chunks.append(bytes([lab]))
        for ch in range(3):  # R plane, G plane, B plane, each row-major
            chunks.append(img[:, :, ch].tobytes())
    return b"".join(chunks), images


def make_cifar(directory: Path, per_batch: int = 20, n_test: int = 10) -> Path:
    batches = directory / "cifar-10-batches-bin"
    batches.mkdir(parents=True)
    for i in range(1, 6):
        raw, _ = cifar_records([j % 10 for j in range(per_batch)], seed=i)
        (batches / f"data_batch_{i}.bin").write_bytes(raw)
    raw, _ = cifar_records([j % 10 for j in range(n_test)], seed=99)
    (batches / "test_batch.bin").write_bytes(raw)
    return batches


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may reach the network or the user's real environment by accident."""
    monkeypatch.delenv("SEARCH_DATA_DIR", raising=False)

    def no_download(*args: object, **kwargs: object) -> str:
        raise OSError("network disabled in tests")

    monkeypatch.setattr(data, "_keras_download", no_download)


# --------------------------------------------------------------------------- Fashion-MNIST


@pytest.mark.parametrize("gz", [True, False])
def test_small_fashion_loads(tmp_path: Path, gz: bool) -> None:
    make_fashion(tmp_path, gz=gz)
    s = load_splits("fashion_mnist", data_dir=str(tmp_path))
    assert isinstance(s, Splits)
    assert s.name == "fashion_mnist"
    assert s.source == os.path.realpath(tmp_path)
    assert s.input_shape == (28, 28, 1)
    assert s.num_classes == 10
    # 12 per class, 1/6 -> 2 per class in validation
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (100, 20, 30)
    for x, y in ((s.x_train, s.y_train), (s.x_val, s.y_val), (s.x_test, s.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.shape[1:] == (28, 28, 1) and len(x) == len(y)
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert not x.flags.writeable
    assert s.x_train[:, 0, 0, 0].max() == 0.0 and s.x_train[:, 0, 1, 0].min() == 1.0
    assert np.array_equal(np.bincount(s.y_val, minlength=10), [2] * 10)
    assert np.array_equal(np.bincount(s.y_train, minlength=10), [10] * 10)
    assert np.array_equal(s.y_test, np.arange(30) % 10)  # test set untouched, in order


def _rows(x: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in x}


def test_split_is_partition_deterministic_and_seeded(tmp_path: Path) -> None:
    make_fashion(tmp_path)
    raw = read_idx(tmp_path / "train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    a = load_splits("fashion_mnist", data_dir=tmp_path, split_seed=0)
    b = load_splits("fashion_mnist", data_dir=tmp_path, split_seed=0)
    c = load_splits("fashion_mnist", data_dir=tmp_path, split_seed=1)
    assert a is b  # memoized: trials share arrays
    assert _rows(a.x_train).isdisjoint(_rows(a.x_val))
    assert _rows(a.x_train) | _rows(a.x_val) == _rows(raw[..., None])
    assert _rows(a.x_val) != _rows(c.x_val)
    # Same seed after clearing the cache gives the same split.
    data._load_cached.cache_clear()
    d = load_splits("fashion_mnist", data_dir=tmp_path, split_seed=0)
    assert d is not a
    assert np.array_equal(a.x_val, d.x_val) and np.array_equal(a.y_train, d.y_train)


def test_env_var_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_fashion(tmp_path, gz=False)
    monkeypatch.setenv("SEARCH_DATA_DIR", str(tmp_path))
    s = load_splits("fashion_mnist")
    assert s.source == os.path.realpath(tmp_path)


def test_train_subset(tmp_path: Path) -> None:
    make_fashion(tmp_path, n_train=600, n_test=10)
    full = load_splits("fashion_mnist", data_dir=tmp_path)
    assert (len(full.y_train), len(full.y_val)) == (500, 100)
    s = load_splits("fashion_mnist", data_dir=tmp_path, train_subset=200)
    assert (len(s.y_train), len(s.y_val)) == (200, 40)  # train:val stays 5:1
    assert np.array_equal(np.bincount(s.y_train, minlength=10), [20] * 10)
    assert np.array_equal(np.bincount(s.y_val, minlength=10), [4] * 10)
    assert _rows(s.x_train) <= _rows(full.x_train)
    assert _rows(s.x_val) <= _rows(full.x_val)
    assert len(s.y_test) == 10
    again = load_splits("fashion_mnist", data_dir=tmp_path, train_subset=200, split_seed=1)
    assert _rows(again.x_train) != _rows(s.x_train)
    whole = load_splits("fashion_mnist", data_dir=tmp_path, train_subset=500)
    assert (len(whole.y_train), len(whole.y_val)) == (500, 100)
    # More than there is would be recorded as a budget the study never had.
    with pytest.raises(DataError, match="train_subset 10,000 exceeds the 500 training images"):
        load_splits("fashion_mnist", data_dir=tmp_path, train_subset=10_000)
    for bad in (0, -5):
        with pytest.raises(DataError, match="train_subset"):
            load_splits("fashion_mnist", data_dir=tmp_path, train_subset=bad)


def test_unknown_dataset() -> None:
    with pytest.raises(DataError, match="unknown dataset 'mnist': choose fashion_mnist or cifar10"):
        load_splits("mnist")


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_images(tmp_path: Path, gz: bool) -> None:
    files = make_fashion(tmp_path, gz=gz)
    path = files["train-images"]
    content = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    write(tmp_path / "train-images-idx3-ubyte", content[:-100], gz)
    expected = 16 + 120 * 28 * 28
    with pytest.raises(DataError) as err:
        load_splits("fashion_mnist", data_dir=tmp_path)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg
    assert f"truncated (expected {expected} bytes, got {expected - 100})" in msg
    assert "\n" not in msg


def test_wrong_magic(tmp_path: Path) -> None:
    make_fashion(tmp_path, gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    content = bytearray(path.read_bytes())
    content[0:4] = struct.pack(">I", 0x00000802)
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: not a valid IDX file \(magic"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_images_and_labels_swapped(tmp_path: Path) -> None:
    files = make_fashion(tmp_path, gz=False)
    labels = files["t10k-labels"].read_bytes()
    files["t10k-labels"].write_bytes(files["t10k-images"].read_bytes())
    files["t10k-images"].write_bytes(labels)
    with pytest.raises(DataError, match=r"t10k-.*not a valid IDX file"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_corrupted_gzip(tmp_path: Path) -> None:
    files = make_fashion(tmp_path)
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
    make_fashion(tmp_path)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.arange(29, dtype=np.uint8) % 10), True)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: 29 labels but .* 30 images"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_label_out_of_range(tmp_path: Path) -> None:
    make_fashion(tmp_path)
    labels = np.arange(120, dtype=np.uint8) % 10
    labels[7] = 12
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels), True)
    with pytest.raises(DataError, match="label 12 out of range"):
        load_splits("fashion_mnist", data_dir=tmp_path)


def test_missing_file_in_explicit_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = make_fashion(tmp_path)
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
    monkeypatch.setattr(data, "_default_dirs", lambda name: empty)
    with pytest.raises(DataError) as err:
        load_splits("fashion_mnist")
    msg = str(err.value)
    assert f"not found in {empty[0]}, {empty[1]} and download failed (no network?" in msg
    assert msg.endswith("install the Debian package dataset-fashion-mnist or pass --data-dir")
    with pytest.raises(DataError, match=r"CIFAR-10 not found in .* download failed"):
        load_splits("cifar10")


def test_real_size_wrong_checksum(tmp_path: Path) -> None:
    make_fashion(tmp_path)
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


# --------------------------------------------------------------------------- CIFAR-10


def test_cifar_batch_channel_order(tmp_path: Path) -> None:
    record = bytes([7]) + bytes([10] * 1024) + bytes([20] * 1024) + bytes([30] * 1024)
    raw, images = cifar_records([3, 9])
    path = tmp_path / "b.bin"
    path.write_bytes(record + raw)
    x, y = read_cifar_batch(path)
    assert x.shape == (3, 32, 32, 3) and x.dtype == np.uint8
    assert y.dtype == np.int32 and y.tolist() == [7, 3, 9]
    assert x[0, :, :, 0].min() == x[0, :, :, 0].max() == 10  # R
    assert x[0, :, :, 1].min() == x[0, :, :, 1].max() == 20  # G
    assert x[0, :, :, 2].min() == x[0, :, :, 2].max() == 30  # B
    assert np.array_equal(x[1:], images)
    # row-major: pixel (row 1, col 2) of the red plane is byte 1 + 32 + 2 of the record
    rec = np.frombuffer(raw[:3073], np.uint8)
    assert x[1, 1, 2, 0] == rec[1 + 32 + 2] and x[1, 1, 2, 2] == rec[1 + 2048 + 32 + 2]


def test_cifar_truncated_and_bad_label(tmp_path: Path) -> None:
    raw, _ = cifar_records([1, 2])
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(raw[:-5])
    with pytest.raises(DataError, match=r"data_batch_1.bin: truncated \(expected 6146 bytes"):
        read_cifar_batch(path)
    path.write_bytes(b"")
    with pytest.raises(DataError, match="truncated"):
        read_cifar_batch(path)
    bad = bytearray(raw)
    bad[3073] = 10
    path.write_bytes(bytes(bad))
    with pytest.raises(DataError, match="label 10 out of range"):
        read_cifar_batch(path)


@pytest.mark.parametrize("use_parent", [True, False])
def test_cifar_loads(tmp_path: Path, use_parent: bool) -> None:
    batches = make_cifar(tmp_path)
    s = load_splits("cifar10", data_dir=tmp_path if use_parent else batches)
    assert s.source == os.path.realpath(batches)
    assert s.input_shape == (32, 32, 3)
    # 100 training records, 10 per class, 1/10 -> 1 per class in validation
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (90, 10, 10)
    assert np.array_equal(np.bincount(s.y_val, minlength=10), [1] * 10)
    assert s.x_train.dtype == np.float32 and 0.0 <= s.x_train.min() <= s.x_train.max() <= 1.0
    x_test, y_test = read_cifar_batch(batches / "test_batch.bin")
    assert np.allclose(s.x_test, x_test / 255.0) and np.array_equal(s.y_test, y_test)


def test_cifar_missing_and_truncated(tmp_path: Path) -> None:
    batches = make_cifar(tmp_path)
    (batches / "data_batch_3.bin").write_bytes((batches / "data_batch_3.bin").read_bytes()[:-1])
    with pytest.raises(DataError, match=r"data_batch_3.bin: truncated"):
        load_splits("cifar10", data_dir=tmp_path)
    (batches / "data_batch_3.bin").unlink()
    with pytest.raises(
        DataError, match=f"not found in {re.escape(str(tmp_path))} " + r".*data_batch_3\.bin"
    ):
        load_splits("cifar10", data_dir=tmp_path)


# --------------------------------------------------------------------------- real data


def test_real_debian_fashion_mnist() -> None:
    """The real dataset (Debian package dataset-fashion-mnist, installed in CI)."""
    s = load_splits("fashion_mnist", data_dir=DEBIAN_DIR)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (50000, 10000, 10000)
    assert np.array_equal(np.bincount(s.y_val, minlength=10), [1000] * 10)
    assert np.array_equal(np.bincount(s.y_test, minlength=10), [1000] * 10)
    assert s.x_train.shape == (50000, 28, 28, 1) and s.x_train.dtype == np.float32
    assert float(s.x_train.max()) == 1.0 and float(s.x_train.min()) == 0.0
    sub = load_splits("fashion_mnist", data_dir=DEBIAN_DIR, train_subset=2000)
    assert (len(sub.y_train), len(sub.y_val)) == (2000, 400)
    assert np.array_equal(np.bincount(sub.y_train, minlength=10), [200] * 10)


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
        data._read_bytes(str(path), "hint", limit=50 << 20)


@pytest.mark.parametrize("dims", [(2**32 - 1, 2**32 - 1, 2**32 - 1), (60000, 28, 10**6)])
def test_a_header_declaring_too_much_is_refused_before_reading_on(tmp_path: Path,
                                                                  dims: tuple) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x803, *dims) + bytes(100))
    with pytest.raises(DataError, match=r"its header declares .* bytes\), more than the "
                                        r"1,073,741,824 a dataset file may hold") as err:
        read_idx(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("split", "shape"), [("t10k", (27, 29)), ("train", (2, 2))])
def test_images_of_the_wrong_size_are_refused_at_load(tmp_path: Path, split: str,
                                                      shape: tuple) -> None:
    make_fashion(tmp_path)
    n = 120 if split == "train" else 30
    write(tmp_path / f"{split}-images-idx3-ubyte", idx_bytes(np.zeros((n, *shape), np.uint8)),
          True)
    with pytest.raises(DataError, match=f"{split}-images-idx3-ubyte.gz: images are "
                                        f"{shape[0]}x{shape[1]}, Fashion-MNIST's are 28x28"):
        load_splits("fashion_mnist", data_dir=tmp_path)
