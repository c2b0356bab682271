"""compat.optuna against the installed Optuna: each private access still works as used."""

import inspect
import pathlib

import optuna
import pytest

from compat import optuna as compat

CHECKED = "5.0.0"  # the version compat/optuna.py was checked against


def changed(what: str) -> str:
    return (f"optuna {optuna.__version__} (compat/optuna.py checked against {CHECKED}): "
            f"{what}; update compat/optuna.py")


def test_trial_id_is_the_id_the_storage_gives_the_trial_number():
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="ids")
    study.enqueue_trial({})
    study.enqueue_trial({})
    asked = study.ask()  # a Trial
    study_id = storage.get_study_id_from_name("ids")
    for trial in (asked, *study.get_trials(deepcopy=False)):  # and FrozenTrials
        expected = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            got = compat.trial_id(trial)
        except AttributeError as exc:
            pytest.fail(changed(f"{type(trial).__name__} has no _trial_id ({exc})"))
        assert got == expected, changed(f"{type(trial).__name__}._trial_id is not its id")


def _optuna_source_outside_rdb_storage() -> str:
    root = pathlib.Path(optuna.__file__).parent
    rdb = root / "storages" / "_rdb" / "storage.py"
    return "\n".join(p.read_text() for p in root.rglob("*.py") if p != rdb)


@pytest.mark.parametrize("name", sorted({*compat.rdb_private_transactions(),
                                         *compat.rdb_private_reads()}))
def test_the_private_rdb_methods_exist_open_a_transaction_and_are_called_by_optuna(name):
    """Wrapping them (retry, deferred reads) matters only while Optuna calls them itself."""
    method = getattr(optuna.storages.RDBStorage, name, None)
    assert callable(method), changed(f"RDBStorage.{name} is gone")
    assert "_create_scoped_session(" in inspect.getsource(method), changed(
        f"RDBStorage.{name} no longer opens its own transaction")
    assert f".{name}(" in _optuna_source_outside_rdb_storage(), changed(
        f"nothing outside RDBStorage calls {name} any more")


def test_the_tables_that_make_a_store_ours_are_optunas():
    """storage.sqlite.OPTUNA_TABLES against Optuna's schema (private module: the one
    place this project reads it)."""
    from optuna.storages._rdb import models

    from storage.sqlite import OPTUNA_TABLES

    assert set(models.BaseModel.metadata.tables) | {"alembic_version"} == OPTUNA_TABLES, (
        changed("the RDB schema's tables differ from storage.sqlite.OPTUNA_TABLES"))


def test_artifact_links_are_the_uploads_optuna_lists(tmp_path):
    from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta, upload_artifact

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    store = FileSystemArtifactStore(tmp_path)
    for name in ("model.keras", "seen.npz"):
        (tmp_path / name).write_text(name)
        upload_artifact(artifact_store=store, file_path=str(tmp_path / name),
                        study_or_trial=trial)
    trial.set_user_attr("other", "value")
    study.tell(trial, 1.0)
    frozen = study.trials[0]
    listed = {m.filename: m.artifact_id for m in get_all_artifact_meta(frozen, storage=storage)}
    assert compat.artifact_links(frozen) == listed, changed(
        "artifact links are no longer 'artifacts:' system attrs holding ArtifactMeta JSON")
    assert set(listed) == {"model.keras", "seen.npz"}
