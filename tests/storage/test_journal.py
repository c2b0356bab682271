"""Journal files: studies kept across openings, the file known, old URLs refused."""

from pathlib import Path

import optuna
import pytest

from storage import StorageError, open_storage
from storage.journal import journal_file


def test_journal_file_storage(tmp_path):
    storage = open_storage(f"journal:///{tmp_path}/j/study.log")
    optuna.create_study(storage=storage, study_name="a").optimize(lambda t: 1.0, n_trials=2)
    again = open_storage(f"journal:///{tmp_path}/j/study.log")
    assert len(optuna.load_study(study_name="a", storage=again).trials) == 2


def test_the_journal_file_comes_from_the_url(tmp_path, monkeypatch):
    """Relative as sqlite:/// URLs are; other storages have none."""
    monkeypatch.chdir(tmp_path)
    assert journal_file(open_storage("journal:///runs/s.log")) == Path("runs", "s.log")
    assert journal_file(open_storage(f"journal:///{tmp_path}/s.log")) == tmp_path / "s.log"
    assert journal_file(open_storage(f"sqlite:///{tmp_path}/s.db")) is None


def test_an_old_absolute_journal_url_is_not_silently_replaced(tmp_path, monkeypatch):
    """journal:///x meant /x before it meant ./x (as sqlite:///x does): when only /x
    exists, the URL is refused instead of starting an empty study at ./x."""
    old = tmp_path / "old.log"
    optuna.create_study(storage=open_storage(f"journal:///{old}"), study_name="a")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match=f"for {old} write journal:///{old}"):
        open_storage(f"journal://{old}")  # the old absolute spelling, read as relative now
    assert not (tmp_path / str(old).lstrip("/")).exists()
