"""``journal:///FILE``: Optuna's journal file, for several processes on one machine
without a server."""

from __future__ import annotations

from pathlib import Path

import optuna

from storage.errors import StorageError, StorageURLError
from storage.urls import journal_path


class JournalFileStorage(optuna.storages.JournalStorage):
    """A journal storage that knows its file: ``storage.heartbeat`` keeps the beats of
    running trials beside it. The path comes from the URL, as Optuna keeps its own
    private."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backend = optuna.storages.journal.JournalFileBackend(str(path))
        super().__init__(self.backend)


def is_journal(storage: optuna.storages.BaseStorage) -> bool:
    return isinstance(storage, optuna.storages.JournalStorage)


def journal_file(storage: optuna.storages.BaseStorage) -> Path | None:
    """The file behind a journal storage opened by :func:`open_journal` (None for others)."""
    return storage.path if isinstance(storage, JournalFileStorage) else None


def check_journal_meaning(url: str) -> None:
    """Until 2026-11-28 ``journal:///data/s.log`` meant ``/data/s.log``: refuse the URL
    when only that old file exists, instead of starting an empty study beside it."""
    path = journal_path(url)
    old = Path("/") / path
    if not path.is_absolute() and not path.exists() and old.is_file():
        raise StorageURLError(f"{url} now names {path} (relative, as sqlite:/// URLs do), "
                              f"which does not exist; for {old} write journal:///{old}")


def open_journal(url: str) -> JournalFileStorage:
    """The journal file of ``url``, created if missing, refused if it is not a journal."""
    check_journal_meaning(url)
    path = journal_path(url)
    if not str(path) or path.is_dir():
        raise StorageURLError(f"journal storage needs a file: journal:///path/to/study.log, "
                              f"got {url!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Replaying the log happens here: a file that is not an Optuna journal fails now.
        storage = JournalFileStorage(path)
        # Optuna takes a last line without a newline for a write in progress and skips it:
        # a file of one such line (notes, a UTF-16 file) would read as an empty journal,
        # and the first record appended would be glued to it, breaking both.
        if path.stat().st_size and next(storage.backend.read_logs(0), None) is None:
            raise ValueError("no complete record")
        return storage
    except OSError as exc:
        raise StorageError(f"cannot open journal file {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StorageError(f"{path} is not an Optuna journal file ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})"
                           ) from None
