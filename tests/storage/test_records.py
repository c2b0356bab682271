"""The trial schema: one writer, few journal lines, and every study ever stored still read."""

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from storage import Unit, open_storage, queue_missing
from storage import records as R

REPO = Path(__file__).resolve().parents[2]
ARCH = {"family": "dense", "units": [8]}
TRAIN = {"epochs": 2, "batch_size": 64, "optimizer": "adam"}


@dataclasses.dataclass
class Result:
    val_accuracy: float = 0.81
    test_accuracy: float = 0.8
    epochs: int = 2
    train_seconds: float = 1.23456
    best_epoch: int = 2
    converged: bool = False
    train_accuracy: float = 0.85
    train_loss: float = 0.4
    epoch_seconds: tuple[float, ...] = (0.6, 0.5)
    confusion: tuple[tuple[int, ...], ...] = ()


def _setup(**changes):
    return R.setup(**{"cell": "dense:units=8", "seed": 0, "arch": ARCH, "train": TRAIN,
                      "param_count": 6370, "flops": 12700, **changes})


def _user_attr_lines(journal: Path) -> list[str]:
    """The key of every user-attr line of a journal file (one line per storage write)."""
    return [key for line in journal.read_text().splitlines()
            for key in json.loads(line).get("user_attr", {})]


def test_a_grid_trial_writes_each_attr_once_and_the_fit_details_as_one(tmp_path):
    journal = tmp_path / "s.journal"
    study = optuna.create_study(storage=open_storage(f"journal:///{journal}"),
                                study_name="s", direction="maximize")
    queue_missing(study, [Unit("dense:units=8", 0, {})])
    trial = study.ask()
    R.write(trial, _setup())
    R.write(trial, R.measured(Result(confusion=((3, 1), (0, 4))), test_curve=[0.7, 0.8]))
    study.tell(trial, 0.81)
    # cell and seed were stored when the unit was queued, the family is the ArchSpec's, the
    # validation accuracy the trial's value, and engine "optuna" the default.
    assert _user_attr_lines(journal) == [
        R.ARCH, R.TRAIN, R.PARAM_COUNT, R.FLOPS, R.TEST_ACCURACY, R.FIT]
    stored = optuna.load_study(study_name="s", storage=open_storage(
        f"journal:///{journal}")).trials[0]
    record = R.to_record(stored)
    assert (record.family, record.cell, record.seed, record.engine, record.arch,
            record.train) == ("dense", "dense:units=8", 0, "optuna", ARCH, TRAIN)
    assert record.val_accuracy == 0.81 and record.test_accuracy == 0.8
    assert (record.epochs, record.train_seconds, record.best_epoch, record.converged) == (
        2, 1.235, 2, False)
    assert record.epoch_seconds == (0.6, 0.5) and record.test_curve == (0.7, 0.8)
    assert R.attrs(stored)[R.TRAIN_LOSS] == 0.4
    assert record.class_accuracy == (0.75, 1.0)  # each class's counts' diagonal share


def test_a_trial_stored_under_the_old_names_reads_as_one_stored_now():
    """Before this schema every measurement was its own attr, the family and the validation
    accuracy were stored too, JSON was written with spaces, Optuna's engine was stored, and
    (earlier still) the epochs run were "epochs"."""
    now = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.81)
    R.write(now, {**_setup(), **R.measured(Result())})
    old = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.81, user_attrs={
        **{k: v for k, v in _setup().items() if k not in (R.ARCH, R.TRAIN)},
        R.ARCH: json.dumps(ARCH), R.TRAIN: json.dumps(TRAIN), R.ENGINE: "optuna",
        R.FAMILY: "dense", R.VAL_ACCURACY: 0.81,
        **{k: v for k, v in R.measured(Result()).items() if k != R.EPOCHS_RUN},
        "epochs": 2})
    assert R.FIT in now.user_attrs
    assert not {R.ENGINE, R.FAMILY, R.VAL_ACCURACY} & set(now.user_attrs)
    clock = {"wall_seconds": None, "finished_at": None}  # when each was made differs
    assert (dataclasses.replace(R.to_record(old), **clock)
            == dataclasses.replace(R.to_record(now), **clock))
    assert R.attrs(old) == R.attrs(now)


def test_a_trials_clock_is_optunas_own_and_unset_until_it_finishes():
    trial = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.81)
    trial.datetime_start = datetime(2026, 12, 3, 21, 0, 0, tzinfo=UTC)
    trial.datetime_complete = datetime(2026, 12, 3, 21, 7, 30, tzinfo=UTC)
    record = R.to_record(trial)
    assert record.wall_seconds == 450.0
    assert record.finished_at == trial.datetime_complete.timestamp()
    trial.datetime_complete = None
    assert R.to_record(trial).wall_seconds is R.to_record(trial).finished_at is None


def test_a_key_outside_the_schema_is_refused_before_anything_is_written():
    trial = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.5)
    with pytest.raises(KeyError, match=r"not stored by the trial schema.*: epochs, val_acc"):
        R.write(trial, {R.TEST_ACCURACY: 0.5, R.VAL_ACCURACY: 0.5, "epochs": 3})
    assert trial.user_attrs == {}


def test_fit_details_written_twice_are_merged():
    trial = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.5)
    R.write(trial, {R.BEST_EPOCH: 1})
    R.write(trial, {R.TEST_CURVE: [0.5]})
    assert json.loads(trial.user_attrs[R.FIT]) == {R.BEST_EPOCH: 1, R.TEST_CURVE: [0.5]}


@pytest.mark.parametrize(("journal", "study"), [
    ("accuracy-search.journal", "search-cpu-fashion_mnist"),
    ("schedule-pilot.journal", "schedule-pilot-fashion_mnist")])
def test_the_published_journals_read_with_every_field_a_report_needs(journal, study):
    store = open_storage(f"journal:///{REPO / 'results' / journal}", create=False)
    records = R.trial_records(optuna.load_study(study_name=study, storage=store))
    done = [r for r in records if r.complete]
    assert done
    for r in done:
        assert r.family and r.cell and r.arch["family"] == r.family and r.train["epochs"]
        assert r.epochs == len(r.val_curve) and 1 <= r.best_epoch <= r.epochs
        assert r.converged is not None and 0 < r.train_accuracy <= 1
        assert len(r.epoch_seconds) == r.epochs


def test_the_trials_table_spreads_the_fit_details_into_their_old_columns():
    """``show --csv``: old and new trials of one study fill the same columns."""
    study = optuna.create_study(direction="maximize")
    now = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.81)
    R.write(now, {**_setup(), **R.measured(Result(converged=True))})
    old = optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.7, user_attrs={
        R.CONVERGED: False, R.BEST_EPOCH: 1})
    study.add_trials([now, old])
    frame = R.spread_fit(study.trials_dataframe(multi_index=False))
    assert "user_attrs_fit" not in frame
    assert list(frame["user_attrs_converged"]) == [True, False]
    assert list(frame["user_attrs_best_epoch"]) == [2, 1]
    assert frame["user_attrs_epoch_seconds"].iloc[0] == [0.6, 0.5]
