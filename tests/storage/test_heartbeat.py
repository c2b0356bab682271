"""Stale trials on real SQLite and journal files: a dead worker's trial becomes FAIL.

Staleness is judged through an injected clock, never by waiting out the grace period:
the grace is ten minutes here and the clock jumps past it. Trials on Optuna's heartbeat
table (SQLite) are judged by Optuna against the database's clock: a silent one is made
stale by dating its last beat in that table an hour back.
"""

import contextlib
import itertools
import sqlite3
import time

import optuna
import pytest
from optuna.trial import TrialState

from compat.optuna import trial_id
from storage import Claimer, Unit, open_storage, queue_missing
from storage.heartbeat import STAMP, beat_folder, beating, fail_stale, touch
from storage.journal import journal_file
from storage.records import to_record

GRACE = 600  # seconds; no test waits for it
DEADLINE = 60  # seconds a test may wait for a beat of a 1 s heartbeat before failing


@pytest.fixture
def fast_beats(monkeypatch):
    monkeypatch.setenv("SEARCH_HEARTBEAT_SECONDS", "1")
    monkeypatch.setenv("SEARCH_GRACE_SECONDS", str(GRACE))


@pytest.fixture(params=["sqlite", "journal"])
def fast_store(request, tmp_path, fast_beats):
    url = (f"sqlite:///{tmp_path}/s.db" if request.param == "sqlite"
           else f"journal:///{tmp_path}/s.log")
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name="h")
    queue_missing(study, [Unit("dense:units=8", 0, {}), Unit("dense:units=16", 0, {})])
    return study, storage


def started(trial: optuna.Trial) -> float:
    """The trial's start, in whole seconds (so stamps derived from it are exact)."""
    return float(int(trial.study.trials[trial.number].datetime_start.timestamp()))


def at(seconds: float):
    """A clock stopped at ``seconds`` since the epoch."""
    return lambda: seconds


def _heartbeat_row(storage, trial: optuna.Trial, age: bool = False) -> str | None:
    """The trial's beat in Optuna's heartbeat table (SQLite); ``age``: an hour back first."""
    with contextlib.closing(sqlite3.connect(storage.engine.url.database)) as db:
        if age:
            db.execute("UPDATE trial_heartbeats SET heartbeat = datetime(heartbeat, "
                       "'-1 hour') WHERE trial_id = ?", (trial_id(trial),))
            db.commit()
        row = db.execute("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?",
                         (trial_id(trial),)).fetchone()
    return None if row is None else row[0]


def last_beat(storage, trial: optuna.Trial) -> object:
    """The trial's last beat as its storage keeps it: a beat file's time beside a journal,
    Optuna's heartbeat table in a database."""
    journal = journal_file(storage)
    if journal is None:
        return _heartbeat_row(storage, trial)
    beat = beat_folder(journal) / str(trial_id(trial))
    return beat.stat().st_mtime if beat.exists() else None


def go_silent(storage, trial: optuna.Trial, when: float) -> None:
    """The trial's worker beat at ``when`` (our clock; an hour ago on the database's),
    then fell silent."""
    touch(storage, trial_id(trial), at(when))
    if journal_file(storage) is None:
        _heartbeat_row(storage, trial, age=True)


def wait_for_beat(storage, trial: optuna.Trial, done) -> None:
    """Until ``done(last_beat)`` holds: the beating thread has written the beat awaited."""
    deadline = time.monotonic() + DEADLINE
    while not done(last_beat(storage, trial)):
        assert time.monotonic() < deadline, f"no such beat in {DEADLINE} s"
        time.sleep(0.05)


def test_a_worker_killed_between_claim_and_first_beat_is_detected(fast_store):
    study, storage = fast_store
    dead = Claimer(study, storage).claim()  # the worker dies here: no beat was ever recorded
    start = study.trials[dead.number].datetime_start.timestamp()
    fail_stale(study, storage, at(start + GRACE - 1))
    assert study.trials[dead.number].state == TrialState.RUNNING  # not silent long enough
    fail_stale(study, storage, at(start + GRACE + 1))
    assert study.trials[dead.number].state == TrialState.FAIL
    assert study.trials[dead.number].user_attrs["fail_reason"] == (
        f"worker stopped (no heartbeat for {GRACE + 1} s)")
    # It cost a worker nothing after its last sign of life (here its start), however late
    # the check stamped the failure.
    record = to_record(study.trials[dead.number])
    assert (record.wall_seconds, record.finished_at) == (0.0, start)


def test_a_silent_worker_is_failed_and_a_beating_one_is_not(fast_store):
    study, storage = fast_store
    silent = Claimer(study, storage).claim()
    alive = Claimer(study, storage).claim()
    now = max(started(silent), started(alive)) + GRACE + 10
    for trial in (silent, alive):  # both beat once, long ago
        go_silent(storage, trial, now - GRACE - 5)
    before = last_beat(storage, alive)
    with beating(storage, trial_id(alive), at(now)):
        wait_for_beat(storage, alive, lambda beat: beat != before)
        fail_stale(study, storage, at(now))
    assert study.trials[silent.number].state == TrialState.FAIL
    assert study.trials[alive.number].state == TrialState.RUNNING


def test_a_reason_written_just_before_the_trial_completed_is_not_reported(fast_store):
    from storage import trial_records

    study, storage = fast_store
    trial = Claimer(study, storage).claim()
    storage.set_trial_user_attr(trial_id(trial), "fail_reason", "worker stopped")  # the race
    study.tell(trial, 0.5)
    assert study.trials[trial.number].state == TrialState.COMPLETE
    assert trial_records(study)[trial.number].fail_reason is None


def _heartbeat_lines(path) -> int:
    return sum('"heartbeat"' in line for line in path.read_text().splitlines())


def test_journal_beats_stay_out_of_the_journal_and_leave_nothing_behind(tmp_path, fast_beats):
    """A trial beating for several intervals adds no journal line; its beat file (next to
    the journal) lives as long as the trial runs."""
    journal = tmp_path / "s.log"
    storage = open_storage(f"journal:///{journal}")
    study = optuna.create_study(storage=storage, study_name="h")
    queue_missing(study, [Unit("dense:units=8", 0, {})])
    trial = Claimer(study, storage).claim()
    touch(storage, trial_id(trial))
    size = journal.stat().st_size
    beat = beat_folder(journal) / str(trial_id(trial))
    first = started(trial) + GRACE  # the clock reads a second later at every beat
    beats = itertools.count(first)
    with beating(storage, trial_id(trial), lambda: next(beats)):
        wait_for_beat(storage, trial, lambda stamp: stamp is not None and stamp >= first + 3)
        fail_stale(study, storage, at(first + 3))  # alive: judged by the side file
        assert journal.stat().st_size == size  # four beats, not one line
    assert study.trials[trial.number].state == TrialState.RUNNING
    assert not beat.exists()
    assert _heartbeat_lines(journal) == 0


def test_a_journal_written_with_beats_inside_is_still_judged_by_them(tmp_path, fast_beats):
    """Journals from before the side folder hold the beat as a system attr."""
    storage = open_storage(f"journal:///{tmp_path}/s.log")
    study = optuna.create_study(storage=storage, study_name="h")
    queue_missing(study, [Unit("dense:units=8", 0, {}), Unit("dense:units=16", 0, {})])
    old, fresh = Claimer(study, storage).claim(), Claimer(study, storage).claim()
    now = max(started(old), started(fresh)) + GRACE + 10
    storage.set_trial_system_attr(trial_id(fresh), STAMP, now - 1)  # an old-style beat
    fail_stale(study, storage, at(now))
    assert study.trials[old.number].state == TrialState.FAIL
    assert study.trials[fresh.number].state == TrialState.RUNNING

