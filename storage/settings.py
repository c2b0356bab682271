"""Heartbeat, grace and retry periods, from the environment with defaults per storage."""

from __future__ import annotations

import os

from search import validation
from storage.errors import StorageError

HEARTBEAT_ENV, GRACE_ENV = "SEARCH_HEARTBEAT_SECONDS", "SEARCH_GRACE_SECONDS"
RETRY_ENV = "SEARCH_DB_RETRY_SECONDS"

# Beat, grace (seconds) by storage. A beat rewrites one row of a database, but on a journal
# file it appends a line (~140 bytes) that stays: the definitive study's journal was 22 %
# beats at 10 s (810 lines for 52 trials). Journals beat once a minute (a trial-hour adds
# ~8 KB) and a killed worker's unit is re-run after 3 minutes instead of 30 s.
BEATS = {"database": ("10", "30"), "journal": ("60", "180")}


def _seconds(name: str, default: str) -> int:
    return validation.positive_whole_text(name, os.environ.get(name, default), StorageError,
                                          "seconds")


def heartbeat_seconds(journal: bool = False) -> int:
    """How often a running trial says it is alive (env SEARCH_HEARTBEAT_SECONDS; default
    10, on a journal file 60)."""
    return _seconds(HEARTBEAT_ENV, BEATS["journal" if journal else "database"][0])


def grace_seconds(journal: bool = False) -> int:
    """Silence after which a running trial counts as dead (env SEARCH_GRACE_SECONDS;
    default 30, on a journal file 180).

    It must exceed the heartbeat interval, or live trials would be judged dead."""
    kind = "journal" if journal else "database"
    grace, beat = _seconds(GRACE_ENV, BEATS[kind][1]), heartbeat_seconds(journal)
    if grace <= beat:
        raise StorageError(f"{GRACE_ENV} ({grace}) must be longer than {HEARTBEAT_ENV} "
                           f"({beat}), or live trials are failed as dead")
    return grace


def retry_seconds() -> int:
    """How long a database call is retried through an outage (env SEARCH_DB_RETRY_SECONDS)."""
    return _seconds(RETRY_ENV, "60")
