"""Datasets as the tests write them: small built-in files, ``.npz`` archives, image folders."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from search.datasets import _files


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network or the user's real data folder by accident (import
    it into a test module or conftest to apply it there)."""
    monkeypatch.delenv("SEARCH_DATA_DIR", raising=False)

    def no_download(*args: object, **kwargs: object) -> str:
        raise OSError("network disabled in tests")

    monkeypatch.setattr(_files, "keras_download", no_download)


# --------------------------------------------------------------------------- built-in files


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


def fashion(directory: Path, n_train: int = 120, n_test: int = 30, gz: bool = True,
            seed: int = 0) -> dict[str, Path]:
    """Small valid Fashion-MNIST-like set; labels cycle through all 10 classes."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = 0
        images[:, 0, 1] = 255
        labels = (np.arange(n) % 10).astype(np.uint8)
        out[f"{split}-images"] = write(directory / f"{split}-images-idx3-ubyte",
                                       idx_bytes(images), gz)
        out[f"{split}-labels"] = write(directory / f"{split}-labels-idx1-ubyte",
                                       idx_bytes(labels), gz)
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


def cifar(directory: Path, per_batch: int = 20, n_test: int = 10) -> Path:
    batches = directory / "cifar-10-batches-bin"
    batches.mkdir(parents=True)
    for i in range(1, 6):
        raw, _ = cifar_records([j % 10 for j in range(per_batch)], seed=i)
        (batches / f"data_batch_{i}.bin").write_bytes(raw)
    raw, _ = cifar_records([j % 10 for j in range(n_test)], seed=99)
    (batches / "test_batch.bin").write_bytes(raw)
    return batches


# --------------------------------------------------------------------------- the user's data


def arrays(classes: int = 3, per_class: int = 4, size: int = 12, channels: int | None = None,
           n_test: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    """``x_train, y_train, x_test, y_test``: uint8 images, each class a distinct brightness
    (so a tiny net can learn them), labels cycling through every class."""
    rng = np.random.default_rng(seed)
    shape = (size, size) if channels is None else (size, size, channels)
    out = {}
    for split, n in (("train", classes * per_class), ("test", n_test)):
        y = np.arange(n) % classes
        base = (y * 200 // max(classes - 1, 1)).reshape(-1, *[1] * len(shape))
        x = np.clip(base + rng.integers(0, 40, size=(n, *shape)), 0, 255).astype(np.uint8)
        out[f"x_{split}"], out[f"y_{split}"] = x, y.astype(np.int64)
    return out


def npz(path: Path, **overrides: np.ndarray) -> Path:
    """An archive of :func:`arrays` with some arrays replaced."""
    np.savez(path, **{**arrays(), **overrides})
    return path


def png(pixels: np.ndarray) -> bytes:
    """A PNG file of uint8 ``(H, W)`` grey or ``(H, W, 3)`` RGB pixels (written from the
    PNG specification, independently of the decoder under test)."""
    h, w = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    rows = b"".join(b"\0" + row.tobytes() for row in pixels.reshape(h, -1))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def folder(root: Path, classes: tuple[str, ...] = ("cat", "dog", "owl"), per_class: int = 4,
           size: int = 12, n_test: int = 1) -> Path:
    """``root/train/CLASS/i.png`` and ``root/test/CLASS/i.png``, grey images whose
    brightness is the class index times 100 (so its label can be read back)."""
    for split, n in (("train", per_class), ("test", n_test)):
        for label, name in enumerate(classes):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = np.full((size, size), label * 100 + i, np.uint8)
                (root / split / name / f"{i}.png").write_bytes(png(pixels))
    return root
