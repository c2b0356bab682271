"""Stale trials on real SQLite and journal files: a dead worker's trial becomes FAIL."""

import time

import optuna
import pytest
from optuna.trial import TrialState

from storage import Claimer, Unit, open_storage, queue_missing
from storage.heartbeat import STAMP, beat_folder, beating, fail_stale, journal_file, touch


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


def _heartbeat_lines(path) -> int:
    return sum('"heartbeat"' in line for line in path.read_text().splitlines())


def test_journal_beats_stay_out_of_the_journal_and_leave_nothing_behind(tmp_path, monkeypatch):
    """A trial beating for several intervals adds no journal line; its beat file (next to
    the journal) lives as long as the trial runs. Also checks the one private Optuna access
    (the journal's file path) still works on the installed Optuna."""
    monkeypatch.setenv("SEARCH_HEARTBEAT_SECONDS", "1")
    monkeypatch.setenv("SEARCH_GRACE_SECONDS", "2")
    journal = tmp_path / "s.log"
    storage = open_storage(f"journal:///{journal}")
    assert journal_file(storage) == journal
    study = optuna.create_study(storage=storage, study_name="h")
    queue_missing(study, [Unit("dense:units=8", 0, {})])
    trial = Claimer(study, storage).claim()
    touch(storage, trial._trial_id)
    size = journal.stat().st_size
    beat = beat_folder(journal) / str(trial._trial_id)
    with beating(storage, trial._trial_id):
        time.sleep(3.5)  # four beats
        assert beat.exists()
        fail_stale(study, storage)  # alive: judged by the side file, not the journal
        assert journal.stat().st_size == size
    assert study.trials[trial.number].state == TrialState.RUNNING
    assert not beat.exists()
    assert _heartbeat_lines(journal) == 0


def test_a_journal_written_with_beats_inside_is_still_judged_by_them(tmp_path, monkeypatch):
    """Journals from before the side folder hold the beat as a system attr."""
    monkeypatch.setenv("SEARCH_HEARTBEAT_SECONDS", "1")
    monkeypatch.setenv("SEARCH_GRACE_SECONDS", "2")
    storage = open_storage(f"journal:///{tmp_path}/s.log")
    study = optuna.create_study(storage=storage, study_name="h")
    queue_missing(study, [Unit("dense:units=8", 0, {}), Unit("dense:units=16", 0, {})])
    old, fresh = Claimer(study, storage).claim(), Claimer(study, storage).claim()
    time.sleep(2.5)
    storage.set_trial_system_attr(fresh._trial_id, STAMP, time.time())  # an old-style beat
    fail_stale(study, storage)
    assert study.trials[old.number].state == TrialState.FAIL
    assert study.trials[fresh.number].state == TrialState.RUNNING


def test_a_100_trial_study_on_a_journal_stays_under_300_kb(tmp_path):
    """100 trials through the worker loop (a no-op objective: no training) on a journal."""
    from search import presets
    from search.runner import run_search

    preset = tmp_path / "s.toml"
    preset.write_text('mode = "search"\n[train]\nepochs = 1\n[space]\nfamily = "dense"\n'
                      'params = { units = [8, 16] }\n')
    journal = tmp_path / "s.log"
    url = f"journal:///{journal}"
    spec = presets.load(str(preset), trials=100, storage=url, out=str(tmp_path / "out"))
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    done = run_search(study, storage, spec, lambda t: t.suggest_int("units", 8, 16) / 16,
                      lambda frozen: None)
    assert done == 100
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 100
    assert _heartbeat_lines(journal) == 0
    assert journal.stat().st_size < 300_000, journal.stat().st_size
    assert not any(beat_folder(journal).iterdir())
