"""Storage URLs: real SQLite and journal files, masking, and one-line errors."""

import optuna
import pytest

from storage import StorageError, default_url, mask_url, open_storage
from storage.backends import grace_seconds, heartbeat_seconds, is_journal


def test_default_is_an_sqlite_file_in_the_output_folder(tmp_path):
    url = default_url(tmp_path / "runs")
    assert url == f"sqlite:///{tmp_path}/runs/studies.db"
    storage = open_storage(url)
    optuna.create_study(storage=storage, study_name="a")
    assert (tmp_path / "runs" / "studies.db").is_file()
    assert isinstance(storage, optuna.storages.RDBStorage)
    assert storage.get_heartbeat_interval() is not None


def test_sqlite_files_use_write_ahead_logging(tmp_path):
    import sqlite3

    path = tmp_path / "wal.db"
    optuna.create_study(storage=open_storage(f"sqlite:///{path}"), study_name="w")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_workers_opening_a_new_sqlite_file_together_all_succeed(tmp_path):
    """They race to create Optuna's tables; the losers used to fail with 'UNIQUE constraint
    failed: alembic_version' (12 of 90 openings here before the retry covered SQLite)."""
    import threading

    errors: list[str] = []

    def opener(url: str) -> None:
        try:
            open_storage(url)
        except StorageError as exc:
            errors.append(str(exc))

    for i in range(15):
        url = f"sqlite:///{tmp_path}/race{i}.db"
        threads = [threading.Thread(target=opener, args=(url,)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_journal_file_storage(tmp_path):
    storage = open_storage(f"journal:///{tmp_path}/j/study.log")
    optuna.create_study(storage=storage, study_name="a").optimize(lambda t: 1.0, n_trials=2)
    again = open_storage(f"journal:///{tmp_path}/j/study.log")
    assert len(optuna.load_study(study_name="a", storage=again).trials) == 2


def test_passwords_are_masked():
    assert mask_url("postgresql://bob:s3cret@db:5432/lab") == "postgresql://bob:***@db:5432/lab"
    assert "s3cret" not in mask_url("postgresql+psycopg://bob:s3cret@db/lab")
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    # libpq's query-string form, and passwords holding '@' or '/' unescaped
    assert mask_url("postgresql://u@h/db?password=hunter2&sslmode=require") == (
        "postgresql://u@h/db?password=***&sslmode=require")
    assert mask_url("postgresql://bob:p@ss@db/lab") == "postgresql://bob:***@db/lab"
    assert mask_url("postgresql://bob:p/w@db/lab?sslpassword=k") == (
        "postgresql://bob:***@db/lab?sslpassword=***")
    assert mask_url("postgresql://db/lab") == "postgresql://db/lab"
    assert mask_url("postgresql://bob:pa?ss@db/lab") == "postgresql://bob:***@db/lab"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "malformed storage URL"),
        ("mysql+nodriver://u:pw@h/db", "unsupported storage"),
        ("sqlite://", "sqlite storage needs a file"),
        ("postgresql://bob:s3cret@127.0.0.1:1/lab", "cannot open storage postgresql://bob:***@"),
    ],
)
def test_bad_urls_fail_with_one_line_and_no_password(url, message):
    with pytest.raises(StorageError) as err:
        open_storage(url)
    text = str(err.value)
    assert message in text
    assert "\n" not in text
    assert "s3cret" not in text


def test_unwritable_sqlite_folder(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot create the folder"):
        open_storage(f"sqlite:///{blocked}/sub/studies.db")


@pytest.mark.parametrize("scheme", ["sqlite:///", "journal:///"])
def test_reading_a_missing_store_creates_nothing(tmp_path, scheme):
    path = tmp_path / "typo" / "studies.db"
    with pytest.raises(StorageError, match="no study store at"):
        open_storage(f"{scheme}{path}", create=False)
    assert not path.parent.exists()



def test_readers_do_not_wait_for_a_writer(tmp_path):
    """Read transactions begin deferred, so in WAL mode they read past a worker's write
    transaction. With BEGIN IMMEDIATE everywhere these reads waited for the 120 s busy
    timeout and then failed with "database is locked"."""
    import sqlite3

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


def test_an_old_absolute_journal_url_is_not_silently_replaced(tmp_path, monkeypatch):
    """journal:///x meant /x before it meant ./x (as sqlite:///x does): when only /x
    exists, the URL is refused instead of starting an empty study at ./x."""
    old = tmp_path / "old.log"
    optuna.create_study(storage=open_storage(f"journal:///{old}"), study_name="a")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match=f"for {old} write journal:///{old}"):
        open_storage(f"journal://{old}")  # the old absolute spelling, read as relative now
    assert not (tmp_path / str(old).lstrip("/")).exists()
