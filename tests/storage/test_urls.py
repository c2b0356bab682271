"""The default storage URL."""

import optuna

from storage import default_url, open_storage


def test_default_is_an_sqlite_file_in_the_output_folder(tmp_path):
    url = default_url(tmp_path / "runs")
    assert url == f"sqlite:///{tmp_path}/runs/studies.db"
    storage = open_storage(url)
    optuna.create_study(storage=storage, study_name="a")
    assert (tmp_path / "runs" / "studies.db").is_file()
    assert isinstance(storage, optuna.storages.RDBStorage)
    assert storage.get_heartbeat_interval() is not None
