"""The user's own images: ``--dataset folder:PATH``.

``PATH/train/CLASS/*`` and ``PATH/test/CLASS/*``: one sub-folder per class (labels follow
the sorted names of train's sub-folders; test may lack a class, not add one), PNG or JPEG
images all of one size (grey, or colour: one colour image makes them all RGB, alpha is
dropped); hidden files are skipped. Every image's size is read from its header and the
size cap checked before any is decoded.

Images are decoded with TensorFlow's ``tf.io`` (imported only here, when a folder is read):
Pillow is not among the project's dependencies.
"""

from __future__ import annotations

import os

import numpy as np

from compat.tensorflow import import_quietly
from search.datasets import _user
from search.datasets._base import DataError, Raw, Source, check_cap, max_data_bytes, shape_text
from search.datasets._registry import register_source

PREFIX = "folder"
SPLITS = ("train", "test")
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
LAYOUT = "folder:PATH holds train/CLASS/*.png and test/CLASS/*.png"


def _visible(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return sorted((e for e in entries if not e.name.startswith(".")),
                          key=lambda e: e.name)
    except OSError as e:
        raise DataError(f"{folder}: cannot read ({e.strerror or e}); {LAYOUT}") from None


def _listing(path: str) -> dict[str, list[tuple[str, int]]]:
    """Per split, every image file with its label; the folder layout checked."""
    for split in SPLITS:
        if not os.path.isdir(os.path.join(path, split)):
            raise DataError(f"{path}: no {split}/ folder; {LAYOUT}")
    classes: list[str] = []
    listing: dict[str, list[tuple[str, int]]] = {}
    for split in SPLITS:
        folder = os.path.join(path, split)
        entries = _visible(folder)
        stray = [e.name for e in entries if not e.is_dir()]
        if stray or not entries:
            raise DataError(f"{folder}: holds {'the file ' + stray[0] if stray else 'nothing'}"
                            f", not one sub-folder per class; {LAYOUT}")
        classes = classes or [e.name for e in entries]
        listing[split] = []
        for entry in entries:
            if entry.name not in classes:
                raise DataError(f"{entry.path}: class {entry.name!r} is not in train/; {LAYOUT}")
            files = [e.path for e in _visible(entry.path)]
            if not files and split == "train":
                raise DataError(f"{entry.path}: holds no image; {LAYOUT}")
            listing[split] += [(f, classes.index(entry.name)) for f in files]
    if not listing["test"]:
        raise DataError(f"{path}: test/ holds no image; {LAYOUT}")
    return listing


def _bytes(file: str) -> bytes:
    try:
        with open(file, "rb") as f:
            return f.read()
    except OSError as e:
        raise DataError(f"{file}: cannot read ({e.strerror or e})") from None


def _jpeg_frame(data: bytes) -> tuple[int, int, int] | None:
    """``(height, width, components)`` of a JPEG's frame header (its SOF segment)."""
    i = 2
    while i + 10 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD8 or marker == 0x01:  # no length field
            i += 1 if marker == 0xFF else 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOF0..SOF15
            return (int.from_bytes(data[i + 5 : i + 7], "big"),
                    int.from_bytes(data[i + 7 : i + 9], "big"), data[i + 9])
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def _header(file: str, data: bytes) -> tuple[int, int, bool]:
    """``(height, width, colour)`` from a PNG's or JPEG's header, without decoding: the
    checks that can fail run before TensorFlow is imported (its import logs to stderr)."""
    if data.startswith(PNG) and data[12:16] == b"IHDR" and len(data) >= 26:
        # Colour types 0 and 4 are grey (without and with alpha); 2, 3, 6 are colour.
        h, w, colour = (int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big"),
                        data[25] in (2, 3, 6))
    elif data.startswith(JPEG) and (frame := _jpeg_frame(data)) is not None:
        h, w, colour = frame[0], frame[1], frame[2] != 1
    else:
        raise DataError(f"{file}: not a PNG or JPEG image")
    if not h or not w:
        raise DataError(f"{file}: an image of {h}x{w} pixels")
    return h, w, colour


def _decode(file: str, data: bytes, channels: int) -> np.ndarray:
    tf = import_quietly()  # slow, and only decoding needs it

    try:
        return tf.io.decode_image(data, channels=channels, expand_animations=False).numpy()
    except tf.errors.OpError:
        raise DataError(f"{file}: a corrupted image (cannot decode it)") from None


def read(path: str) -> Raw:
    """Every image and its label, validated (layout, one image size, the cap), then
    decoded: grey if every image is grey, else RGB (alpha is dropped)."""
    listing = _listing(path)
    files = [f for split in SPLITS for f, _ in listing[split]]
    total = sum(os.path.getsize(f) for f in files)
    if total > max_data_bytes():
        raise DataError(f"{path}: its images take {total / 1e9:,.3g} GB as files, more than "
                        f"the cap of {max_data_bytes() / 1e9:g} GB (raise SEARCH_MAX_DATA_GB)")
    contents = {f: _bytes(f) for f in files}
    headers = {f: _header(f, data) for f, data in contents.items()}
    size = headers[files[0]][:2]
    odd = next((f for f in files if headers[f][:2] != size), None)
    if odd is not None:
        raise DataError(f"{path}: images differ in size: {files[0]} is {shape_text(size)}, {odd} "
                        f"is {shape_text(headers[odd][:2])}")
    channels = 3 if any(colour for _, _, colour in headers.values()) else 1
    check_cap(path, len(files), (*size, channels))
    arrays = {}
    for split in SPLITS:
        arrays[f"x_{split}"] = np.stack([_decode(f, contents[f], channels)
                                         for f, _ in listing[split]])
        arrays[f"y_{split}"] = np.array([label for _, label in listing[split]], np.int32)
    return _user.raw(path, arrays)


def train_counts(path: str) -> np.ndarray:
    """Training images per class, from the listing alone."""
    labels = [label for _, label in _listing(path)["train"]]
    return np.bincount(labels)


register_source(Source(PREFIX, read, train_counts))
