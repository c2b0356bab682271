"""Liveness of running trials, for every storage: a killed worker's trial becomes FAIL.

RDB storages keep Optuna's heartbeat table (``record_heartbeat``, judged by Optuna's
``fail_stale_trials``). Optuna 5.0 has none for the journal file, so the same protocol is
written here: a running trial's beat is stamped every interval, and a RUNNING trial whose
stamp (or start, if it never stamped) is older than the grace period is set to FAIL.
Optuna's heartbeat ignores a trial that never beat, so on RDB storages an unstamped trial
is judged by its start. The beats come from one loop of ours for every storage (not
Optuna's heartbeat thread): a beat lost to a database outage is skipped, never a traceback
from a background thread.

On a journal file a beat is not written into the journal, which is append-only (every
beat would stay: 1,703 of the 7,249 lines of the 117-trial ``scaling-converged`` journal).
It is the modification time of a file per trial in a folder beside the journal
(``.NAME.heartbeats/TRIAL_ID``), removed when the trial ends or is failed as stale, so a
finished study leaves only an empty folder (which git does not show). Journals written
before kept the beat as the trial's system attr ``heartbeat``; it is still read, and
written when the side folder cannot be.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from compat.optuna import trial_id as id_of
from storage.journal import is_journal, journal_file
from storage.records import FAIL_REASON, STOPPED_AT, write_by_id
from storage.settings import grace_seconds, heartbeat_seconds

STAMP = "heartbeat"
# Seconds since the epoch, as trial start times and file modification times count them;
# tests pass their own to judge staleness without waiting.
Clock = Callable[[], float]


def beat_folder(journal: Path) -> Path:
    """Where the beats of a journal's running trials are kept: ``.NAME.heartbeats``."""
    return journal.with_name(f".{journal.name}.heartbeats")


def _beat_file(storage: optuna.storages.BaseStorage, trial_id: int) -> Path | None:
    journal = journal_file(storage)
    return None if journal is None else beat_folder(journal) / str(trial_id)


def _stamp_file(path: Path, now: float) -> None:
    path.parent.mkdir(exist_ok=True)
    path.touch()
    os.utime(path, (now, now))  # our clock, also where the file's server sets its own


def _last_beat(storage: optuna.storages.BaseStorage, trial_id: int) -> float | None:
    path = _beat_file(storage, trial_id)
    if path is None:
        return None
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _forget(storage: optuna.storages.BaseStorage, trial_id: int) -> None:
    """Remove a finished trial's beat file (the folder stays, empty)."""
    path = _beat_file(storage, trial_id)
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def touch(storage: optuna.storages.BaseStorage, trial_id: int,
          clock: Clock = time.time) -> None:
    """Record one beat now, right after a claim.

    The stamp doubles as a marker: on RDB storages Optuna's heartbeat judges a stamped
    trial, and an unstamped RUNNING trial is one whose worker died between its claim and
    this call, which only its start time can tell. On a journal the beat goes to the side
    folder; into the journal only if that folder cannot be written.
    """
    now = clock()
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.record_heartbeat(trial_id)
    path = _beat_file(storage, trial_id)
    if path is not None:
        try:
            _stamp_file(path, now)
            return
        except OSError:
            pass
    storage.set_trial_system_attr(trial_id, STAMP, now)


@contextlib.contextmanager
def beating(storage: optuna.storages.BaseStorage, trial_id: int,
            clock: Clock = time.time) -> Iterator[None]:
    """Keep the trial marked alive while the block runs (a beat at once, then one every
    heartbeat interval)."""
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
                    touch(storage, trial_id, clock)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=stamp, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        _forget(storage, trial_id)


def fail_stale(study: optuna.Study, storage: optuna.storages.BaseStorage,
               clock: Clock = time.time) -> None:
    """Set trials whose worker stopped beating to FAIL (their units can then be re-run).

    ``clock`` judges the trials of this module's protocol; those on Optuna's heartbeat
    table are judged by Optuna against the database server's clock."""
    rdb = isinstance(storage, optuna.storages.RDBStorage)
    if rdb:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    now, grace = clock(), grace_seconds(is_journal(storage))
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if rdb and STAMP in trial.system_attrs:
            continue  # Optuna's heartbeat judges it
        start = trial.datetime_start.timestamp() if trial.datetime_start else now
        trial_id = id_of(trial)
        stamps = (trial.system_attrs.get(STAMP), _last_beat(storage, trial_id))
        last = max((t for t in stamps if t is not None), default=start)
        if now - last <= grace:
            continue
        with contextlib.suppress(UpdateFinishedTrialError):
            # Optuna allows no attr on a finished trial, so the reason goes first; if the
            # trial completes in between, records ignore the stray reason (records.py).
            write_by_id(storage, trial_id,
                        {FAIL_REASON: f"worker stopped (no heartbeat for {now - last:.0f} s)",
                         STOPPED_AT: last})
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
        _forget(storage, trial_id)
