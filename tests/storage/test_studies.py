"""Creating, joining and refusing studies on a real SQLite file."""

import optuna
import pytest

from storage import StorageError, open_storage, studies
from storage.studies import open_study

IDENTITY = {"mode": "grid", "dataset": "fashion_mnist", "train": {"epochs": 3}}


@pytest.fixture
def storage(tmp_path, monkeypatch):
    monkeypatch.setattr(studies, "JOIN_WAIT_SECONDS", 0.5)  # how long a joiner waits
    return open_storage(f"sqlite:///{tmp_path}/s.db")


def open_(storage, name="s", identity=IDENTITY, direction="maximize"):
    return open_study(storage, name, identity, sampler=optuna.samplers.RandomSampler(),
                      pruner=optuna.pruners.NopPruner(), direction=direction)


def test_the_first_worker_creates_and_the_next_joins(storage):
    _, created = open_(storage)
    study, again = open_(storage)
    assert (created, again) == (True, False)
    assert study.user_attrs[studies.IDENTITY]


def test_other_settings_are_refused_with_the_first_difference(storage):
    open_(storage)
    with pytest.raises(StorageError, match=r"train.epochs: stored 3, now 1"):
        open_(storage, identity={**IDENTITY, "train": {"epochs": 1}})


@pytest.mark.parametrize(("stored", "word"), [({"epochs": 3}, "lack"),
                                              ({"epochs": 3, "stop": "fixed", "old": 1}, "have")])
def test_a_study_of_another_version_is_named_as_such(storage, stored, word):
    open_(storage, identity={**IDENTITY, "train": stored})
    with pytest.raises(StorageError, match=rf"another version of search.study \(its settings "
                                           rf"{word} train\.(stop|old)\): read it with show"):
        open_(storage, identity={**IDENTITY, "train": {"epochs": 3, "stop": "fixed"}})


def test_another_direction_is_refused(storage):
    optuna.create_study(storage=storage, study_name="s", direction="minimize")
    with pytest.raises(StorageError, match=r"exists with direction\(s\) minimize"):
        open_(storage)


def test_an_empty_study_whose_creator_died_is_adopted(storage):
    optuna.create_study(storage=storage, study_name="s", direction="maximize")
    study, adopted = open_(storage)
    assert adopted and study.user_attrs[studies.IDENTITY]


def test_a_foreign_study_with_trials_is_refused(storage):
    optuna.create_study(storage=storage, study_name="s", direction="maximize").optimize(
        lambda t: 1.0, n_trials=1)
    with pytest.raises(StorageError, match=r"was not made by search\.study"):
        open_(storage)


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "tab\there", "x" * 129])
def test_unusable_study_names_are_refused(name):
    with pytest.raises(studies.StudyNameError):
        studies.check_study_name(name)


def test_output_folders_stay_inside_out_and_never_collide():
    assert studies.folder_name("scaling-fashion_mnist") == "scaling-fashion_mnist"
    names = ["..", ".", "a/../../b", "x y", "x/y", "x_y", "/etc", "ü"]
    folders = [studies.folder_name(n) for n in names]
    assert len(set(folders)) == len(names)
    for folder in folders:
        assert "/" not in folder and not folder.startswith(".") and folder
