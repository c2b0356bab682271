"""``sqlite:///FILE`` (the embedded default): a file checked before Optuna writes to it,
a busy timeout, write-ahead logging, and write transactions that lock when they begin.

Concurrent writers wait (busy timeout) instead of failing with "database is locked";
write-ahead logging (WAL) is used except on a network file system, which lacks the shared
memory it needs between processes.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy

from compat.optuna import rdb_private_reads
from storage.access import make_writable
from storage.errors import StorageError, StorageURLError
from storage.retry import ResilientStorage
from storage.urls import sqlite_path, sqlite_read_only

SQLITE_BUSY_TIMEOUT_SECONDS = 120

# Every table of Optuna 5.0's RDB schema (tests/compat/test_optuna.py checks this list
# against Optuna's own models, so a new Optuna's table cannot make our stores look foreign).
OPTUNA_TABLES = frozenset({
    "alembic_version", "studies", "study_directions", "study_system_attributes",
    "study_user_attributes", "trial_heartbeats", "trial_intermediate_values", "trial_params",
    "trial_system_attributes", "trial_user_attributes", "trial_values", "trials",
    "version_info"})


def check_sqlite_file(path: Path | None, create: bool) -> None:
    """Refuse a file Optuna would write its schema into although it holds no study store:
    any file that is not an SQLite database, an SQLite database of another program, and,
    for the commands that only read (``create=False``), an empty one. The file is only
    read (SQLite opened read-only), so a refused file is left exactly as it was."""
    if path is None or not path.is_file():
        return
    # Never open() the file from Python: closing any descriptor of an SQLite file drops every
    # POSIX lock this process holds on it, including those of its open SQLite connections,
    # and a worker writing meanwhile can then corrupt the store (sqlite.org/howtocorrupt.html,
    # 2.2). SQLite's own opening keeps track of that; os.stat opens nothing.
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from None
    if empty:
        if create:
            return  # an empty file is an empty SQLite database: the study goes there
        raise StorageError(f"{path} is an empty file, not a study store: check "
                           "--storage / --out (the file is left as it is)")
    tables = _sqlite_tables(path)
    if tables is None:
        return  # SQLite could not list it just now: Optuna opens it and says what is wrong
    if not tables and not create:
        raise StorageError(f"{path} is an SQLite database without tables, not a study store: "
                           "check --storage / --out (the file is left as it is)")
    # Another program's tables (a store being created by a worker racing this one holds
    # only some of Optuna's: that one is ours).
    other = sorted(t for t in tables - OPTUNA_TABLES if not t.startswith("sqlite_"))
    if other:
        shown = ", ".join(other[:5]) + (", …" if len(other) > 5 else "")
        raise StorageError(f"{path} is an SQLite database of another program (tables: "
                           f"{shown}), not a study store: use another file")


def _sqlite_tables(path: Path) -> set[str] | None:
    """The tables of an SQLite file, read through SQLite's read-only mode (so nothing is
    created or migrated); None when SQLite cannot list them at this moment (locked, busy).
    Raises StorageError for a file that is not an SQLite database."""
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro",
                                                uri=True)) as db:
            return {row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise StorageError(f"{path} is not an SQLite database, so not a study store: "
                               "check --storage (the file is left as it is)") from None
        return None
    except sqlite3.Error:
        return None


def sqlite_options(parsed: sqlalchemy.URL) -> dict:
    """SQLAlchemy engine options for an SQLite URL; creates the file's folder."""
    if not parsed.database or parsed.database == ":memory:":
        raise StorageURLError("sqlite storage needs a file: sqlite:///path/to/studies.db")
    options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
    if sqlite_read_only(parsed):
        return options  # nothing to create or write
    folder = sqlite_path(parsed).resolve().parent
    make_writable(folder, StorageError, f"cannot create the folder for {parsed.database}",
                  f"cannot write the SQLite file in {folder}: permission denied")
    return options


# Storage methods that only read. Their transactions begin deferred: in WAL mode such a
# reader never waits for a writer, and never holds the write lock a worker needs.
_READ_METHODS = (
    "get_all_studies", "get_all_trials", "get_best_trial", "get_n_trials",
    "get_study_directions", "get_study_id_from_name", "get_study_name_from_id",
    "get_study_system_attrs", "get_study_user_attrs", "get_trial",
    "get_trial_id_from_study_id_trial_number", "get_trial_number_from_id", "get_trial_param",
    "get_trial_params", "get_trial_system_attrs", "get_trial_user_attrs",
    *rdb_private_reads(),
)
_reading = threading.local()


def _read_only(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_reading, "depth", 0)
        _reading.depth = depth + 1
        try:
            return method(*args, **kwargs)
        finally:
            _reading.depth = depth

    return wrapper


class SQLiteStorage(ResilientStorage):
    """Also marks the read methods, so their transactions need no write lock."""


for _name in _READ_METHODS:
    setattr(SQLiteStorage, _name, _read_only(getattr(ResilientStorage, _name)))


def serialized(storage: optuna.storages.RDBStorage, wal: bool) -> optuna.storages.RDBStorage:
    """Make every SQLite write transaction take the write lock when it begins; WAL if ``wal``.

    Optuna claims a waiting trial with SELECT ... FOR UPDATE then UPDATE; SQLite ignores
    FOR UPDATE and Python's driver starts the transaction only at the first write, so two
    workers can both read WAITING and both claim it. BEGIN IMMEDIATE (SQLAlchemy's recipe
    for pysqlite) makes read-then-write one atomic step. Reads (``_READ_METHODS``) begin
    deferred instead: with BEGIN IMMEDIATE everywhere, ``list`` waited 39 s behind a
    worker's write transaction, and the dashboard polling a live study slowed its workers
    (optuna#820, #4994).

    A trial makes about 27 small commits; in WAL mode a commit appends to one log instead
    of rewriting pages through a rollback journal, and readers (the dashboard, reports) do
    not block the workers: benchmarks/overhead.py measured 40 -> 27 ms per grid trial,
    synchronous left at FULL so a committed trial survives a power loss.
    """
    engine = storage.engine

    @sqlalchemy.event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        if wal:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # type: ignore[no-untyped-def]
        reading = getattr(_reading, "depth", 0) > 0
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners were set
    return storage
