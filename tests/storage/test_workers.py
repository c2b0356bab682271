"""Several real workers on one study: every grid unit runs exactly once, kills recover, and
the kept models (Optuna artifacts) are linked from their trials, none orphaned or twice.

Each test starts `python -m search.study` processes against a real storage (PostgreSQL
server, journal file, SQLite file) and reads the result back through Optuna's API.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.artifacts import get_all_artifact_meta
from optuna.trial import TrialState

from compat.optuna import trial_id
from storage import open_storage, records
from storage.artifacts import default_location
from storage.heartbeat import beat_folder
from tests import cli

pytestmark = pytest.mark.trains  # every test starts real `run` workers

GRID = """mode = "grid"
dataset = "fashion_mnist"
[train]
epochs = {epochs}
[[grid]]
family = "dense"
params = {{ units = [8, 16, 32, 64] }}
"""
FAST = {"SEARCH_HEARTBEAT_SECONDS": "1", "SEARCH_GRACE_SECONDS": "4"}


def preset(tmp_path: Path, epochs: int = 1) -> str:
    path = tmp_path / f"grid{epochs}.toml"
    path.write_text(GRID.format(epochs=epochs))
    return str(path)


def worker_args(tmp_path: Path, url: str, epochs: int = 1, subset: int = 300) -> list[str]:
    return ["run", "--preset", preset(tmp_path, epochs), "--storage", url, "--study-name", "w",
            "--seeds", "2", "--train-subset", str(subset), "--out", str(tmp_path / "out")]


def load(url: str) -> optuna.Study:
    return optuna.load_study(study_name="w", storage=open_storage(url))


def units_done(url: str) -> dict[tuple[str, int], int]:
    study = load(url)
    done: dict[tuple[str, int], int] = {}
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        key = (t.user_attrs["cell"], t.user_attrs["seed"])
        done[key] = done.get(key, 0) + 1
    return done


def run_workers(tmp_path: Path, url: str, n: int) -> None:
    """Run n workers to the end; every unit must be trained by exactly one of them."""
    procs = [cli.start(*worker_args(tmp_path, url)) for _ in range(n)]
    trained = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        trained += [line.split("]")[1].split("params")[0].strip() for line in out.splitlines()
                    if line.startswith("[") and " val " in line]
    assert sorted(trained) == sorted(f"dense:units={u} seed {s}" for u in (8, 16, 32, 64)
                                     for s in (0, 1))


def assert_exactly_once(url: str, tmp_path: Path) -> None:
    done = units_done(url)
    expected = {(f"dense:units={u}", s) for u in (8, 16, 32, 64) for s in (0, 1)}
    assert set(done) == expected  # none skipped
    assert set(done.values()) == {1}  # none twice
    study = load(url)
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    assert_models_kept(url, default_location(url, tmp_path / "out"))


def assert_models_kept(url: str, folder: Path) -> None:
    """The default policy (best) as Optuna sees it: every cell's best trial linked to its
    model and its test images' record, every file in the store linked from a completed
    trial (none orphaned by a failed or repeated unit), no trial with more."""
    storage = open_storage(url)
    study = optuna.load_study(study_name="w", storage=storage)
    linked: dict[int, list[str]] = {
        t.number: [m.artifact_id for m in get_all_artifact_meta(t, storage=storage)]
        for t in study.get_trials(deepcopy=False)}
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    for cell in {t.user_attrs["cell"] for t in complete}:
        best = max((t for t in complete if t.user_attrs["cell"] == cell), key=lambda t: t.value)
        record = records.to_record(best)
        assert sorted(linked[best.number]) == sorted([record.model_artifact,
                                                      record.seen_artifact]), cell
    assert all(len(ids) <= 2 for ids in linked.values())
    assert {p.name for p in folder.iterdir()} == {i for t in complete for i in linked[t.number]}


@pytest.mark.slow
def test_three_workers_on_postgresql(tmp_path, postgres_url):
    run_workers(tmp_path, postgres_url, 3)
    assert_exactly_once(postgres_url, tmp_path)
    written = "".join(p.read_text(errors="ignore") for p in (tmp_path / "out").rglob("*")
                      if p.is_file())
    assert "s3cret-pw" not in written  # no password in anything the project writes


@pytest.mark.slow
def test_two_workers_on_a_journal_file(tmp_path):
    url = f"journal:///{tmp_path}/study.log"
    run_workers(tmp_path, url, 2)
    assert_exactly_once(url, tmp_path)


@pytest.mark.slow
def test_two_workers_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/studies.db"
    run_workers(tmp_path, url, 2)
    assert_exactly_once(url, tmp_path)


def signal_mid_trial(url: str, proc, signum: int, timeout: float = 120) -> int | None:
    """Send ``signum`` once a trial runs between completed and waiting ones; return the
    number of the trial it stopped.

    Waiting units must remain, so the worker cannot finish before the signal lands. A
    SIGKILL can still land after the worker finished a trial and before it claimed the
    next one: then nothing is left RUNNING and None is returned.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            states = [t.state for t in load(url).get_trials(deepcopy=False)]
        except KeyError:  # the study is not created yet
            states = []
        if {TrialState.RUNNING, TrialState.COMPLETE, TrialState.WAITING} <= set(states):
            proc.send_signal(signum)
            proc.wait(timeout=120)
            if signum == signal.SIGKILL:
                running = load(url).get_trials(states=(TrialState.RUNNING,))
                assert len(running) <= 1  # a worker runs one trial at a time
                return running[0].number if running else None
            return max(t.number for t in load(url).get_trials(deepcopy=False)
                       if t.state != TrialState.WAITING)
        time.sleep(0.2)
    raise AssertionError("no trial started running in time")


def kill_mid_trial(url: str, args: list[str], env: dict[str, str], attempts: int = 3
                   ) -> tuple[int, float]:
    """Start a worker and kill -9 it while a trial runs; return that trial's number and
    when (``time.time()``) the worker was gone. A kill that landed between two trials
    left nothing to recover: another worker is started and killed."""
    for _ in range(attempts):
        killed = signal_mid_trial(url, cli.start(*args, **env), signal.SIGKILL)
        if killed is not None:
            return killed, time.time()
    raise AssertionError(f"{attempts} kills in a row landed between two trials")


def snapshot(url: str) -> dict[int, tuple]:
    study = load(url)
    return {t.number: (t.value, t.params, t.user_attrs, t.intermediate_values)
            for t in study.get_trials(states=(TrialState.COMPLETE,))}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_killed_worker_is_recovered_by_the_next_run(tmp_path, kind):
    url = (f"sqlite:///{tmp_path}/studies.db" if kind == "sqlite"
           else f"journal:///{tmp_path}/study.log")
    args = worker_args(tmp_path, url, epochs=3, subset=6000)
    killed, killed_at = kill_mid_trial(url, args, FAST)
    before = snapshot(url)
    beats = beat_folder(tmp_path / "study.log")
    if kind == "journal":  # the killed trial's last beat is beside the journal, not in it
        assert [p.name for p in beats.iterdir()] == [str(trial_id(load(url).trials[killed]))]

    grace = int(FAST["SEARCH_GRACE_SECONDS"])
    time.sleep(grace + 1)
    launched = time.time()
    rerun = cli.run(*args, **FAST)
    assert rerun.returncode == 0, rerun.stderr
    study = load(url)
    assert study.trials[killed].state == TrialState.FAIL
    assert_exactly_once(url, tmp_path)
    after = snapshot(url)
    assert {n: after[n] for n in before} == before  # completed trials untouched
    if kind == "journal":  # a study of beating trials: no beat in the journal, none left
        assert '"heartbeat"' not in (tmp_path / "study.log").read_text()
        assert not any(beats.iterdir())
    # Recovery: the dead trial is failed only after the grace, and by the next run before
    # that run trains anything (its first look: the unit is back at once, not after the grid).
    failed_at = study.trials[killed].datetime_complete.timestamp()
    first_rerun = min(t.datetime_start.timestamp() for t in study.trials
                      if t.number in after and t.number not in before)
    assert failed_at - killed_at > grace
    assert launched <= failed_at <= first_rerun
    print(f"{kind}: killed trial failed {failed_at - killed_at:.1f} s after the kill "
          f"(grace {grace} s), {failed_at - launched:.1f} s after the next run started")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_marks_the_running_trial_failed(tmp_path, signum):
    url = f"sqlite:///{tmp_path}/studies.db"
    worker = cli.start(*worker_args(tmp_path, url, epochs=3, subset=6000))
    interrupted = signal_mid_trial(url, worker, signum)
    _, err = worker.communicate()
    assert worker.returncode == 130
    assert err.strip().splitlines()[-1] == (
        "interrupted: the running trial is marked FAIL; run the same command to resume")
    assert "Traceback" not in err
    trial = load(url).trials[interrupted]
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "interrupted"


@pytest.mark.slow
def test_a_worker_restarted_inside_the_grace_waits_and_finishes_the_grid(tmp_path):
    """A pod restart: kill -9 mid-trial, the same command at once. The killed trial still
    looks alive, so the new worker must wait for it to go stale, re-run it and exit 0.

    The grace is an hour, and the test ends it once the new worker waits, by dating the
    killed trial's last beat back: with a fixed grace (20 s, then 45 s) the new worker
    found the trial already stale whenever its other units took longer on a loaded machine.
    """
    url = f"journal:///{tmp_path}/study.log"
    args = worker_args(tmp_path, url, epochs=3, subset=6000)
    grace = 3600
    long_grace = {**FAST, "SEARCH_GRACE_SECONDS": str(grace)}
    killed, _ = kill_mid_trial(url, args, long_grace)
    beat = beat_folder(tmp_path / "study.log") / str(trial_id(load(url).trials[killed]))
    rerun = cli.start(*args, **long_grace, PYTHONUNBUFFERED="1")
    watchdog = threading.Timer(600, rerun.kill)
    watchdog.start()
    try:
        for line in rerun.stdout:
            if "waiting for 1 unit(s) running on other workers" in line:
                break
        else:
            pytest.fail(f"the new worker never waited: {rerun.communicate()[1]}")
        assert load(url).trials[killed].state == TrialState.RUNNING  # alive within its grace
        aged_at = time.time()
        beat.touch()  # also when the kill landed between the claim and the first beat
        os.utime(beat, (aged_at - grace - 60,) * 2)  # its grace is over
        _, err = rerun.communicate()
    finally:
        watchdog.cancel()
    assert rerun.returncode == 0, err
    trial = load(url).trials[killed]
    assert trial.state == TrialState.FAIL
    assert trial.datetime_complete.timestamp() >= aged_at  # judged dead only then
    assert_exactly_once(url, tmp_path)


@pytest.mark.slow
def test_a_grid_stopped_by_its_trial_cap_or_timeout_exits_incomplete(tmp_path):
    url = f"sqlite:///{tmp_path}/studies.db"
    capped = cli.run(*worker_args(tmp_path, url), "--trials", "3")
    assert capped.returncode == 3
    assert capped.stderr.strip().splitlines()[-1] == (
        "incomplete: 5 of 8 units not done (stopped by --timeout or --trials); "
        "run the same command to resume")
    assert len(units_done(url)) == 3
    # The deadline is checked before each claim: one unit may start, none after it (a unit
    # takes far longer than 1 ms; with 1 s, a fast machine ran two units and failed CI).
    timed = cli.run(*worker_args(tmp_path, url), "--timeout", "0.001")
    assert timed.returncode == 3, timed.stderr
    assert timed.stderr.strip().splitlines()[-1].startswith("incomplete: ")
    assert len(units_done(url)) in (3, 4)
    assert cli.run(*worker_args(tmp_path, url)).returncode == 0
    assert_exactly_once(url, tmp_path)


@pytest.mark.slow
def test_the_queue_follows_the_command_and_can_be_dropped(tmp_path):
    """After a 2-seed run was stopped, a 1-seed run trains only seed 0; --drop-queue fails
    the waiting seed-1 units, and a later 2-seed run queues and trains them again."""
    url = f"sqlite:///{tmp_path}/studies.db"
    two = worker_args(tmp_path, url)  # 4 cells x 2 seeds
    one = [*two[: two.index("--seeds")], "--seeds", "1", *two[two.index("--seeds") + 2:]]
    assert cli.run(*two, "--trials", "1").returncode == 3
    done = cli.run(*one)
    assert done.returncode == 0, done.stderr
    assert "4 queued unit(s) beyond this command's grid (e.g. more seeds) stay waiting" in (
        done.stdout)
    assert {seed for _, seed in units_done(url)} == {0}
    waiting = load(url).get_trials(states=(TrialState.WAITING,))
    assert {t.user_attrs["seed"] for t in waiting} == {1} and len(waiting) == 4
    dropped = cli.run(*one, "--drop-queue")
    assert "dropped 4 queued unit(s)" in dropped.stdout
    failed = load(url).get_trials(states=(TrialState.FAIL,))
    assert [t.user_attrs["fail_reason"] for t in failed] == ["dropped from the queue"] * 4
    assert cli.run(*two).returncode == 0
    assert_exactly_once(url, tmp_path)


@pytest.mark.slow
def test_a_postgresql_restart_mid_run_is_survived(tmp_path, postgres_server, postgres_url):
    """The server goes down for 5 s while a trial trains: the heartbeat (every second here)
    meets closed connections and a refused server. The worker retries, finishes the grid
    and exits 0 (without the retry it died with a traceback)."""
    args = worker_args(tmp_path, postgres_url, epochs=3, subset=6000)
    worker = cli.start(*args, SEARCH_HEARTBEAT_SECONDS="1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.communicate()[1]
        try:
            states = {t.state for t in load(postgres_url).get_trials(deepcopy=False)}
        except KeyError:
            states = set()
        if {TrialState.RUNNING, TrialState.COMPLETE} <= states:
            break
        time.sleep(0.2)
    postgres_server.restart(5)
    _, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err
    assert "Traceback" not in err
    assert_exactly_once(postgres_url, tmp_path)
