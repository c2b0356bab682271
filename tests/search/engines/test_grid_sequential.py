"""A sequential grid run by several real workers (``python -m search.study run``) on SQLite,
PostgreSQL and a journal file: every unit its plan asks for is trained exactly once, the
plan ends asking for nothing, and a worker stopped by SIGTERM is resumed by the same command.

The data make the plan's growth certain: every image is the same grey and the classes are
balanced in validation and test, so every net scores exactly 1/3 on both and every paired
difference is exactly 0. With a margin of 0 no look can call that equivalent (nor decide a
sign, nor call it futile), so every comparison is open until the cap: the grid starts with
the first look's seeds and its plan adds the rest.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from search.analysis import plan_seeds, rule_of
from search.analysis.allocation import CAPPED
from storage import open_storage, trial_records
from tests import cli
from tests.search.datasets.make import arrays

pytestmark = [pytest.mark.slow, pytest.mark.trains]

LOOKS = (2, 3)  # each cell starts with 2 seeds; an open comparison asks for a 3rd
PRESET = """mode = "grid"
dataset = "npz:{data}"
[train]
epochs = 1
batch_size = 100
[[grid]]
family = "cnn"
params = {{ width = [2, 4] }}
fixed = {{ depth = 1, head = "gap", kernels = [3], dense_units = 4 }}
[sequential]
looks = {looks}
margin = 0.0
"""
RULE = rule_of({"looks": LOOKS, "margin": 0.0})
CELLS = ("cnn:width=2", "cnn:width=4")
FAST = {"SEARCH_HEARTBEAT_SECONDS": "1", "SEARCH_GRACE_SECONDS": "4"}


@pytest.fixture(scope="module")
def preset(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("sequential")
    data = arrays(classes=3, per_class=100, size=12, n_test=6)
    for split in ("x_train", "x_test"):
        data[split][:] = 128
    np.savez(folder / "grey.npz", **data)
    path = folder / "sequential.toml"
    path.write_text(PRESET.format(data=folder / "grey.npz", looks=list(LOOKS)))
    return str(path)


def command(preset: str, url: str, tmp_path: Path) -> list[str]:
    return ["run", "--preset", preset, "--storage", url, "--study-name", "seq", "--quiet",
            "--out", str(tmp_path / "out")]


def load(url: str) -> optuna.Study:
    return optuna.load_study(study_name="seq", storage=open_storage(url))


def run_workers(args: list[str], n: int = 2) -> list[str]:
    """Start ``n`` workers at once and wait for them; their outputs."""
    procs = [cli.start(*args, **FAST) for _ in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outs.append(out)
    return outs


def assert_finished(url: str) -> None:
    """Every unit of every cell up to the cap complete exactly once, nothing queued or
    running, every comparison capped, and the plan asks for nothing more."""
    study = load(url)
    assert not study.get_trials(states=(TrialState.WAITING, TrialState.RUNNING))
    done: dict[tuple[str, int], int] = {}
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        key = (t.user_attrs["cell"], t.user_attrs["seed"])
        done[key] = done.get(key, 0) + 1
    assert done == {(c, s): 1 for c in CELLS for s in range(RULE.cap)}
    plan = plan_seeds(trial_records(study), RULE, cells=CELLS)
    assert plan.units == ()
    assert {c.state for c in plan.contrasts} == {CAPPED}


def test_two_workers_on_sqlite(tmp_path, preset):
    url = f"sqlite:///{tmp_path}/studies.db"
    outs = run_workers(command(preset, url, tmp_path))
    assert_finished(url)
    assert any("sequential seeds: 6 trainings (6 with 3 seeds per cell); 0 of 2 comparisons "
               "decided, 0 equivalent, 2 capped" in " ".join(out.split()) for out in outs)


def test_two_workers_on_postgresql(tmp_path, preset, postgres_url):
    run_workers(command(preset, postgres_url, tmp_path))
    assert_finished(postgres_url)


def test_a_worker_stopped_by_sigterm_is_resumed_by_two_on_a_journal_file(tmp_path, preset):
    """Stopped while training a unit its plan added, the grid is completed by the same
    command, which plans again from the stored trials."""
    url = f"journal:///{tmp_path}/study.log"
    args = command(preset, url, tmp_path)
    worker = cli.start(*args, **FAST)
    deadline = time.monotonic() + 240
    while True:
        assert worker.poll() is None, worker.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no unit beyond the first look started in time"
        try:
            running = load(url).get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        except KeyError:  # the study is not created yet
            running = []
        if any(t.user_attrs.get("seed", 0) >= RULE.minimum for t in running):
            break
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == 130, err[-3000:]
    stopped = load(url).get_trials(states=(TrialState.FAIL,))
    assert [t.user_attrs["seed"] for t in stopped] == [RULE.minimum]
    run_workers(args)
    assert_finished(url)
