"""Liveness of running trials, for every storage: a killed worker's trial becomes FAIL.

RDB storages keep Optuna's heartbeat table (``record_heartbeat``, judged by Optuna's
``fail_stale_trials``). Optuna 5.0 has none for the journal file, so the same protocol is
written here on top of public storage calls: a running trial's system attr ``heartbeat``
is stamped every interval, and a RUNNING trial whose stamp (or start, if it never
stamped) is older than the grace period is set to FAIL. Optuna's heartbeat ignores a
trial that never beat, so on RDB storages an unstamped trial is judged by its start.
The beats come from one loop of ours for every storage (not Optuna's heartbeat thread): a
beat lost to a database outage is skipped, never a traceback from a background thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Iterator

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from storage.backends import grace_seconds, heartbeat_seconds, is_journal
from storage.records import FAIL_REASON

STAMP = "heartbeat"


def touch(storage: optuna.storages.BaseStorage, trial_id: int) -> None:
    """Record one beat now, right after a claim.

    The stamp doubles as a marker: on RDB storages Optuna's heartbeat judges a stamped
    trial, and an unstamped RUNNING trial is one whose worker died between its claim and
    this call, which only its start time can tell.
    """
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.record_heartbeat(trial_id)
    storage.set_trial_system_attr(trial_id, STAMP, time.time())


@contextlib.contextmanager
def beating(storage: optuna.storages.BaseStorage, trial_id: int) -> Iterator[None]:
    """Keep the trial marked alive while the block runs."""
    stop = threading.Event()
    interval = heartbeat_seconds(is_journal(storage))
    rdb = isinstance(storage, optuna.storages.RDBStorage)

    def stamp() -> None:
        while True:
            # A finished trial or a database outage outlasting the storage's retries:
            # skip this beat and keep beating, as long as the trial runs.
            with contextlib.suppress(Exception):
                if rdb:
                    storage.record_heartbeat(trial_id)
                else:
                    touch(storage, trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=stamp, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def fail_stale(study: optuna.Study, storage: optuna.storages.BaseStorage) -> None:
    """Set trials whose worker stopped beating to FAIL (their units can then be re-run)."""
    rdb = isinstance(storage, optuna.storages.RDBStorage)
    if rdb:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    now, grace = time.time(), grace_seconds(is_journal(storage))
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if rdb and STAMP in trial.system_attrs:
            continue  # Optuna's heartbeat judges it
        start = trial.datetime_start.timestamp() if trial.datetime_start else now
        last = trial.system_attrs.get(STAMP, start)
        if now - last <= grace:
            continue
        with contextlib.suppress(UpdateFinishedTrialError):
            # Optuna allows no attr on a finished trial, so the reason goes first; if the
            # trial completes in between, records ignore the stray reason (records.py).
            storage.set_trial_user_attr(trial._trial_id, FAIL_REASON,
                                        f"worker stopped (no heartbeat for {now - last:.0f} s)")
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
