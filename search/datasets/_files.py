"""Finding and reading the built-in datasets' files, every failure a one-line DataError."""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from search.datasets._base import MAX_FILE_BYTES, DataDir, DataError

DOWNLOAD_TIMEOUT_S = 5.0
DATA_DIR_ENV = "SEARCH_DATA_DIR"


@contextlib.contextmanager
def reading(path: str, hint: str) -> Iterator[BinaryIO]:
    """``path`` open for reading (decompressed on the fly, for ``.gz``), errors as DataError."""
    try:
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
            yield f
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; {hint}") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(
            f"{path}: corrupted gzip file ({e}); re-install it or delete the file ({hint})"
        ) from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e}); {hint}") from None


def read_bytes(path: str, hint: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The (decompressed) content of ``path``, refused past ``limit`` bytes: a small
    ``.gz`` file can expand to gigabytes, so it is never read further than that."""
    with reading(path, hint) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{path}: larger than {limit:,} bytes (decompressed), the most a "
                        f"dataset file may hold; {hint}")
    return data


def keras_datasets_dir() -> str:
    """Where Keras keeps its downloads (``$KERAS_HOME/datasets``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(os.path.expanduser(home), "datasets")


def keras_download(fname: str, origin: str, cache_subdir: str, extract: bool) -> str:
    """Download with Keras' own downloader after a quick reachability check."""
    host = origin.split("/")[2]
    # get_file has no timeout: fail fast when there is no network at all.
    socket.create_connection((host, 443), timeout=DOWNLOAD_TIMEOUT_S).close()
    import keras  # slow import, only needed here

    return keras.utils.get_file(fname, origin=origin, cache_subdir=cache_subdir, extract=extract)


def _explicit_dir(data_dir: DataDir) -> tuple[str, str] | None:
    """``(directory, where it came from)`` if the user chose one, else None."""
    if data_dir is not None and os.fspath(data_dir) != "":
        return os.path.expanduser(os.fspath(data_dir)), "data_dir"
    env = os.environ.get(DATA_DIR_ENV, "")
    if env:
        return os.path.expanduser(env), DATA_DIR_ENV
    return None


Finder = Callable[[str], tuple[str, list[str]]]


def locate(title: str, data_dir: DataDir, find: Finder,
           defaults: list[str], download: Callable[[], str], hint: str) -> str:
    """The folder holding a built-in dataset's files.

    ``find(directory)`` gives the folder the files are in and those missing. The folder is
    ``data_dir``, else ``$SEARCH_DATA_DIR``, else the first of ``defaults`` holding them
    all, else what ``download()`` fetched; an explicitly chosen folder is never fallen
    back from.
    """
    explicit = _explicit_dir(data_dir)
    if explicit is not None:
        directory, origin = explicit
        if not os.path.isdir(directory):
            raise DataError(f"{title} directory {directory} (from {origin}) does not exist; "
                            f"{hint}")
        found, missing = find(directory)
        if missing:
            where = "" if found == directory else f" (in {found})"
            raise DataError(f"{title} not found in {directory} (from {origin}): missing "
                            f"{', '.join(missing)}{where}; {hint}")
        return found
    for directory in defaults:
        if os.path.isdir(directory):
            found, missing = find(directory)
            if not missing:
                return found
    try:
        fetched = download()
    except Exception as e:
        raise DataError(
            f"{title} not found in {', '.join(defaults)} and download failed "
            f"(no network? {type(e).__name__}: {e}): {hint}".replace("\n", " ")
        ) from None
    found, missing = find(fetched)
    if missing:
        raise DataError(f"{title} download to {fetched} is incomplete: missing "
                        f"{', '.join(missing)}; delete it and retry, or {hint}")
    return found
