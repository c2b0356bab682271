"""Tests for search.data: the three-way split, its subsets and memoization, any dataset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from search import data, datasets
from search.data import DataError, Splits, load_splits
from search.datasets import Dataset, Raw, _registry
from search.datasets.cifar10 import read_cifar_batch
from search.datasets.fashion_mnist import read_idx
from tests.search.datasets.make import (
    cifar,
    fashion,
    npz,
    offline,  # noqa: F401  (an autouse fixture)
)

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.mark.parametrize("gz", [True, False])
def test_small_fashion_loads(tmp_path: Path, gz: bool) -> None:
    fashion(tmp_path, gz=gz)
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
    fashion(tmp_path)
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
    fashion(tmp_path, gz=False)
    monkeypatch.setenv("SEARCH_DATA_DIR", str(tmp_path))
    s = load_splits("fashion_mnist")
    assert s.source == os.path.realpath(tmp_path)


def test_train_subset(tmp_path: Path) -> None:
    fashion(tmp_path, n_train=600, n_test=10)
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
    with pytest.raises(DataError, match="unknown dataset 'mnist': choose one of fashion_mnist, "
                                        "cifar10, npz:PATH, folder:PATH"):
        load_splits("mnist")


@pytest.mark.parametrize("use_parent", [True, False])
def test_cifar_loads(tmp_path: Path, use_parent: bool) -> None:
    batches = cifar(tmp_path)
    s = load_splits("cifar10", data_dir=tmp_path if use_parent else batches)
    assert s.source == os.path.realpath(batches)
    assert s.input_shape == (32, 32, 3) and s.num_classes == 10
    # 100 training records, 10 per class, 1/10 -> 1 per class in validation
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (90, 10, 10)
    assert np.array_equal(np.bincount(s.y_val, minlength=10), [1] * 10)
    assert s.x_train.dtype == np.float32 and 0.0 <= s.x_train.min() <= s.x_train.max() <= 1.0
    x_test, y_test = read_cifar_batch(batches / "test_batch.bin")
    assert np.allclose(s.x_test, x_test / 255.0) and np.array_equal(s.y_test, y_test)


def test_the_users_npz_is_split_like_any_dataset(tmp_path: Path) -> None:
    path = npz(tmp_path / "mine.npz")  # 3 classes of 4 training images, 12x12 grey
    s = load_splits(f"npz:{path}")
    assert s.input_shape == (12, 12, 1) and s.num_classes == 3
    # 1/10 of 4 rounds to 0, raised to one per class: 9 train, 3 val, the 6 test untouched
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (9, 3, 6)
    assert datasets.get(f"npz:{path}").train_images == len(s.y_train)
    assert np.array_equal(np.bincount(s.y_val), [1, 1, 1])
    assert s.x_train.dtype == np.float32 and 0 <= s.x_train.min() <= s.x_train.max() <= 1
    assert np.array_equal(s.y_test, np.arange(6) % 3)
    assert s.source == os.path.realpath(path)
    assert load_splits(f"npz:{path}") is s  # read once per process
    with pytest.raises(DataError, match="train_subset 10 exceeds the 9 training images"):
        load_splits(f"npz:{path}", train_subset=10)


def test_a_dataset_registered_by_a_test_loads_with_its_own_shape_and_classes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "DATASETS", dict(_registry.DATASETS))  # undone after
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 8, 6, 2), dtype=np.uint8)
    y = (np.arange(40) % 4).astype(np.int32)
    raw = Raw(x, y, x[:8], y[:8], 4, "generated")
    datasets.register(Dataset("stripes", (8, 6, 2), 4, train_images=32, val_denominator=5,
                              load=lambda data_dir: raw))
    assert datasets.names()[-1] == "stripes" and "stripes" in datasets.choices()
    s = load_splits("stripes")
    assert (s.input_shape, s.num_classes, len(s.y_train), len(s.y_val)) == ((8, 6, 2), 4, 32, 8)
    with pytest.raises(ValueError, match="'stripes' is taken"):
        datasets.register(Dataset("stripes", (8, 6, 2), 4, 32, 5, load=lambda data_dir: raw))


def test_real_debian_fashion_mnist() -> None:
    """The real dataset (Debian package dataset-fashion-mnist, installed in CI), and the
    training-image count its registration declares."""
    s = load_splits("fashion_mnist", data_dir=DEBIAN_DIR)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (50000, 10000, 10000)
    assert datasets.train_images("fashion_mnist") == len(s.y_train)
    assert np.array_equal(np.bincount(s.y_val, minlength=10), [1000] * 10)
    assert np.array_equal(np.bincount(s.y_test, minlength=10), [1000] * 10)
    assert s.x_train.shape == (50000, 28, 28, 1) and s.x_train.dtype == np.float32
    assert float(s.x_train.max()) == 1.0 and float(s.x_train.min()) == 0.0
    sub = load_splits("fashion_mnist", data_dir=DEBIAN_DIR, train_subset=2000)
    assert (len(sub.y_train), len(sub.y_val)) == (2000, 400)
    assert np.array_equal(np.bincount(sub.y_train, minlength=10), [200] * 10)
