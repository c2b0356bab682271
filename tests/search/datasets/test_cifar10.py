"""CIFAR-10's binary batches: the channel layout, and damage as one DataError line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from search.data import load_splits
from search.datasets import DataError, cifar10
from search.datasets.cifar10 import read_cifar_batch
from tests.search.datasets.make import cifar, cifar_records


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
    with pytest.raises(DataError, match=r"label 10 out of range 0\.\.9"):
        read_cifar_batch(path)


def test_cifar_missing_and_truncated(tmp_path: Path) -> None:
    batches = cifar(tmp_path)
    (batches / "data_batch_3.bin").write_bytes((batches / "data_batch_3.bin").read_bytes()[:-1])
    with pytest.raises(DataError, match=r"data_batch_3.bin: truncated"):
        load_splits("cifar10", data_dir=tmp_path)
    (batches / "data_batch_3.bin").unlink()
    with pytest.raises(
        DataError, match=f"not found in {re.escape(str(tmp_path))} " + r".*data_batch_3\.bin"
    ):
        load_splits("cifar10", data_dir=tmp_path)


def test_not_found_anywhere_download_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cifar10, "default_dirs", lambda: [str(tmp_path / "a")])
    with pytest.raises(DataError, match=r"CIFAR-10 not found in .*/a and download failed"):
        load_splits("cifar10")
