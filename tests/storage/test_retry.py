"""RDB storages retry the race of workers creating Optuna's tables together."""

import threading

from storage import StorageError, open_storage


def test_workers_opening_a_new_sqlite_file_together_all_succeed(tmp_path):
    """They race to create Optuna's tables; the losers used to fail with 'UNIQUE constraint
    failed: alembic_version' (12 of 90 openings here before the retry covered SQLite)."""
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
