"""Kept models (``storage.artifacts``) as the readers use them: which trial's model stands
for a cell, a copy of it, checked, for ``export``, and what it did with the test images
(``search.seen``) for ``report``.

No Keras here: a ``.keras`` file is a zip archive, checked as one, and the test images'
record is NumPy arrays, so ``export`` and ``report`` stay on the light floor.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from search import seen
from storage import TrialRecord
from storage.artifacts import download
from storage.errors import ArtifactError
from storage.records import SEEN_FILE

ARCHIVE = ("config.json", "model.weights.h5")  # what every .keras archive holds


def kept_trial(records: Iterable[TrialRecord], cell: str) -> TrialRecord | None:
    """The completed trial of ``cell`` whose model stands for it: the best by validation
    accuracy among those that kept one (the lowest seed on a tie); None when none did."""
    kept = [r for r in records if r.complete and r.cell == cell and r.model_artifact]
    return max(kept, key=lambda r: (r.val_accuracy or 0.0, -(r.seed or 0)), default=None)


def fetch(location: Path, record: TrialRecord, dest: Path) -> Path:
    """Copy ``record``'s kept model from the artifact folder ``location`` to ``dest``,
    replacing it whole (a copy beside it, checked, renamed over it); ArtifactError (one
    line) when the model is missing or not a whole ``.keras`` archive."""
    assert record.model_artifact is not None
    what = f"the model of trial {record.number} ({record.cell}, seed {record.seed})"
    part = dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        try:
            download(location, record.model_artifact, part)
        except ArtifactError as exc:
            raise ArtifactError(f"{what}: {exc}") from None
        if not _whole(part):
            raise ArtifactError(f"{what}: artifact {record.model_artifact} in {location} is "
                                "not a whole .keras archive (truncated or corrupt)")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def _whole(path: Path) -> bool:
    """Whether ``path`` is a zip archive that holds a Keras model, every member intact."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None and set(ARCHIVE) <= set(archive.namelist())
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        return False


def fetch_seen(location: Path, record: TrialRecord) -> seen.Seen:
    """What ``record``'s kept model did with the test images, read from the artifact folder
    ``location``; ArtifactError (one line) when it is missing or not whole."""
    what = f"the test images' record of trial {record.number} ({record.cell}, seed {record.seed})"
    if record.seen_artifact is None:
        raise ArtifactError(f"{what}: none was kept")
    with tempfile.TemporaryDirectory(prefix="seen-") as folder:
        path = Path(folder) / SEEN_FILE
        try:
            download(location, record.seen_artifact, path)
            return seen.read(path)
        except ArtifactError as exc:
            raise ArtifactError(f"{what}: {exc}") from None
        except ValueError as exc:
            raise ArtifactError(f"{what}: artifact {record.seen_artifact} in {location} is "
                                f"{exc}") from None
