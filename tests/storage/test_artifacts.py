"""Kept models as Optuna artifacts on real stores: the keep policy, a resumed unit, a trial
another worker ended, and what a plain Optuna session sees (no training: any file is a
model here; tests/storage/test_workers.py has real workers upload real models)."""

from pathlib import Path

import optuna
import pytest
from optuna.artifacts import (
    FileSystemArtifactStore,
    download_artifact,
    get_all_artifact_meta,
    upload_artifact,
)
from optuna.trial import TrialState

from storage import Claimer, Unit, open_storage, queue_missing
from storage import artifacts as A
from storage import records as R


def test_the_store_is_beside_a_file_store_and_in_the_output_folder_for_a_server(tmp_path):
    assert A.default_location(f"sqlite:///{tmp_path}/s.db", "out") == tmp_path / "s.db.artifacts"
    assert A.default_location(f"journal:///{tmp_path}/s.log", "out") == (
        tmp_path / "s.log.artifacts")
    assert A.default_location("postgresql://u:p@h/db", tmp_path) == tmp_path / "artifacts"


@pytest.mark.parametrize(("policy", "value", "kept"), [
    ("best", 0.8, True), ("best", 0.9, True), ("best", 0.7, False),
    ("all", 0.7, True), ("none", 0.9, False)])
def test_the_keep_policy(policy, value, kept):
    assert A.keeps(policy, value, [0.8, 0.6]) is kept
    assert A.keeps(policy, value, []) is (policy != "none")  # the first of its cell


def grid(tmp_path: Path, url: str | None = None):
    """A study of two cells x two seeds queued as the grid queues them, and its store."""
    storage = open_storage(url or f"sqlite:///{tmp_path}/s.db")
    study = optuna.create_study(storage=storage, study_name="g", direction="maximize")
    queue_missing(study, [Unit(cell, seed, {}) for seed in (0, 1) for cell in ("a", "b")])
    store = A.open_store(tmp_path / "models")
    return study, storage, Claimer(study, storage), store


def model(tmp_path: Path, text: str) -> Path:
    """A folder as a training leaves it: a model and its test images' record."""
    folder = tmp_path / text
    folder.mkdir()
    (folder / A.MODEL_FILE).write_text(text)
    (folder / A.SEEN_FILE).write_text(f"{text} seen")
    return folder


def files(store_dir: Path) -> set[str]:
    return {p.name for p in store_dir.iterdir()}


def ids(trial: optuna.trial.FrozenTrial) -> set[str]:
    """The artifact ids a kept trial stored: its model's and its record's."""
    record = R.to_record(trial)
    assert record.model_artifact and record.seen_artifact
    return {record.model_artifact, record.seen_artifact}


def test_best_keeps_a_trial_no_completed_trial_of_its_cell_beats(tmp_path):
    study, _, claimer, store = grid(tmp_path)
    first = claimer.claim()  # cell a, seed 0
    kept = A.keep(first, model(tmp_path, "a0"), 0.8, "best", store)
    study.tell(first, 0.8)
    rival = claimer.claim()  # cell b, seed 0: another cell, not a rival
    assert A.keep(rival, model(tmp_path, "b0"), 0.5, "best", store) is not None
    study.tell(rival, 0.5)
    worse = claimer.claim()  # cell a, seed 1
    assert A.keep(worse, model(tmp_path, "a1"), 0.7, "best", store) is None
    study.tell(worse, 0.7)
    assert files(tmp_path / "models") == ids(study.trials[0]) | ids(study.trials[1])
    # Judged within the whole study (a search), cell b's seed 1 at 0.75 trails cell a's 0.8.
    last = claimer.claim()
    assert A.keep(last, model(tmp_path, "b1"), 0.75, "best", store, by_cell=False) is None

    # What a plain Optuna session on the same storage sees: the link, the file, the id.
    plain_storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/s.db")
    plain = optuna.load_study(study_name="g", storage=plain_storage)
    metas = get_all_artifact_meta(plain.trials[0], storage=plain_storage)
    record = R.to_record(plain.trials[0])  # the records read Optuna's links
    assert {(m.artifact_id, m.filename) for m in metas} == {
        (kept, "model.keras"), (record.seen_artifact, "seen.npz")}
    assert record.model_artifact == kept
    download_artifact(artifact_store=FileSystemArtifactStore(tmp_path / "models"),
                      artifact_id=kept, file_path=str(tmp_path / "got.keras"))
    assert (tmp_path / "got.keras").read_text() == "a0"
    assert get_all_artifact_meta(plain.trials[2], storage=plain_storage) == []


def test_all_keeps_every_trial_and_none_keeps_none(tmp_path):
    study, _, claimer, store = grid(tmp_path)
    for policy, value in (("all", 0.9), ("all", 0.1), ("none", 0.99)):
        trial = claimer.claim()
        A.keep(trial, model(tmp_path, f"{policy}{value}"), value, policy, store)
        study.tell(trial, value)
    assert [R.to_record(t).model_artifact is not None for t in study.trials[:3]] == [
        True, True, False]
    assert len(files(tmp_path / "models")) == 4  # two kept trials, two files each


def test_a_resumed_unit_removes_the_files_its_failed_trial_left(tmp_path):
    """A worker killed between its upload and the end of its trial (here even before its
    ids were stored: Optuna's link alone is there): the heartbeat fails the trial, the unit
    is queued again, and its new trial removes the orphaned file."""
    study, storage, claimer, store = grid(tmp_path)
    killed = claimer.claim()  # cell a, seed 0
    orphan = upload_artifact(artifact_store=store, study_or_trial=killed,
                             file_path=str(model(tmp_path, "killed") / A.MODEL_FILE))
    other = claimer.claim()  # cell b, seed 0: failed too, but another unit
    A.keep(other, model(tmp_path, "other"), 0.9, "best", store)
    for trial in (killed, other):
        study.tell(trial, state=TrialState.FAIL)
    assert queue_missing(study, [Unit("a", 0, {})]) == 1
    again = Claimer(study, storage, [Unit("a", 0, {})]).claim()
    assert again.user_attrs[R.CELL] == "a" and again.user_attrs[R.SEED] == 0
    A.keep(again, model(tmp_path, "again"), 0.6, "best", store)
    study.tell(again, 0.6)
    assert files(tmp_path / "models") == ids(study.trials[-1]) | ids(study.trials[1])
    assert orphan not in files(tmp_path / "models")


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_trial_another_worker_ended_is_refused_before_any_file(tmp_path, kind):
    """The heartbeat check of another worker failed this trial while it trained: the link
    is refused as the engines expect (they drop the result), and no file is written."""
    url = f"journal:///{tmp_path}/s.log" if kind == "journal" else None
    study, _, claimer, store = grid(tmp_path, url)
    trial = claimer.claim()
    study.tell(trial, state=TrialState.FAIL)  # as storage.heartbeat does for a stale trial
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        A.keep(trial, model(tmp_path, "late"), 0.9, "best", store)
    assert files(tmp_path / "models") == set()
