"""Passwords masked in URLs and in every message, with every piece a parser could cut."""

import subprocess
import sys

import pytest

from storage import mask_url
from storage.masking import mask_secrets, password_fragments


def _offline() -> bool:
    """Whether ``unshare -n`` (a process with no network) works here."""
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.fixture(autouse=True)
def no_secrets_seen(monkeypatch):
    """Forget the passwords earlier tests' open_storage calls remembered (process-wide):
    a remembered piece such as ``x`` would be masked in every URL here."""
    from storage import masking

    monkeypatch.setattr(masking, "_secrets", set())


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


def test_every_piece_of_a_password_is_a_fragment_to_mask():
    assert password_fragments("postgresql://user:pa@ss@127.0.0.1:1/db") == {"pa@ss", "pa", "ss"}
    assert password_fragments("postgresql://u@h/db?password=x%40yz&sslmode=1") == {
        "x%40yz", "x@yz", "x", "yz"}
    assert password_fragments("postgresql://h/db") == set()
    assert password_fragments("sqlite:///x.db") == set()
    # a query password holding '@' no longer reads as the user part
    assert mask_url("postgresql://u@h:1/db?password=pa@ss") == "postgresql://u@h:1/db?password=***"


def test_short_pieces_are_masked_where_they_stand_alone_long_ones_everywhere():
    url = "postgresql://user:pa@sswordy@h/db"
    text = "failed to resolve host 'sswordy@h': address pa unknown; paint 1sswordy2"
    assert mask_secrets(text, url) == (
        "failed to resolve host '***@h': address *** unknown; paint 1***2")


@pytest.mark.skipif(not _offline(), reason="needs unshare -n (a process without network)")
def test_a_drivers_message_with_a_piece_of_the_password_is_masked():
    """SQLAlchemy reads the text after a raw '@' of the password as the host, and psycopg
    names it in its error. Run with no network (unshare -n): no name leaves the machine."""
    code = ("import psycopg\ntry:\n psycopg.connect(host='ss@127.0.0.1', port=1, user='user', "
            "password='pa', dbname='db', connect_timeout=2)\nexcept Exception as e:\n print(e)")
    said = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60).stdout
    assert "ss@127.0.0.1" in said  # the driver shows the password's tail
    masked = mask_secrets(said, "postgresql://user:pa@ss@127.0.0.1:1/db")
    assert "ss@" not in masked and "***@127.0.0.1" in masked
