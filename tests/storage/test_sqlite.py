"""SQLite files: write-ahead logging, a writable folder, and readers that never wait."""

import sqlite3

import optuna
import pytest

from storage import StorageError, open_storage


def test_sqlite_files_use_write_ahead_logging(tmp_path):
    path = tmp_path / "wal.db"
    optuna.create_study(storage=open_storage(f"sqlite:///{path}"), study_name="w")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unwritable_sqlite_folder(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot create the folder"):
        open_storage(f"sqlite:///{blocked}/sub/studies.db")


def test_readers_do_not_wait_for_a_writer(tmp_path):
    """Read transactions begin deferred, so in WAL mode they read past a worker's write
    transaction. With BEGIN IMMEDIATE everywhere these reads waited for the 120 s busy
    timeout and then failed with "database is locked"."""
    url = f"sqlite:///{tmp_path}/lock.db"
    study = optuna.create_study(storage=open_storage(url), study_name="s")
    study.enqueue_trial({"x": 1})
    holder = sqlite3.connect(tmp_path / "lock.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a worker in the middle of a write transaction
    try:
        reader = optuna.load_study(study_name="s", storage=open_storage(url, create=False))
        assert [t.state.name for t in reader.get_trials()] == ["WAITING"]
        summaries = optuna.get_all_study_summaries(open_storage(url, create=False))
        assert [s.study_name for s in summaries] == ["s"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
