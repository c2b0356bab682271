"""Opening a storage URL: one-line errors without the password, nothing created by reads."""

import pytest

from storage import StorageError, StorageURLError, open_storage


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


@pytest.mark.parametrize("scheme", ["sqlite:///", "journal:///"])
def test_reading_a_missing_store_creates_nothing(tmp_path, scheme):
    path = tmp_path / "typo" / "studies.db"
    with pytest.raises(StorageError, match="no study store at"):
        open_storage(f"{scheme}{path}", create=False)
    assert not path.parent.exists()


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
