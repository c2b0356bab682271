"""RDB storages (SQLite, PostgreSQL) that survive a short database outage.

Every database call is retried through an outage of up to ``SEARCH_DB_RETRY_SECONDS``,
then fails with one line; workers opening a new database together retry the race to
create Optuna's tables. RDB storages run Optuna's heartbeat, so a killed worker's trial is
failed, not stuck RUNNING.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import optuna
import sqlalchemy
from sqlalchemy.exc import SQLAlchemyError

from compat.optuna import rdb_private_transactions
from storage.errors import ReadOnlyStorageError, StorageError
from storage.masking import mask_secrets, mask_url
from storage.settings import grace_seconds, heartbeat_seconds, retry_seconds

CREATE_RETRIES = 5

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
    def wrapper(self: ResilientStorage, *args: Any, **kwargs: Any) -> Any:
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
# heartbeat's, and the private ones Optuna's cached storage and heartbeat call. (Its
# other private helpers run inside a caller's transaction: retrying them alone is wrong.)
_DATABASE_METHODS = tuple(
    name for name, value in vars(optuna.storages.RDBStorage).items()
    if callable(value) and not isinstance(value, staticmethod)
    and (not name.startswith("_") or name in rdb_private_transactions())
    and name not in ("get_heartbeat_interval", "get_failed_trial_callback",
                     "get_heartbeat_stale_trial_callback"))


class ResilientStorage(optuna.storages.RDBStorage):
    """RDBStorage whose database calls survive a short outage (``_retrying``), pausing
    between attempts with ``retry_wait``."""

    retry_wait: Callable[[float], None] = staticmethod(time.sleep)


for _name in _DATABASE_METHODS:
    setattr(ResilientStorage, _name, _retrying(getattr(optuna.storages.RDBStorage, _name)))

Kind = TypeVar("Kind", bound=ResilientStorage)


def open_rdb(url: str, engine_kwargs: dict, kind: type[Kind],
             wait: Callable[[float], None]) -> Kind:
    """An RDB storage of class ``kind`` on ``url``, pausing with ``wait`` between retries.

    Workers started together on an empty database race to create Optuna's tables; the
    losers get "duplicate key ... pg_type" or "already exists" (PostgreSQL), or "UNIQUE
    constraint failed: alembic_version" (SQLite, seen in tests/storage/test_workers.py):
    they try again."""
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
