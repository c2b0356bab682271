"""Storage URLs: real SQLite and journal files, masking, and one-line errors."""

import subprocess
import sys

import optuna
import pytest

from storage import StorageError, default_url, mask_url, open_storage
from storage.backends import (
    StorageURLError,
    grace_seconds,
    heartbeat_seconds,
    is_journal,
    mask_secrets,
    password_fragments,
)


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


def test_the_tables_that_make_a_store_ours_are_optunas():
    """storage.backends.OPTUNA_TABLES against Optuna's schema (private module: the one
    place this project reads it)."""
    from optuna.storages._rdb import models

    from storage.backends import OPTUNA_TABLES

    assert set(models.BaseModel.metadata.tables) | {"alembic_version"} == OPTUNA_TABLES


def _offline() -> bool:
    """Whether ``unshare -n`` (a process with no network) works here."""
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.fixture
def no_secrets_seen(monkeypatch):
    """Forget the passwords earlier tests' open_storage calls remembered (process-wide)."""
    from storage import backends

    monkeypatch.setattr(backends, "_secrets", set())


def test_every_piece_of_a_password_is_a_fragment_to_mask():
    assert password_fragments("postgresql://user:pa@ss@127.0.0.1:1/db") == {"pa@ss", "pa", "ss"}
    assert password_fragments("postgresql://u@h/db?password=x%40yz&sslmode=1") == {
        "x%40yz", "x@yz", "x", "yz"}
    assert password_fragments("postgresql://h/db") == set()
    assert password_fragments("sqlite:///x.db") == set()
    # a query password holding '@' no longer reads as the user part
    assert mask_url("postgresql://u@h:1/db?password=pa@ss") == "postgresql://u@h:1/db?password=***"


def test_short_pieces_are_masked_where_they_stand_alone_long_ones_everywhere(no_secrets_seen):
    url = "postgresql://user:pa@sswordy@h/db"
    text = "failed to resolve host 'sswordy@h': address pa unknown; paint 1sswordy2"
    assert mask_secrets(text, url) == (
        "failed to resolve host '***@h': address *** unknown; paint 1***2")


@pytest.mark.skipif(not _offline(), reason="needs unshare -n (a process without network)")
def test_a_drivers_message_with_a_piece_of_the_password_is_masked(no_secrets_seen):
    """SQLAlchemy reads the text after a raw '@' of the password as the host, and psycopg
    names it in its error. Run with no network (unshare -n): no name leaves the machine."""
    code = ("import psycopg\ntry:\n psycopg.connect(host='ss@127.0.0.1', port=1, user='user', "
            "password='pa', dbname='db', connect_timeout=2)\nexcept Exception as e:\n print(e)")
    said = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60).stdout
    assert "ss@127.0.0.1" in said  # the driver shows the password's tail
    masked = mask_secrets(said, "postgresql://user:pa@ss@127.0.0.1:1/db")
    assert "ss@" not in masked and "***@127.0.0.1" in masked


@pytest.mark.parametrize("url", ["postgresql://user:pa@ss@127.0.0.1:1/db",
                                 "postgresql://u@127.0.0.1:1/db?password=pa@ss"])
def test_a_raw_at_sign_in_a_password_is_refused_before_any_lookup(url):
    with pytest.raises(StorageURLError) as err:
        open_storage(url)
    assert "write it as %40" in str(err.value)
    assert "ss" not in str(err.value).replace("password", "")


@pytest.mark.parametrize("url", ["postgresql://user:x?y@127.0.0.1:1/db",
                                 "postgresql://user@srv:pw@127.0.0.1:1/db"])
def test_a_password_with_a_question_mark_or_a_user_with_an_at_sign_still_connects(url):
    """SQLAlchemy reads these right (Azure's user@server form included): not refused."""
    with pytest.raises(StorageError, match="cannot open storage") as err:
        open_storage(url)
    assert not isinstance(err.value, StorageURLError)
