"""Storage URL -> Optuna storage, with the engine options a multi-process study needs.

- ``sqlite:///FILE`` (default, embedded; ``storage.sqlite``): a busy timeout so
  concurrent writers wait instead of failing with "database is locked"; write-ahead
  logging (WAL) except on a network file system.
- ``postgresql://USER:PASSWORD@HOST:PORT/DB`` (psycopg 3): pre-ping so a worker survives
  a server restart between trials.
- ``journal:///FILE`` (``storage.journal``): Optuna's journal file, for several processes
  on one machine without a server.
RDB storages (``storage.retry``) retry through a short outage and run Optuna's heartbeat,
so a killed worker's trial is failed, not stuck RUNNING.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.errors import StorageError, StorageURLError
from storage.filesystems import network_filesystem_warning
from storage.journal import open_journal
from storage.masking import host_as_written, mask_url, remember_secrets
from storage.retry import ResilientStorage, open_rdb
from storage.settings import grace_seconds
from storage.sqlite import SQLiteStorage, check_sqlite_file, serialized, sqlite_options
from storage.urls import URL_FORMS, is_journal_url, missing_file, sqlite_path, sqlite_read_only


def open_storage(url: str, *, create: bool = True,
                 wait: Callable[[float], None] = time.sleep) -> optuna.storages.BaseStorage:
    """Open the storage behind ``url``; with ``create=False`` a missing file is an error
    (reading commands must not leave an empty database behind a mistyped path).

    ``wait(seconds)`` is how a database call pauses between retries through an outage; a
    worker passes one that ends at once when the user asks it to stop (Ctrl-C, SIGTERM),
    instead of retrying for up to a minute."""
    remember_secrets(url)  # for every message this process prints from now on
    # Refuse a grace shorter than the heartbeat before anything runs.
    grace_seconds(journal=is_journal_url(url))
    if not create:
        missing = missing_file(url)
        if missing:
            raise StorageError(f"no study store at {missing}: check --storage / --out")
    if is_journal_url(url):
        return open_journal(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        hint = (f"; for a file, sqlite:///{url}" if "://" not in url and url.strip()
                else f": use {URL_FORMS}")
        raise StorageURLError(f"malformed storage URL {mask_url(url)!r}{hint}") from None
    backend = parsed.get_backend_name()
    if parsed.host is not None and parsed.host != host_as_written(url):
        # SQLAlchemy cuts a password at its first raw '@' and reads the rest as the host
        # (and a raw '@' in a query password ends the user part there): looking that host
        # up would send a piece of the password to a name server.
        raise StorageURLError(f"malformed storage URL {mask_url(url)!r}: a raw '@' in the "
                              "password or query; write it as %40 (percent-encode it)")
    if backend == "sqlite":
        check_sqlite_file(sqlite_path(parsed) if parsed.database else None, create)
        # WAL needs shared memory between processes, which network file systems lack.
        # WAL is a write: a read-only store keeps its journal mode.
        return serialized(open_rdb(url, sqlite_options(parsed), SQLiteStorage, wait),
                          wal=network_filesystem_warning(url) is None
                          and not sqlite_read_only(parsed))
    if backend == "postgresql":
        return open_rdb(url, {"pool_pre_ping": True}, ResilientStorage, wait)
    raise StorageURLError(f"unsupported storage {backend!r} in {mask_url(url)!r}: "
                          f"use {URL_FORMS}")
