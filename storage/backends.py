"""Storage URL -> Optuna storage, with the engine options a multi-process study needs.

- ``sqlite:///FILE`` (default, embedded): a busy timeout so concurrent writers wait
  instead of failing with "database is locked"; write-ahead logging (WAL) except on a
  network file system.
- ``postgresql://USER:PASSWORD@HOST:PORT/DB`` (psycopg 3): pre-ping so a worker survives
  a server restart between trials.
- ``journal:///FILE``: Optuna's journal file, for several processes on one machine
  without a server.
RDB storages run Optuna's heartbeat, so a killed worker's trial is failed, not stuck RUNNING.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

HEARTBEAT_ENV, GRACE_ENV = "SEARCH_HEARTBEAT_SECONDS", "SEARCH_GRACE_SECONDS"
RETRY_ENV = "SEARCH_DB_RETRY_SECONDS"
SQLITE_BUSY_TIMEOUT_SECONDS = 120
JOURNAL_PREFIX = "journal://"
CREATE_RETRIES = 5
DEFAULT_FILE = "studies.db"
URL_FORMS = "sqlite:///FILE, postgresql://USER:PASSWORD@HOST:PORT/DB or journal:///FILE"


NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "glusterfs",
                       "ceph", "lustre", "gpfs", "beegfs")


class StorageError(Exception):
    """A storage's server or file cannot be used; ``str(e)`` is a one-line message."""


class StorageURLError(StorageError):
    """The storage URL itself is wrong (a usage error)."""


class ReadOnlyStorageError(StorageError):
    """A write to a store opened read-only (e.g. ``sqlite:///file:PATH?mode=ro&uri=true``)."""


def _seconds(name: str, default: str) -> int:
    text = os.environ.get(name, default)
    if not text.isdigit() or int(text) <= 0:
        raise StorageError(f"{name} must be a positive whole number of seconds, got {text!r}")
    return int(text)


# Beat, grace (seconds) by storage. A beat rewrites one row of a database, but on a journal
# file it appends a line (~140 bytes) that stays: the definitive study's journal was 22 %
# beats at 10 s (810 lines for 52 trials). Journals beat once a minute (a trial-hour adds
# ~8 KB) and a killed worker's unit is re-run after 3 minutes instead of 30 s.
BEATS = {"database": ("10", "30"), "journal": ("60", "180")}


def is_journal(storage: optuna.storages.BaseStorage) -> bool:
    return isinstance(storage, optuna.storages.JournalStorage)


def heartbeat_seconds(journal: bool = False) -> int:
    """How often a running trial says it is alive (env SEARCH_HEARTBEAT_SECONDS; default
    10, on a journal file 60)."""
    return _seconds(HEARTBEAT_ENV, BEATS["journal" if journal else "database"][0])


def grace_seconds(journal: bool = False) -> int:
    """Silence after which a running trial counts as dead (env SEARCH_GRACE_SECONDS;
    default 30, on a journal file 180).

    It must exceed the heartbeat interval, or live trials would be judged dead."""
    kind = "journal" if journal else "database"
    grace, beat = _seconds(GRACE_ENV, BEATS[kind][1]), heartbeat_seconds(journal)
    if grace <= beat:
        raise StorageError(f"{GRACE_ENV} ({grace}) must be longer than {HEARTBEAT_ENV} "
                           f"({beat}), or live trials are failed as dead")
    return grace


def retry_seconds() -> int:
    """How long a database call is retried through an outage (env SEARCH_DB_RETRY_SECONDS)."""
    return _seconds(RETRY_ENV, "60")


def default_url(out_dir: str | os.PathLike[str]) -> str:
    """The embedded default: an SQLite file inside the output directory."""
    return f"sqlite:///{Path(out_dir) / DEFAULT_FILE}"


def mask_url(url: str) -> str:
    """The URL with every password replaced by ``***``, for every log line, note and file.

    Done on the text, not through SQLAlchemy's ``make_url``: a password holding an
    unescaped ``@`` is split there by its parser (and half of it shown as the host), and
    a password in the query string (``?password=...``, libpq's form) is not hidden by
    ``render_as_string``. So: every query value whose key names a password is masked,
    then everything between the user name and the last ``@``; then every piece of the
    password shown elsewhere (:func:`mask_secrets`).
    """
    if url.startswith(JOURNAL_PREFIX) or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    rest = _QUERY_VALUE.sub(rf"\1{MASK}", rest)  # first, so a '@' there is not the last
    at = rest.rfind("@")  # a password may hold '@', '/' or '?': the last '@' ends it
    head, tail = (rest[:at], rest[at:]) if at >= 0 else ("", rest)
    if ":" in head:
        head = head.split(":", 1)[0] + ":" + MASK
    return mask_secrets(f"{scheme}://{head}{tail}", url)  # and any piece shown elsewhere


# Characters at which a URL parser may cut a password that holds them unescaped: each
# piece can then reach a driver as a host, port or database name, and come back in its
# error message ("failed to resolve host 'ss@db'").
_CUTS = re.compile(r"[@:/?#&=]")
_QUERY_VALUE = re.compile(r"(?i)([?&][^=&]*(?:password|passwd|pwd)[^=&]*=)([^&#]*)")
SHORT_PIECE = 4  # pieces shorter than this are masked only where they stand alone
MASK = "***"
_secrets: set[str] = set()  # passwords (and pieces) of the URLs this process opened


def password_fragments(url: str) -> set[str]:
    """The password of ``url`` (in the user part or the query string), as written and
    percent-decoded, and every piece a parser could cut it into at ``@ : / ? # & =``."""
    if url.startswith(JOURNAL_PREFIX) or "://" not in url:
        return set()
    found = {m.group(2) for m in _QUERY_VALUE.finditer(url)}
    rest = _QUERY_VALUE.sub(r"\1", url.split("://", 1)[1])
    at = rest.rfind("@")  # as mask_url: a password may hold '@'; the last one ends it
    if at >= 0 and ":" in rest[:at]:
        found.add(rest[:at].split(":", 1)[1])
    pieces: set[str] = set()
    for secret in found:
        for text in (secret, urllib.parse.unquote(secret)):
            pieces.add(text)
            pieces.update(_CUTS.split(text))
    return {p for p in pieces if p.strip("*")}


def _host_as_written(url: str) -> str:
    """The host of ``url`` read as :func:`mask_url` reads it: after the last '@' outside
    the query's password values."""
    rest = _QUERY_VALUE.sub(r"\1", url.split("://", 1)[1])
    after = rest[rest.rfind("@") + 1:]
    if after.startswith("[") and "]" in after:  # an IPv6 address
        return after[1:after.index("]")]
    return re.split(r"[:/?]", after, maxsplit=1)[0]


def remember_secrets(url: str | None) -> None:
    """Mask ``url``'s password (and its pieces) in every later :func:`mask_secrets` call."""
    if url:
        _secrets.update(password_fragments(url))


def mask_secrets(text: str, url: str | None = None) -> str:
    """``text`` (an error, a driver's message, a traceback) with every password remembered
    by :func:`remember_secrets`, and ``url``'s, replaced by ``***``, with every piece of
    them (:func:`password_fragments`), longest first.

    A password or piece of at least ``SHORT_PIECE`` characters is masked wherever it
    occurs; a shorter one only where no letter or digit touches it (``'ss@h`` but not
    ``address``), so a one-letter piece does not make the message unreadable."""
    secrets = _secrets | (password_fragments(url) if url else set())
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= SHORT_PIECE:
            text = text.replace(secret, MASK)
        else:
            text = re.sub(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", MASK, text)
    return text


def journal_path(url: str) -> Path:
    """As SQLAlchemy reads sqlite URLs: ``journal:///runs/x.log`` is relative to the working
    folder, ``journal:////tmp/x.log`` absolute."""
    path = url[len(JOURNAL_PREFIX):]
    return Path(path[1:] if path.startswith("/") else path)


def _check_journal_meaning(url: str) -> None:
    """Until 2026-11-28 ``journal:///data/s.log`` meant ``/data/s.log``: refuse the URL
    when only that old file exists, instead of starting an empty study beside it."""
    path = journal_path(url)
    old = Path("/") / path
    if not path.is_absolute() and not path.exists() and old.is_file():
        raise StorageURLError(f"{url} now names {path} (relative, as sqlite:/// URLs do), "
                              f"which does not exist; for {old} write journal:///{old}")


def open_storage(url: str, *, create: bool = True,
                 wait: Callable[[float], None] = time.sleep) -> optuna.storages.BaseStorage:
    """Open the storage behind ``url``; with ``create=False`` a missing file is an error
    (reading commands must not leave an empty database behind a mistyped path).

    ``wait(seconds)`` is how a database call pauses between retries through an outage; a
    worker passes one that ends at once when the user asks it to stop (Ctrl-C, SIGTERM),
    instead of retrying for up to a minute."""
    remember_secrets(url)  # for every message this process prints from now on
    # Refuse a grace shorter than the heartbeat before anything runs.
    grace_seconds(journal=url.startswith(JOURNAL_PREFIX))
    if not create:
        missing = _missing_file(url)
        if missing:
            raise StorageError(f"no study store at {missing}: check --storage / --out")
    if url.startswith(JOURNAL_PREFIX):
        _check_journal_meaning(url)
        return _journal(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        hint = (f"; for a file, sqlite:///{url}" if "://" not in url and url.strip()
                else f": use {URL_FORMS}")
        raise StorageURLError(f"malformed storage URL {mask_url(url)!r}{hint}") from None
    backend = parsed.get_backend_name()
    if parsed.host is not None and parsed.host != _host_as_written(url):
        # SQLAlchemy cuts a password at its first raw '@' and reads the rest as the host
        # (and a raw '@' in a query password ends the user part there): looking that host
        # up would send a piece of the password to a name server.
        raise StorageURLError(f"malformed storage URL {mask_url(url)!r}: a raw '@' in the "
                              "password or query; write it as %40 (percent-encode it)")
    if backend == "sqlite":
        _check_sqlite_file(_sqlite_path(parsed) if parsed.database else None, create)
        # WAL needs shared memory between processes, which network file systems lack.
        # WAL is a write: a read-only store keeps its journal mode.
        return _serialized(_rdb(url, _sqlite_options(parsed), _SQLiteStorage, wait),
                           wal=network_filesystem_warning(url) is None
                           and not _sqlite_read_only(parsed))
    if backend == "postgresql":
        return _rdb(url, {"pool_pre_ping": True}, _ResilientStorage, wait)
    raise StorageURLError(f"unsupported storage {backend!r} in {mask_url(url)!r}: "
                          f"use {URL_FORMS}")


def _file_of(url: str) -> Path | None:
    """The file behind a journal or SQLite URL (None for servers and malformed URLs)."""
    if url.startswith(JOURNAL_PREFIX):
        return journal_path(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None  # open_storage reports it
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return _sqlite_path(parsed)


def _sqlite_path(parsed: sqlalchemy.URL) -> Path:
    """The file of an SQLite URL, also in SQLite's URI form (``file:PATH`` with ``uri=true``
    in the query, e.g. ``sqlite:///file:runs/studies.db?mode=ro&uri=true``)."""
    database = parsed.database or ""
    if parsed.query.get("uri") == "true" and database.startswith("file:"):
        return Path(urllib.parse.urlsplit(database).path)
    return Path(database)


# Every table of Optuna 5.0's RDB schema (tests/storage/test_backends.py checks this list
# against Optuna's own models, so a new Optuna's table cannot make our stores look foreign).
OPTUNA_TABLES = frozenset({
    "alembic_version", "studies", "study_directions", "study_system_attributes",
    "study_user_attributes", "trial_heartbeats", "trial_intermediate_values", "trial_params",
    "trial_system_attributes", "trial_user_attributes", "trial_values", "trials",
    "version_info"})


def _check_sqlite_file(path: Path | None, create: bool) -> None:
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


def _sqlite_read_only(parsed: sqlalchemy.URL) -> bool:
    return parsed.query.get("uri") == "true" and parsed.query.get("mode") == "ro"


def _missing_file(url: str) -> Path | None:
    """The file a file-backed URL names, when it does not exist."""
    path = _file_of(url)
    return path if path is not None and not path.exists() else None


def _sqlite_options(parsed: sqlalchemy.URL) -> dict:
    if not parsed.database or parsed.database == ":memory:":
        raise StorageURLError("sqlite storage needs a file: sqlite:///path/to/studies.db")
    options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
    if _sqlite_read_only(parsed):
        return options  # nothing to create or write
    folder = _sqlite_path(parsed).resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder for {parsed.database}: "
                           f"{exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise StorageError(f"cannot write the SQLite file in {folder}: permission denied")
    return options


def _rdb(url: str, engine_kwargs: dict, kind: type[_ResilientStorage],
         wait: Callable[[float], None]) -> _ResilientStorage:
    # Workers started together on an empty database race to create Optuna's tables; the
    # losers get "duplicate key ... pg_type" or "already exists" (PostgreSQL), or "UNIQUE
    # constraint failed: alembic_version" (SQLite, seen in tests/storage/test_workers.py): retry.
    for attempt in range(CREATE_RETRIES):
        try:
            storage = kind(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_seconds(),
                grace_period=grace_seconds(),
            )
            storage.retry_wait = wait
            return storage
        except (SQLAlchemyError, ImportError, RuntimeError) as exc:  # RuntimeError: schema
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            racing = any(m in reason for m in ("duplicate key", "already exists",
                                               "UNIQUE constraint failed"))
            if racing and attempt < CREATE_RETRIES - 1:
                time.sleep(random.uniform(0.2, 1.0))
                continue
            raise StorageError(mask_secrets(f"cannot open storage {mask_url(url)}: {reason}",
                                            url)) from None
    raise AssertionError("unreachable")


# Storage methods that only read. Their transactions begin deferred: in WAL mode such a
# reader never waits for a writer, and never holds the write lock a worker needs.
_READ_METHODS = (
    "get_all_studies", "get_all_trials", "_get_trials", "get_best_trial", "_get_best_trial_id",
    "get_n_trials", "get_study_directions", "get_study_id_from_name", "get_study_name_from_id",
    "get_study_system_attrs", "get_study_user_attrs", "get_trial",
    "get_trial_id_from_study_id_trial_number", "get_trial_number_from_id", "get_trial_param",
    "get_trial_params", "get_trial_system_attrs", "get_trial_user_attrs", "_get_stale_trial_ids",
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


# Errors of a database that went away for a moment (a server restart, a lock held past
# SQLite's busy timeout); Optuna re-raises a failed commit as StorageInternalError.
_TRANSIENT = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
              optuna.exceptions.StorageInternalError)


def _transient(exc: BaseException) -> bool:
    """Optuna wraps every failed commit as StorageInternalError: retry only a lost
    connection or lock, not an error the same call would meet again (a value too long)."""
    if isinstance(exc, optuna.exceptions.StorageInternalError):
        return isinstance(exc.__cause__, sqlalchemy.exc.OperationalError
                          | sqlalchemy.exc.InterfaceError)
    return True


def _retrying(method: Callable[..., Any]) -> Callable[..., Any]:
    """Retry a storage call through a short outage, then fail with one line.

    A retried write may already have committed before its connection died. The worker
    protocol tolerates that: a claim repeated finds the trial RUNNING and is skipped (the
    heartbeat check re-queues it), a repeated ``tell`` finds the trial finished and counts
    as done, a unit enqueued twice is closed as a duplicate when claimed.
    """
    @functools.wraps(method)
    def wrapper(self: _ResilientStorage, *args: Any, **kwargs: Any) -> Any:
        deadline, pause, retried = time.monotonic() + retry_seconds(), 0.5, False
        while True:
            try:
                return method(self, *args, **kwargs)
            except optuna.exceptions.UpdateFinishedTrialError:
                if retried:  # the attempt cut off by the outage had committed (e.g. tell)
                    return True
                raise
            except _TRANSIENT as exc:
                if "readonly database" in str(exc.__cause__ or exc):
                    raise ReadOnlyStorageError("the store is read-only") from None
                if not _transient(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    cause = exc.__cause__ or exc
                    reason = (str(getattr(cause, "orig", None) or cause).strip().splitlines()
                              or ["unknown error"])[0]
                    raise StorageError(mask_secrets(f"the database stayed unreachable for "
                                                    f"{retry_seconds()} s: {reason}")
                                       ) from None
                self.retry_wait(pause)
                pause, retried = min(pause * 2, 8.0), True

    return wrapper


# The RDBStorage methods that open their own transaction: BaseStorage's API, the
# heartbeat's, and the two private ones Optuna's cached storage and heartbeat call. (Its
# other private helpers run inside a caller's transaction: retrying them alone is wrong.)
_DATABASE_METHODS = tuple(
    name for name, value in vars(optuna.storages.RDBStorage).items()
    if callable(value) and not isinstance(value, staticmethod)
    and (not name.startswith("_") or name in ("_get_trials", "_get_stale_trial_ids"))
    and name not in ("get_heartbeat_interval", "get_failed_trial_callback",
                     "get_heartbeat_stale_trial_callback"))


class _ResilientStorage(optuna.storages.RDBStorage):
    """RDBStorage whose database calls survive a short outage (``_retrying``), pausing
    between attempts with ``retry_wait``."""

    retry_wait: Callable[[float], None] = staticmethod(time.sleep)


class _SQLiteStorage(_ResilientStorage):
    """Also marks the read methods, so their transactions need no write lock."""


for _name in _DATABASE_METHODS:
    setattr(_ResilientStorage, _name, _retrying(getattr(optuna.storages.RDBStorage, _name)))
for _name in _READ_METHODS:
    setattr(_SQLiteStorage, _name, _read_only(getattr(_ResilientStorage, _name)))


def _serialized(storage: optuna.storages.RDBStorage, wal: bool) -> optuna.storages.RDBStorage:
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


def _journal(url: str) -> optuna.storages.JournalStorage:
    path = journal_path(url)
    if not str(path) or path.is_dir():
        raise StorageURLError(f"journal storage needs a file: journal:///path/to/study.log, "
                              f"got {url!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        # Replaying the log happens here: a file that is not an Optuna journal fails now.
        storage = optuna.storages.JournalStorage(backend)
        # Optuna takes a last line without a newline for a write in progress and skips it:
        # a file of one such line (notes, a UTF-16 file) would read as an empty journal,
        # and the first record appended would be glued to it, breaking both.
        if path.stat().st_size and next(backend.read_logs(0), None) is None:
            raise ValueError("no complete record")
        return storage
    except OSError as exc:
        raise StorageError(f"cannot open journal file {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StorageError(f"{path} is not an Optuna journal file ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})"
                           ) from None


def network_filesystem_warning(url: str) -> str | None:
    """A warning when a file storage sits on a network file system, where locks are unsafe."""
    path = _file_of(url)
    if path is None:
        return None
    fstype = _filesystem_type(path.resolve())
    if fstype not in NETWORK_FILESYSTEMS:
        return None
    return (f"warning: {path} is on a network file system ({fstype}), where file locks are "
            "unreliable with several workers: use a postgresql:// storage for them")


def _filesystem_type(path: Path) -> str | None:
    """The type of the mount holding ``path`` (Linux /proc/mounts; None elsewhere)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, kind = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind
