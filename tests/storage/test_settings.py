"""Heartbeat and grace periods from the environment, per storage."""

import pytest

from storage import StorageError, open_storage
from storage.journal import is_journal
from storage.settings import grace_seconds, heartbeat_seconds


def test_a_grace_shorter_than_the_heartbeat_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCH_HEARTBEAT_SECONDS", "10")
    monkeypatch.setenv("SEARCH_GRACE_SECONDS", "5")
    with pytest.raises(StorageError, match=r"SEARCH_GRACE_SECONDS \(5\) must be longer than "
                                           r"SEARCH_HEARTBEAT_SECONDS \(10\)"):
        open_storage(f"sqlite:///{tmp_path}/g.db")
    assert not (tmp_path / "g.db").exists()


def test_journal_files_beat_once_a_minute_and_wait_longer(tmp_path, monkeypatch):
    """Each beat appends a line to a journal file: beats (and the grace) are 6x longer."""
    monkeypatch.delenv("SEARCH_GRACE_SECONDS", raising=False)
    monkeypatch.delenv("SEARCH_HEARTBEAT_SECONDS", raising=False)
    assert (heartbeat_seconds(), grace_seconds()) == (10, 30)
    assert (heartbeat_seconds(journal=True), grace_seconds(journal=True)) == (60, 180)
    monkeypatch.setenv("SEARCH_HEARTBEAT_SECONDS", "100")  # over 30, under 180
    with pytest.raises(StorageError, match=r"SEARCH_GRACE_SECONDS \(30\) must be longer"):
        open_storage(f"sqlite:///{tmp_path}/g.db")
    assert is_journal(open_storage(f"journal:///{tmp_path}/g.log"))
