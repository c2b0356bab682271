"""The bad-input table: one line on stderr, a non-zero exit, nothing stored lost.

Every case runs the real CLI against a real SQLite store that already holds a study, and
checks the study's trials (number, state, values, user attrs) are what they were.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import optuna
import pytest

from tests import cli

TINY = 'mode = "grid"\n[train]\nepochs = 1\n[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n'


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store holding study 'kept' with one completed trial."""
    tmp = tmp_path_factory.mktemp("bad")
    url = f"sqlite:///{tmp}/studies.db"
    done = cli.run("run", "--preset", write(tmp, "tiny.toml", TINY), "--train-subset", "200",
                   "--storage", url, "--study-name", "kept", "--out", str(tmp / "out"))
    assert done.returncode == 0, done.stderr
    optuna.create_study(storage=url, study_name="minimizer", direction="minimize")
    optuna.create_study(storage=url, study_name="two-objectives",
                        directions=["maximize", "minimize"])
    optuna.create_study(storage=url, study_name="foreign").optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # another tool's study
    empty = optuna.create_study(storage=url, study_name="empty", direction="maximize")
    empty.set_user_attr("identity", "{}")  # ours, created by a run that trained nothing
    return tmp, url


def snapshot(url: str) -> list[tuple]:
    """Everything stored about study 'kept''s trials, to compare before and after a case."""
    return [(t.number, t.state, t.values, t.user_attrs, t.system_attrs) for t in
            optuna.load_study(study_name="kept", storage=url).trials]


def fashion_dir(folder: Path, images: bytes) -> str:
    """A data folder whose training images file holds ``images`` (other files valid)."""
    data = folder / "fm"
    data.mkdir(exist_ok=True)
    real = Path("/usr/share/datasets/fashion-mnist")
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (data / name).write_bytes((real / name).read_bytes())
    (data / "train-images-idx3-ubyte.gz").write_bytes(images)
    return str(data)


def cnn_preset(folder: Path, params: str) -> str:
    """A one-grid preset file for the cnn family with the given inline ``params``."""
    text = TINY.replace('family = "dense"\nparams = { units = [8] }',
                        f'family = "cnn"\nparams = {{ {params} }}')
    return write(folder, "cnn.toml", text)


def header(count: int) -> bytes:
    return (0x803).to_bytes(4, "big") + count.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2


def _latin1(folder: Path) -> Path:
    path = folder / "latin1.toml"
    path.write_bytes(TINY.replace("[train]", "# café\n[train]").encode("latin-1"))
    return path


def _read_only(url: str) -> str:
    """SQLite's URI form of the same file, opened read-only (as root, file modes do not
    stop writes; this does)."""
    return url.replace("sqlite:///", "sqlite:///file:") + "?mode=ro&uri=true"


CASES = {
    "unknown preset": (lambda t, u: ["--preset", "nope"], 2, "unknown preset 'nope'"),
    "malformed preset": (lambda t, u: ["--preset", write(t, "bad.toml", "mode = [")], 2,
                         "is not valid TOML"),
    "unknown dataset": (lambda t, u: ["--dataset", "imagenet"], 2, "unknown dataset 'imagenet'"),
    "missing data": (lambda t, u: ["--data-dir", str(t / "nowhere")], 1, "nowhere"),
    "truncated idx": (lambda t, u: ["--data-dir", fashion_dir(t, gzip.compress(
        header(60000) + bytes(1000)))], 1, "truncated"),
    "corrupted gzip": (lambda t, u: ["--data-dir", fashion_dir(t, b"\x1f\x8b\x08garbage")], 1,
                       "train-images-idx3-ubyte.gz: corrupted gzip file"),
    "checksum mismatch": (lambda t, u: ["--data-dir", fashion_dir(t, gzip.compress(
        header(60000) + bytes(60000 * 784), compresslevel=1))], 1, "checksum mismatch"),
    "width <= 0": (lambda t, u: ["--preset", cnn_preset(t, "width = [0]")], 2,
                   "width must be a positive integer, got 0"),
    "non-integer width": (lambda t, u: ["--preset", cnn_preset(t, "width = [1.5]")], 2,
                          "width must be a positive integer, got 1.5"),
    "depth too large": (lambda t, u: ["--preset", cnn_preset(t, "depth = [5]")], 2,
                        "pools a 28x28 input to 1x1, below 2x2; at most 4 blocks"),
    "epochs <= 0": (lambda t, u: ["--epochs", "0"], 2, "epochs must be a positive integer"),
    "epochs beyond int64 steps": (lambda t, u: ["--epochs", str(10**20)], 2,
                                  "epochs must be an integer from 1 to 10,000"),
    "huge batch size": (lambda t, u: ["--batch-size", str(10**11)], 2,
                        "batch_size must be an integer from 1 to 65,536"),
    "timeout not a number": (lambda t, u: ["--timeout", "nan"], 2,
                             "timeout must be a positive number, got nan"),
    "infinite timeout": (lambda t, u: ["--timeout", "inf"], 2,
                         "timeout must be a positive number, got inf"),
    "subset larger than the data": (lambda t, u: ["--train-subset", "999999"], 1,
                                    "train_subset 999,999 exceeds the 50,000 training images"),
    "unknown family": (lambda t, u: ["--preset", write(t, "fam.toml", TINY.replace(
        '"dense"', '"resnet"'))], 2, "unknown family 'resnet'"),
    "malformed storage URL": (lambda t, u: ["--storage", "postgresql://u:pw@host:notaport/db"],
                              2, "malformed storage URL"),
    "unreachable postgresql": (lambda t, u: ["--storage", "postgresql://u:pw@127.0.0.1:9/db"], 1,
                               "cannot open storage postgresql://u:***@127.0.0.1:9/db"),
    "other direction": (lambda t, u: ["--preset", write(t, "tiny.toml", TINY), "--storage", u,
                                      "--study-name", "minimizer"], 1,
                        "exists with direction(s) minimize"),
    "multi-objective study": (lambda t, u: ["--preset", write(t, "tiny.toml", TINY),
                                            "--storage", u, "--study-name", "two-objectives"],
                              1, "exists with direction(s) maximize, minimize"),
    "other space": (lambda t, u: ["--preset", write(t, "tiny2.toml", TINY.replace("[8]", "[9]")),
                                  "--storage", u, "--study-name", "kept", "--train-subset",
                                  "200"], 1, "exists with other settings (grids: stored"),
    "empty study name": (lambda t, u: ["--study-name", ""], 2, "study name must not be empty"),
    "study name with a newline": (lambda t, u: ["--study-name", "a\nb"], 2,
                                  "holds a control character"),
    "study name too long": (lambda t, u: ["--study-name", "n" * 129], 2,
                            "study name is 129 characters long; at most 128"),
    "bare file as storage": (lambda t, u: ["--storage", "runs/studies.db"], 2,
                             "for a file, sqlite:///runs/studies.db"),
    "preset not UTF-8": (lambda t, u: ["--preset", str(_latin1(t))], 2,
                         "is not UTF-8 text, as TOML must be (byte 0xe9 at offset"),
    # Bytes the locale cannot decode reach Python as surrogates (PEP 383).
    "study name not UTF-8": (lambda t, u: ["--study-name", os.fsdecode(b"caf\xe9")], 2,
                             "study name 'caf\\udce9' is not valid UTF-8"),
    "read-only store": (lambda t, u: ["--preset", write(t, "tiny.toml", TINY), "--storage",
                                      _read_only(u), "--study-name", "kept", "--train-subset",
                                      "300"], 1, "the store is read-only"),
    # A path below a plain file cannot be created, not even by root.
    "unwritable out": (lambda t, u: ["--out", str(Path(write(t, "file", "")) / "sub")], 1,
                       "cannot create --out"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(store, case, tmp_path):
    _, url = store
    make_args, code, message = CASES[case]
    before = snapshot(url)
    args = make_args(tmp_path, url)
    if "--storage" not in args:
        args += ["--storage", url]
    done = cli.run("run", *args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert snapshot(url) == before


READERS = [("ghost", "no study named 'ghost'"), ("two-objectives", "has 2 objectives"),
           ("foreign", "was not made by search.study")]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "name", "message"),
    [(c, n, m) for c in ("export", "report", "show") for n, m in READERS]
    + [(c, "empty", "has no completed trial") for c in ("export", "report")],
)
def test_reading_a_missing_empty_or_foreign_study(store, command, name, message):
    _, url = store
    done = cli.run(command, "--study-name", name, "--storage", url, "--out", str(store[0]))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1
    assert len(lines) == 1 and message in lines[0], done.stderr


@pytest.mark.slow
def test_a_read_only_store_is_reported_with_one_warning_and_left_as_it_was(store, tmp_path):
    _, url = store
    before = snapshot(url)
    storage = optuna.storages.RDBStorage(url)
    study_id = storage.get_study_id_from_name("kept")
    attrs = storage.get_study_system_attrs(study_id)
    done = cli.run("report", "--study-name", "kept", "--storage", _read_only(url),
                   "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        "warning: the store is read-only: the figures and note were not added to the dashboard"]
    assert (tmp_path / "kept" / "report.html").is_file()
    assert snapshot(url) == before
    assert storage.get_study_system_attrs(study_id) == attrs


@pytest.mark.slow
def test_a_diverging_trial_fails_with_its_reason_and_the_study_goes_on(tmp_path):
    text = TINY.replace("[train]\n", '[train]\noptimizer = "sgd"\n').replace(
        'params = { units = [8] }', 'params = { units = [8], learning_rate = [1e30, 0.01] }')
    url = f"sqlite:///{tmp_path}/s.db"
    done = cli.run("run", "--preset", write(tmp_path, "nan.toml", text), "--storage", url,
                   "--train-subset", "200", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    trials = optuna.load_study(study_name="nan-fashion_mnist", storage=url).trials
    states = {t.params["learning_rate"]: t for t in trials}
    assert states[1e30].state == optuna.trial.TrialState.FAIL
    assert states[1e30].user_attrs["fail_reason"].startswith("loss became")
    assert states[0.01].state == optuna.trial.TrialState.COMPLETE
    assert "FAIL: loss became" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [(["--host", "0.0.0.0"], "add --allow-remote to serve it anyway"),
     (["--host", "192.0.2.1"], "reachable from other machines"),
     (["--port", "99999"], "--port must be 1-65535, got 99999")],
)
def test_the_dashboard_refuses_a_remote_host_or_a_bad_port(store, args, message):
    _, url = store
    before = snapshot(url)
    done = cli.run("dashboard", "--storage", url, *args, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Listening" not in done.stdout + done.stderr
    assert snapshot(url) == before


def test_an_unknown_command_is_one_line_listing_the_commands():
    done = cli.run("delete", "--study-name", "kept", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: unknown command 'delete': choose one of run, list, show, export, report, dashboard "
        "(see --help)")


def test_a_file_with_no_complete_journal_record_is_refused_and_kept(tmp_path):
    """Optuna reads a last line without a newline as a write in progress: a UTF-16 file of
    one line would read as an empty journal and be appended to."""
    utf16 = tmp_path / "notes.journal"
    utf16.write_bytes("my notes".encode("utf-16"))
    done = cli.run("list", "--storage", f"journal:///{utf16}", timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {utf16} is not an Optuna journal file (ValueError: no complete record)"]
    assert utf16.read_bytes() == "my notes".encode("utf-16")


def test_a_file_that_is_not_a_journal_is_one_line(tmp_path):
    garbage = tmp_path / "notes.journal"
    garbage.write_text("these are my notes\nand a second line\n")
    done = cli.run("list", "--storage", f"journal:///{garbage}", timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {garbage} is not an Optuna journal file (JSONDecodeError: Expecting value: "
        "line 1 column 1 (char 0))"]
    assert garbage.read_text() == "these are my notes\nand a second line\n"
