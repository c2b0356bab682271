"""Which access a store file allows this user: read-only files read without writing, and
``run`` refused before it loads data when it could not write."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from storage.errors import ReadOnlyStorageError, StorageError
from storage.urls import file_of, is_journal_url


def reading_url(url: str) -> str:
    """An SQLite file this user cannot write, or in a folder it cannot write, in SQLite's
    read-only form, so that reading needs no write; ``immutable`` when no writer is
    connected (no -wal file beside it), since SQLite reads a WAL store only by creating
    its -shm file, which such a folder refuses."""
    path = file_of(url)
    if (path is None or is_journal_url(url) or "uri=true" in url or not path.is_file()
            or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))):
        return url
    writer = path.with_name(f"{path.name}-wal").exists()
    return (f"sqlite:///file:{urllib.parse.quote(str(path))}?mode=ro"
            f"{'' if writer else '&immutable=1'}&uri=true")


def check_writable(url: str) -> None:
    """``run`` writes: a store file this user cannot write, or whose folder it cannot
    (SQLite's -wal and the journal's lock go beside it), is refused before the data load."""
    path = file_of(url)
    if path is None or not path.exists():
        return
    for needed in (path, path.parent):
        if not os.access(needed, os.W_OK):
            raise ReadOnlyStorageError(f"the store is read-only: this user cannot write "
                                       f"{needed} (list, show, report and export read it)")


def make_writable(folder: Path, error: type[StorageError], cannot_create: str,
                  cannot_write: str) -> None:
    """Create ``folder`` (with its parents) if missing, and check this user can write in
    it: a store file's folder, an artifact folder. ``error`` with one of the two messages
    (the OS's reason after the first) when not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"{cannot_create}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise error(cannot_write)
