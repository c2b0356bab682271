"""Exactly-once grid units on a real SQLite store."""

import threading

import optuna
from optuna.trial import TrialState

from storage import Claimer, Unit, open_storage, queue_missing
from storage.records import FINAL_FAILURE


def make_study(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/claims.db")
    return optuna.create_study(storage=storage, study_name="g"), storage


def claim_next(study, storage):
    """A claim by a worker that starts afresh each time (no list kept between claims)."""
    return Claimer(study, storage).claim()


UNITS = [Unit(f"cnn:width={w}", seed, {"width": w}) for seed in (0, 1) for w in (8, 16)]


def test_queue_is_filled_once(tmp_path):
    study, _ = make_study(tmp_path)
    assert queue_missing(study, UNITS) == 4
    assert queue_missing(study, UNITS) == 0
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [(t.user_attrs["cell"], t.user_attrs["seed"]) for t in waiting] == [u.key for u in UNITS]


def test_each_unit_is_claimed_once_then_the_queue_is_empty(tmp_path):
    study, storage = make_study(tmp_path)
    queue_missing(study, UNITS)
    claimed, claimer = [], Claimer(study, storage)
    while (trial := claimer.claim()) is not None:
        claimed.append((trial.user_attrs["cell"], trial.user_attrs["seed"]))
        width = int(trial.user_attrs["cell"].split("=")[1])
        assert trial.suggest_categorical("width", [8, 16]) == width  # the enqueued value
        study.tell(trial, 0.5)
    assert sorted(claimed) == sorted(u.key for u in UNITS)
    assert claimer.claim() is None and claim_next(study, storage) is None
    assert len(study.trials) == 4  # an empty queue never creates a trial


def test_failed_units_are_queued_again_and_completed_ones_are_not(tmp_path):
    study, storage = make_study(tmp_path)
    queue_missing(study, UNITS)
    first = claim_next(study, storage)
    study.tell(first, state=TrialState.FAIL)
    second = claim_next(study, storage)
    study.tell(second, 0.9)
    assert queue_missing(study, UNITS) == 1  # only the failed unit comes back


def test_a_twin_enqueued_by_a_racing_worker_is_closed_as_duplicate(tmp_path):
    study, storage = make_study(tmp_path)
    unit = UNITS[0]
    for _ in range(2):  # two workers repaired the queue at the same moment
        study.enqueue_trial(dict(unit.params), user_attrs={"cell": unit.cell, "seed": unit.seed})
    owner = claim_next(study, storage)
    assert owner is not None and owner.number == 0
    assert claim_next(study, storage) is None
    twin = study.trials[1]
    assert twin.state == TrialState.PRUNED
    assert twin.user_attrs["duplicate_of"] == 0


def test_a_unit_that_failed_for_good_is_not_queued_again(tmp_path):
    study, storage = make_study(tmp_path)
    queue_missing(study, UNITS[:1])
    trial = claim_next(study, storage)
    trial.set_user_attr(FINAL_FAILURE, True)  # e.g. the loss diverged with this seed
    study.tell(trial, state=TrialState.FAIL)
    assert queue_missing(study, UNITS[:1]) == 0


def test_concurrent_claims_on_one_sqlite_file_never_share_a_unit(tmp_path):
    """Four workers, each with its own connection, race for 40 units."""
    url = f"sqlite:///{tmp_path}/race.db"
    study = optuna.create_study(storage=open_storage(url), study_name="race")
    queue_missing(study, [Unit(f"dense:units={u}", 0, {}) for u in range(40)])
    claimed: list[list[int]] = [[] for _ in range(4)]

    def worker(mine: list[int]) -> None:
        storage = open_storage(url)
        mine_study = optuna.load_study(study_name="race", storage=storage)
        claimer = Claimer(mine_study, storage)
        while (trial := claimer.claim()) is not None:
            mine.append(trial.number)

    threads = [threading.Thread(target=worker, args=(c,)) for c in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = [n for c in claimed for n in c]
    assert sorted(numbers) == list(range(40))  # every unit once, none twice


def test_a_worker_keeps_its_list_yet_sees_units_queued_and_taken_by_others(tmp_path):
    study, storage = make_study(tmp_path)
    queue_missing(study, UNITS[:2])
    mine, other = Claimer(study, storage), Claimer(study, storage)
    first = mine.claim()  # lists both units
    taken = other.claim()  # takes the second one behind mine's back
    assert (first.number, taken.number) == (0, 1)
    study.tell(taken, 0.7)
    queue_missing(study, UNITS[2:3])  # another worker repaired the queue: trial 2
    third = mine.claim()
    assert third is not None and third.number == 2  # skipped the taken one, saw the new one
    assert mine.claim() is None


def test_a_twin_is_closed_even_when_the_other_copy_finished_after_the_listing(tmp_path):
    study, storage = make_study(tmp_path)
    unit = UNITS[0]
    for _ in range(2):
        study.enqueue_trial(dict(unit.params), user_attrs={"cell": unit.cell, "seed": unit.seed})
    slow, fast = Claimer(study, storage), Claimer(study, storage)
    slow._list()  # listed both copies while both were waiting
    first = fast.claim()
    study.tell(first, 0.8)  # copy 0 done by the other worker
    assert slow.claim() is None  # copy 1 is closed as a duplicate, not trained
    assert study.trials[1].state == TrialState.PRUNED
    assert study.trials[1].user_attrs["duplicate_of"] == 0
