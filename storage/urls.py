"""Storage URL forms, and the file a file-backed URL names (read as SQLAlchemy reads it)."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

JOURNAL_PREFIX = "journal://"
DEFAULT_FILE = "studies.db"
URL_FORMS = "sqlite:///FILE, postgresql://USER:PASSWORD@HOST:PORT/DB or journal:///FILE"


def default_url(out_dir: str | os.PathLike[str]) -> str:
    """The embedded default: an SQLite file inside the output directory."""
    return f"sqlite:///{Path(out_dir) / DEFAULT_FILE}"


def is_journal_url(url: str) -> bool:
    return url.startswith(JOURNAL_PREFIX)


def journal_path(url: str) -> Path:
    """As SQLAlchemy reads sqlite URLs: ``journal:///runs/x.log`` is relative to the working
    folder, ``journal:////tmp/x.log`` absolute."""
    path = url[len(JOURNAL_PREFIX):]
    return Path(path[1:] if path.startswith("/") else path)


def sqlite_path(parsed: sqlalchemy.URL) -> Path:
    """The file of an SQLite URL, also in SQLite's URI form (``file:PATH`` with ``uri=true``
    in the query, e.g. ``sqlite:///file:runs/studies.db?mode=ro&uri=true``)."""
    database = parsed.database or ""
    if parsed.query.get("uri") == "true" and database.startswith("file:"):
        return Path(urllib.parse.urlsplit(database).path)
    return Path(database)


def sqlite_read_only(parsed: sqlalchemy.URL) -> bool:
    """Whether an SQLite URL opens its file read-only (``?mode=ro&uri=true``)."""
    return parsed.query.get("uri") == "true" and parsed.query.get("mode") == "ro"


def file_of(url: str) -> Path | None:
    """The file behind a journal or SQLite URL (None for servers and malformed URLs)."""
    if is_journal_url(url):
        return journal_path(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None  # open_storage reports it
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return sqlite_path(parsed)


def missing_file(url: str) -> Path | None:
    """The file a file-backed URL names, when it does not exist."""
    path = file_of(url)
    return path if path is not None and not path.exists() else None
