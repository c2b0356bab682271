"""End to end: `python -m search.study` on a real SQLite file, read back through Optuna."""

import json
import os
import stat
from pathlib import Path

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore, download_artifact, get_all_artifact_meta
from optuna.trial import TrialState

from storage import records
from tests.cli import run as cli

# Every test runs `run` or reads the study the module fixture trained.
pytestmark = pytest.mark.trains

# What a grid trial stores (storage/records.py); family and val_accuracy are derived.
ATTRS = {"arch", "cell", "seed", "param_count", "flops", "test_accuracy", "fit"}  # as stored
# What a reader sees of it (storage.records.attrs), FIT unpacked.
READ = {"family", "val_accuracy", "epochs_run", "train_seconds", "host", "best_epoch",
        "converged", "train_accuracy", "train_loss", "class_accuracy"}


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """The issue's acceptance command, on a smaller subset to keep CI short."""
    tmp = tmp_path_factory.mktemp("study")
    url = f"sqlite:///{tmp}/X.db"
    args = ("run", "--preset", "scaling", "--epochs", "1", "--train-subset", "1000",
            "--seeds", "1", "--storage", url, "--study-name", "s", "--out", str(tmp / "D"))
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    return tmp, url, args, first


@pytest.mark.slow
def test_run_stores_every_cell_with_its_attributes(tiny_study):
    _, url, _, first = tiny_study
    study = optuna.load_study(study_name="s", storage=url)
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 15 == len(study.trials)
    assert study.metric_names == ["val_accuracy"]
    frame = study.trials_dataframe()  # pandas is a dependency
    assert len(frame) == 15 and "user_attrs_fit" in frame.columns
    assert "user_attrs_converged" in records.spread_fit(frame).columns
    read = {t.number: records.attrs(t) for t in trials}
    assert {a["family"] for a in read.values()} == {"cnn", "dense"}
    for t in trials:
        a = read[t.number]
        assert set(t.user_attrs) >= ATTRS and set(a) >= ATTRS - {"fit"} | READ
        assert a["epochs_run"] == 1 and a["seed"] == 0
        assert a["converged"] is False  # the 1-epoch limit stopped it
        assert t.value == a["val_accuracy"]
        assert list(t.intermediate_values) == [0]
        assert json.loads(t.user_attrs["arch"])["family"] == a["family"]
        # The test accuracy on each class: Fashion-MNIST's test split holds 1,000 images of
        # each, so their mean is the test accuracy.
        per_class = a["class_accuracy"]
        assert len(per_class) == 10 and all(0 <= x <= 1 for x in per_class)
        assert sum(per_class) / 10 == pytest.approx(a["test_accuracy"], abs=1e-6)
        record = records.to_record(t)  # one seed: each trial is the best of its cell
        assert record.model_artifact and record.seen_artifact
    cnn = [t for t in trials if read[t.number]["family"] == "cnn"]
    assert {t.params["width"] for t in cnn} == {4, 8, 16, 32}
    assert {t.params["depth"] for t in cnn} == {1, 2, 3}
    assert {json.loads(t.user_attrs["arch"])["head"] for t in cnn} == {"gap"}
    assert "depth \\ width" in first.stdout  # the width x depth table
    assert "dense:units=512" in first.stdout
    assert (Path(url.removeprefix("sqlite:///"))).is_file()


@pytest.mark.slow
def test_rerun_adds_no_trial(tiny_study):
    _, url, args, _ = tiny_study
    again = cli(*args)
    assert again.returncode == 0, again.stderr
    assert "this run: 0 trial(s)" in again.stdout
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 15


@pytest.mark.slow
def test_export_writes_the_best_architecture(tiny_study):
    tmp, url, _, _ = tiny_study
    done = cli("export", "--study-name", "s", "--storage", url, "--out", str(tmp / "E"))
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp / "E" / "s" / "best_architecture.json").read_text())
    umask = os.umask(0)
    os.umask(umask)
    for name in ("best_architecture.json", "best_architecture.md"):  # as any file written
        assert stat.S_IMODE((tmp / "E" / "s" / name).stat().st_mode) == 0o666 & ~umask
    assert {"study", "dataset", "family", "arch", "param_count", "flops", "val_accuracy",
            "test_accuracy", "trials", "versions"} <= set(data)
    assert set(data["test_accuracy"]) == {"mean", "ci95", "per_seed"}
    study = optuna.load_study(study_name="s", storage=url)
    assert data["val_accuracy"]["mean"] == pytest.approx(study.best_value)
    # The training settings travel with the architecture (benchmarks/accuracy.py reads them).
    assert data["train"] == json.loads(study.trials[data["trials"][0]].user_attrs["train"])
    assert data["train"]["epochs"] == 1
    md = (tmp / "E" / "s" / "best_architecture.md").read_text()
    assert "## Layers (as Keras builds them)" in md and "Total params" in md
    assert "| Layer (type) | Output shape | Param # |" in md  # every column
    assert 'model = keras.saving.load_model("best_model.keras")' in md


@pytest.mark.slow
def test_export_writes_the_trained_model_that_reproduces_the_stored_test_accuracy(tiny_study):
    """The best cell's kept model, as a plain Optuna session on the same storage lists and
    downloads it, loads in Keras and gives the stored test accuracy on the test split."""
    tmp, url, _, _ = tiny_study
    done = cli("export", "--study-name", "s", "--storage", url, "--out", str(tmp / "M"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    exported = tmp / "M" / "s" / "best_model.keras"
    model = json.loads((tmp / "M" / "s" / "best_architecture.json").read_text())["model"]
    assert model["file"] == exported.name
    storage = optuna.storages.RDBStorage(url)
    trial = optuna.load_study(study_name="s", storage=storage).trials[model["trial"]]
    metas = {m.filename: m for m in get_all_artifact_meta(trial, storage=storage)}
    assert set(metas) == {"model.keras", "seen.npz"}
    meta = metas["model.keras"]
    assert meta.artifact_id == model["artifact_id"]
    download_artifact(artifact_store=FileSystemArtifactStore(tmp / "X.db.artifacts"),
                      artifact_id=meta.artifact_id, file_path=str(tmp / "plain.keras"))
    assert (tmp / "plain.keras").read_bytes() == exported.read_bytes()

    import keras

    from search.data import load_splits

    test = load_splits("fashion_mnist")
    net = keras.saving.load_model(exported)
    predicted = net.predict(test.x_test, batch_size=512, verbose=0).argmax(axis=-1)
    assert abs(float((predicted == test.y_test).mean()) - trial.user_attrs["test_accuracy"]
               ) <= 1e-4


@pytest.mark.slow
def test_list_shows_the_study(tiny_study):
    _, url, _, _ = tiny_study
    listed = cli("list", "--storage", url)
    assert listed.returncode == 0
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert rows[0][:5] == ["s", "grid", "fashion_mnist", "15", "15"]
    assert "best cell (mean val over seeds)" in listed.stdout.splitlines()[0]


@pytest.mark.slow
def test_a_changed_setting_is_refused_and_the_store_kept(tiny_study):
    _, url, args, _ = tiny_study
    changed = list(args)
    changed[changed.index("--epochs") + 1] = "2"
    refused = cli(*changed)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith(
        "error: study 's' exists with other settings (train.epochs: stored 1, now 2)")
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 15


@pytest.mark.slow
def test_optuna_search_through_the_cli(tmp_path):
    url = f"sqlite:///{tmp_path}/search.db"
    done = cli("run", "--preset", "search", "--trials", "3", "--epochs", "1",
               "--train-subset", "300", "--storage", url, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "Heartbeat of storage" not in done.stderr  # no warning per trial in the log
    trials = optuna.load_study(study_name="search-fashion_mnist", storage=url).trials
    assert len(trials) == 3
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    for t in trials:
        assert t.user_attrs["param_count"] > 0 and "width" in t.params
        if t.user_attrs["param_count"] > 1_000_000:  # the preset's max_params
            assert t.state == TrialState.PRUNED and "val_accuracy" not in t.user_attrs
        else:
            assert t.state == TrialState.COMPLETE and set(t.user_attrs) >= ATTRS


@pytest.mark.slow
def test_keras_tuner_engine_through_the_cli(tmp_path):
    url = f"sqlite:///{tmp_path}/kt.db"
    args = ("run", "--preset", "search", "--engine", "keras-tuner", "--tuner", "random",
            "--trials", "2", "--epochs", "1", "--train-subset", "300", "--storage", url,
            "--out", str(tmp_path / "out"))
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="search-fashion_mnist-kt-random", storage=url)
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    # KerasTuner ran 2 trials; one over the preset's max_params ends failed, untrained and
    # unrecorded, and the others are stored.
    project = tmp_path / "out" / "keras_tuner" / "search-fashion_mnist-kt-random"
    kt = [json.loads(p.read_text()) for p in project.glob("trial_*/trial.json")]
    assert len(kt) == 2
    assert sum(t["status"] == "COMPLETED" for t in kt) == len(trials) == len(study.trials)
    assert all("exceed max_params" in t["message"] for t in kt if t["status"] == "FAILED")
    assert trials and all(t.user_attrs["param_count"] <= 1_000_000 for t in trials)
    assert {t.user_attrs["engine"] for t in trials} == {"keras-tuner"}
    assert all(set(t.user_attrs) >= ATTRS for t in trials)
    assert (tmp_path / "out" / "keras_tuner").is_dir()
    grid = cli("run", "--preset", "scaling", "--engine", "keras-tuner", "--out", str(tmp_path))
    assert grid.returncode == 2
    assert "KerasTuner needs a search preset" in grid.stderr.strip().splitlines()[-1]


NO_TENSORFLOW = """
import contextlib, io, sys
from search import study
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    code = study.main(sys.argv[1:])
loaded = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print("loaded:", ",".join(loaded) or "none")
"""


@pytest.mark.slow
@pytest.mark.parametrize("command", [["--help"], ["run", "--preset", "nope"], ["list"],
                                     ["report", "--study-name", "s"],
                                     ["export", "--study-name", "s"],
                                     ["show", "--study-name", "s"]])
def test_commands_that_do_not_train_never_import_tensorflow(tiny_study, command):
    import subprocess
    import sys

    tmp, url, _, _ = tiny_study
    extra = {"--help": [], "run": [], "show": ["--storage", url]}.get(
        command[0], ["--storage", url, "--out", str(tmp / "R")])
    done = subprocess.run([sys.executable, "-c", NO_TENSORFLOW, *command, *extra],
                          capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "loaded: none", done.stderr


@pytest.mark.slow
def test_show_prints_settings_counts_cells_and_the_best_cell_and_writes_a_csv(tiny_study):
    import csv

    tmp, url, _, _ = tiny_study
    target = tmp / "trials.csv"
    done = cli("show", "--study-name", "s", "--storage", url, "--csv", str(target))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "training: trained to convergence (patience 3, min_delta 0.002, at most 1 epochs)" in out
    assert "trials: 15 COMPLETE" in out
    assert "cnn:head=gap" not in out  # the head is fixed in this preset, not a cell key
    assert "cnn:width=4,depth=1" in out and "dense:units=512" in out
    assert "best cell (mean validation accuracy over 1 seed(s)): " in out
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 15
    assert {"user_attrs_cell", "user_attrs_converged", "value_val_accuracy"} <= set(rows[0])


ONE_CELL = ('mode = "grid"\n[train]\nepochs = 1\n[[grid]]\nfamily = "dense"\n'
            'params = { units = [8] }\n')


@pytest.mark.slow
@pytest.mark.parametrize(("flag", "epoch_lines", "trial_lines"),
                         [("--quiet", False, False), ("--verbose", True, True)])
def test_quiet_and_verbose(tmp_path, flag, epoch_lines, trial_lines):
    preset = tmp_path / "one.toml"
    preset.write_text(ONE_CELL)
    done = cli("run", "--preset", str(preset), "--train-subset", "200", "--storage",
               f"sqlite:///{tmp_path}/q.db", "--out", str(tmp_path / "out"), flag)
    assert done.returncode == 0, done.stderr
    assert ("/step - accuracy:" in done.stdout) == epoch_lines  # Keras' line per epoch
    assert ("[    0] dense:units=8 seed 0" in done.stdout) == trial_lines
    assert "best cell (by validation)" in done.stdout  # the summary is always printed
