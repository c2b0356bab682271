"""The journal of a 100-trial study stays under 300 kB (issue 22): a real study run through
the CLI into a journal file by two workers at once (as the definitive study runs), a grid
of 20 cells x 5 seeds, every trial trained (one epoch of a small dense net on 100 images)
and stored as any study's trials are."""

import optuna
import pytest

from storage import open_storage, trial_records
from storage.heartbeat import beat_folder
from tests import cli

CELLS, SEEDS = 20, 5
TRIALS = CELLS * SEEDS
LIMIT = 300_000  # bytes
PRESET = ('mode = "grid"\n[train]\nepochs = 1\n[[grid]]\nfamily = "dense"\n'
          f'params = {{ units = {list(range(4, 4 * CELLS + 4, 4))} }}\n')


@pytest.mark.slow
@pytest.mark.trains
def test_the_journal_of_a_100_trial_study_stays_under_300_kb(tmp_path):
    preset = tmp_path / "hundred.toml"
    preset.write_text(PRESET)
    journal = tmp_path / "s.journal"
    url = f"journal:///{journal}"
    args = ("run", "--preset", str(preset), "--seeds", str(SEEDS), "--train-subset", "100",
            "--storage", url, "--study-name", "s", "--out", str(tmp_path / "out"), "--quiet")
    workers = [cli.start(*args) for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
    study = optuna.load_study(study_name="s", storage=open_storage(url, create=False))
    records = trial_records(study)
    assert len(records) == TRIALS and all(r.complete for r in records)
    for r in records:  # everything a report reads is there
        assert None not in (r.family, r.cell, r.seed, r.arch, r.train, r.param_count, r.flops,
                            r.epochs, r.train_seconds, r.best_epoch, r.converged,
                            r.train_accuracy, r.train_loss)
        assert len(r.val_curve) == len(r.epoch_seconds) == 1
    assert not any('"heartbeat"' in line for line in journal.read_text().splitlines())
    assert not list(beat_folder(journal).glob("*"))
    size = journal.stat().st_size
    assert size < LIMIT, f"{size:,} bytes: {size / TRIALS:,.0f} per trial"
