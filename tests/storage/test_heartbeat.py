"""Stale trials on real SQLite and journal files: a dead worker's trial becomes FAIL."""

import time

import optuna
import pytest
from optuna.trial import TrialState

from storage import Claimer, Unit, open_storage, queue_missing
from storage.heartbeat import beating, fail_stale, touch


@pytest.fixture(params=["sqlite", "journal"])
def fast_store(request, tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCH_HEARTBEAT_SECONDS", "1")
    monkeypatch.setenv("SEARCH_GRACE_SECONDS", "2")
    url = (f"sqlite:///{tmp_path}/s.db" if request.param == "sqlite"
           else f"journal:///{tmp_path}/s.log")
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name="h")
    queue_missing(study, [Unit("dense:units=8", 0, {}), Unit("dense:units=16", 0, {})])
    return study, storage


def test_a_worker_killed_between_claim_and_first_beat_is_detected(fast_store):
    study, storage = fast_store
    dead = Claimer(study, storage).claim()  # the worker dies here: no beat was ever recorded
    time.sleep(2.5)
    fail_stale(study, storage)
    assert study.trials[dead.number].state == TrialState.FAIL


def test_a_silent_worker_is_failed_and_a_beating_one_is_not(fast_store):
    study, storage = fast_store
    silent = Claimer(study, storage).claim()
    touch(storage, silent._trial_id)  # beat once, then the worker died
    alive = Claimer(study, storage).claim()
    touch(storage, alive._trial_id)
    with beating(storage, alive._trial_id):
        time.sleep(3)
        fail_stale(study, storage)
    assert study.trials[silent.number].state == TrialState.FAIL
    assert study.trials[alive.number].state == TrialState.RUNNING


def test_a_reason_written_just_before_the_trial_completed_is_not_reported(fast_store):
    from storage import trial_records

    study, storage = fast_store
    trial = Claimer(study, storage).claim()
    storage.set_trial_user_attr(trial._trial_id, "fail_reason", "worker stopped")  # the race
    study.tell(trial, 0.5)
    assert study.trials[trial.number].state == TrialState.COMPLETE
    assert trial_records(study)[trial.number].fail_reason is None
