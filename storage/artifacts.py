"""Trained models as Optuna artifacts: where they are stored, which trials keep one, and
getting one back.

A trial's model, and what it did with the test images (``search.seen``), are uploaded
with ``optuna.artifacts.upload_artifact`` at the end of the trial, while it still runs:
Optuna links an artifact to its trial by a trial system attr, and a finished trial takes
no attr (every store refuses it). So Optuna's own ``get_all_artifact_meta`` and
optuna-dashboard list every kept model, and the records read the links from there
(``storage.records.to_record``: ``model_artifact``, ``seen_artifact``). The store is a
folder (``FileSystemArtifactStore``), by default beside a file store (``runs/studies.db``
-> ``runs/studies.db.artifacts``), else in the output folder; workers on several machines
must share it (``--artifacts``).

Which trials keep theirs (``--keep-models``, :data:`KEEP`):

- ``best`` (the default): a trial keeps its model when, at its end, no completed trial of
  its cell (of the study, for a search) has a higher validation accuracy. Each worker
  decides for its own trial alone, from what is stored, and nothing kept is deleted, so no
  race between workers can lose a cell's best seed (when it ended, no completed trial was
  better) or leave a link to a deleted file. A model that a later seed beats stays: a
  finished trial's link cannot be removed, and deleting its file would leave Optuna and the
  dashboard a link to nothing. In random seed order a cell of n seeds keeps 1 + 1/2 + ...
  + 1/n models on average (1.83 of 3); deciding once every seed is in would keep one, but
  only by deleting files that stay linked.
- ``all``: every completed trial; ``none``: no model.

A unit run again after its trial failed removes the files its failed trial had uploaded
(a worker killed between an upload and the end of its trial; found by Optuna's links,
written before each file), so a resumed grid leaves no orphan; a twin closed by the
grid's claim never trains, so nothing is kept twice.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import (
    FileSystemArtifactStore,
    download_artifact,
    get_all_artifact_meta,
    upload_artifact,
)
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import TrialState

from storage import records
from storage.access import make_writable
from storage.errors import ArtifactError
from storage.records import MODEL_FILE, SEEN_FILE
from storage.urls import file_of

KEEP = ("best", "all", "none")
DEFAULT_KEEP = "best"
SUFFIX = ".artifacts"  # the folder beside a file store: NAME.artifacts


def default_location(url: str, out: str | os.PathLike[str]) -> Path:
    """The artifact folder of the store at ``url``: beside its file (SQLite, journal), or
    ``OUT/artifacts`` for a server."""
    path = file_of(url)
    return Path(out) / "artifacts" if path is None else path.with_name(path.name + SUFFIX)


def open_store(location: Path) -> FileSystemArtifactStore:
    """The store in ``location``, created if missing (for a worker that uploads)."""
    make_writable(location, ArtifactError, f"cannot create the artifact folder {location}",
                  f"cannot write to the artifact folder {location}: permission denied "
                  "(choose another with --artifacts, or --keep-models none)")
    return FileSystemArtifactStore(location)


def keeps(policy: str, value: float, rivals: Iterable[float]) -> bool:
    """Whether a trial of validation accuracy ``value`` keeps its model under ``policy``,
    ``rivals`` being the validation accuracies of the completed trials it is judged with."""
    if policy == "none":
        return False
    return policy == "all" or all(value >= r for r in rivals)


def _unit(attrs: Mapping[str, Any]) -> tuple[Any, Any]:
    """A trial's (cell, seed) from its user attrs."""
    return attrs.get(records.CELL), attrs.get(records.SEED)


def keep(trial: optuna.Trial, folder: Path, value: float, policy: str,
         store: FileSystemArtifactStore, *, by_cell: bool = True) -> str | None:
    """End of ``trial`` (still running), whose validation accuracy is ``value``: remove the
    files failed trials of its unit uploaded, then, if ``policy`` keeps this trial (judged
    within its cell, or the whole study without ``by_cell``), upload ``folder``'s
    :data:`MODEL_FILE` and :data:`SEEN_FILE`. Returns the model's artifact id, or None
    when nothing was kept."""
    unit = _unit(trial.user_attrs)
    trials = trial.study.get_trials(deepcopy=False)
    for failed in trials:  # by Optuna's links: written before each file, so none is missed
        if failed.state == TrialState.FAIL and _unit(failed.user_attrs) == unit:
            for meta in get_all_artifact_meta(failed, storage=trial.storage):
                remove(store, meta.artifact_id)
    rivals = (t.value for t in trials if t.state == TrialState.COMPLETE and t.value is not None
              and (not by_cell or _unit(t.user_attrs)[0] == unit[0]))
    if not keeps(policy, value, rivals):
        return None
    # Each link is written before its file: a trial another worker ended meanwhile is
    # refused here (UpdateFinishedTrialError, as the engines expect), before any file.
    model, _ = (upload_artifact(artifact_store=store, file_path=str(folder / name),
                                study_or_trial=trial) for name in (MODEL_FILE, SEEN_FILE))
    return model


def remove(store: FileSystemArtifactStore, artifact_id: str) -> None:
    """Remove one artifact's file; one already gone is fine (another worker swept it)."""
    with contextlib.suppress(ArtifactNotFound):
        store.remove(artifact_id)


def download(location: Path, artifact_id: str, file: Path) -> None:
    """Copy artifact ``artifact_id`` of the store in ``location`` to the new ``file``;
    ArtifactError (one line) when it is not there."""
    try:
        download_artifact(artifact_store=FileSystemArtifactStore(location),
                          file_path=str(file), artifact_id=artifact_id)
    except ArtifactNotFound:
        file.unlink(missing_ok=True)
        raise ArtifactError(f"artifact {artifact_id} is missing from {location}") from None
