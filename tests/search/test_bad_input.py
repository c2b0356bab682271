"""The bad-input table: one line on stderr, a non-zero exit, nothing stored lost.

Every case runs the real CLI against a real SQLite store that already holds a study, and
checks the study's trials (number, state, values, user attrs) are what they were.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest

from storage import open_storage
from tests import cli

TINY = 'mode = "grid"\n[train]\nepochs = 1\n[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n'


SEARCH = ('mode = "search"\ntrials = 1\n[train]\nepochs = 1\n[space]\nfamily = "dense"\n'
          'params = {}\n')


def write(folder: Path, name: str, text: str | bytes) -> str:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def undecodable(folder: Path, name: bytes) -> str:
    """A path under ``folder`` whose last part is ``name``'s bytes (not UTF-8), as Python
    receives it from the command line (PEP 383 surrogates)."""
    return os.fsdecode(os.fsencode(folder) + b"/" + name)


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
    """Everything stored about study 'kept''s trials, and the names of all studies (a case
    must not leave an empty study behind), to compare before and after a case."""
    return [(t.number, t.state, t.values, t.user_attrs, t.system_attrs) for t in
            optuna.load_study(study_name="kept", storage=url).trials] + [
        tuple(sorted(optuna.get_all_study_names(url)))]


def fashion_dir(folder: Path, images: bytes, split: str = "train") -> str:
    """A data folder whose ``split`` images file holds ``images`` (other files valid)."""
    data = folder / "fm"
    data.mkdir(exist_ok=True)
    real = Path("/usr/share/datasets/fashion-mnist")
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (data / name).write_bytes((real / name).read_bytes())
    (data / f"{split}-images-idx3-ubyte.gz").write_bytes(images)
    return str(data)


def images(count: int, rows: int, cols: int) -> bytes:
    """A gzip IDX images file of ``count`` blank ``rows`` x ``cols`` images."""
    return gzip.compress((0x803).to_bytes(4, "big") + b"".join(
        n.to_bytes(4, "big") for n in (count, rows, cols)) + bytes(count * rows * cols))


def bomb() -> bytes:
    """A ~3 MB gzip file that expands past 3 GB: a valid header, then zeros."""
    member = gzip.compress(bytes(100 << 20), compresslevel=9)
    return gzip.compress(header(60000)) + member * 30


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
    "gzip bomb": (lambda t, u: ["--data-dir", fashion_dir(t, bomb())], 1,
                  "train-images-idx3-ubyte.gz: trailing data (expected 47040016 bytes, got more)"),
    "idx dimensions overflow": (lambda t, u: ["--data-dir", fashion_dir(t, gzip.compress(
        (0x803).to_bytes(4, "big") + b"\xff" * 12))], 1,
        "its header declares 4294967295 x 4294967295 x 4294967295 values"),
    "test images 27x29": (lambda t, u: ["--data-dir", fashion_dir(t, images(10000, 27, 29),
                                                                  "t10k")], 1,
                          "t10k-images-idx3-ubyte.gz: images are 27x29, Fashion-MNIST's are 28x28"),
    "training images 2x2": (lambda t, u: ["--data-dir", fashion_dir(t, images(60000, 2, 2))], 1,
                            "train-images-idx3-ubyte.gz: images are 2x2"),
    "width <= 0": (lambda t, u: ["--preset", cnn_preset(t, "width = [0]")], 2,
                   "width must be a positive integer, got 0"),
    "non-integer width": (lambda t, u: ["--preset", cnn_preset(t, "width = [1.5]")], 2,
                          "width must be a positive integer, got 1.5"),
    "depth too large": (lambda t, u: ["--preset", cnn_preset(t, "depth = [5]")], 2,
                        "pools a 28x28 input to 1x1, below 2x2; at most 4 blocks"),
    "width of 10^6": (lambda t, u: ["--preset", cnn_preset(t, "width = [1000000]")], 2,
                      "cnn_w1000000_d2 has 50,012,596,001,418 parameters, more than "
                      "100,000,000 (raise SEARCH_MAX_PARAMS to allow it)"),
    "width of 10^300": (lambda t, u: ["--preset", cnn_preset(t, f"width = [{10**300}]")], 2,
                        "cnn: width must be at most 2,147,483,647, got 1e+300"),
    "units of 10^6 in a search range": (lambda t, u: ["--preset", write(
        t, "wide.toml", SEARCH.format('{ units = { type = "int", low = 8, high = 1000000 } }'))],
        2, "dense_1x1000000 has 795,000,010 parameters"),
    "activations over the bound": (lambda t, u: ["--preset", cnn_preset(
        t, 'width = [2048], depth = [1], head = ["gap"], dense_units = [0]'), "--batch-size",
        "65536"], 2, "cnn_w2048_d1 needs about 947.6 GB of activations per batch of 65536, "
        "more than 8 GB (raise SEARCH_MAX_ACTIVATION_GB"),
    "growth = inf": (lambda t, u: ["--preset", cnn_preset(t, "growth = [inf]")], 2,
                     "cnn: growth must be a finite number >= 1, got inf"),
    "growth = nan fixed": (lambda t, u: ["--preset", write(t, "nan.toml", TINY.replace(
        'family = "dense"\nparams = { units = [8] }',
        'family = "cnn"\nparams = { width = [4] }\nfixed = { growth = nan }'))], 2,
        "cnn: growth must be a finite number >= 1, got nan"),
    "growth overflowing": (lambda t, u: ["--preset", cnn_preset(
        t, "width = [8], depth = [3], growth = [1e300]")], 2,
        "cnn: width 8 grown by 1e+300 over 3 blocks gives inf filters"),
    "split_seed = -1": (lambda t, u: ["--preset", write(t, "seed.toml",
                                                        "split_seed = -1\n" + TINY)], 2,
                        "split_seed must be an integer from 0 to 2^63 - 1, got -1"),
    "deeply nested TOML": (lambda t, u: ["--preset", write(t, "deep.toml", "a = " + "[" * 100_000
                                                           + "]" * 100_000 + "\n")], 2,
                           "nests arrays or tables too deeply to read"),
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
        '"dense"', '"vgg"'))], 2, "unknown family 'vgg'"),
    "malformed storage URL": (lambda t, u: ["--storage", "postgresql://u:pw@host:notaport/db"],
                              2, "malformed storage URL"),
    "unreachable postgresql": (lambda t, u: ["--storage", "postgresql://u:pw@127.0.0.1:9/db"], 1,
                               "cannot open storage postgresql://u:***@127.0.0.1:9/db"),
    "raw @ in a postgresql password": (
        lambda t, u: ["--storage", "postgresql://user:pa@ss@127.0.0.1:1/db"], 2,
        "malformed storage URL 'postgresql://user:***@127.0.0.1:1/db': a raw '@' in the "
        "password or query; write it as %40"),
    "raw @ in a query password": (
        lambda t, u: ["--storage", "postgresql://u@127.0.0.1:1/db?password=pa@ss"], 2,
        "malformed storage URL 'postgresql://u@127.0.0.1:1/db?password=***'"),
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
    "study name starting with -": (lambda t, u: ["--study-name=-rf"], 2,
                                   "study name '-rf' starts with '-', which reads as an option"),
    "study name too long": (lambda t, u: ["--study-name", "n" * 129], 2,
                            "study name is 129 characters long; at most 128"),
    "bare file as storage": (lambda t, u: ["--storage", "runs/studies.db"], 2,
                             "for a file, sqlite:///runs/studies.db"),
    "preset not UTF-8": (lambda t, u: ["--preset", str(_latin1(t))], 2,
                         "is not UTF-8 text, as TOML must be (byte 0xe9 at offset"),
    # Bytes the locale cannot decode reach Python as surrogates (PEP 383).
    "study name not UTF-8": (lambda t, u: ["--study-name", os.fsdecode(b"caf\xe9")], 2,
                             "study name 'caf\\udce9' is not valid UTF-8"),
    # Text in an unexpected encoding: UTF-16 with its BOM, invalid UTF-8, Latin-1 bytes.
    "preset in UTF-16 with a BOM": (lambda t, u: ["--preset", write(
        t, "utf16.toml", TINY.encode("utf-16"))], 2,
        "is not UTF-8 text, as TOML must be (byte 0xff at offset 0)"),
    "preset with invalid UTF-8": (lambda t, u: ["--preset", write(
        t, "invalid.toml", b"# \xc3\x28\n" + TINY.encode())], 2,
        "is not UTF-8 text, as TOML must be (byte 0xc3 at offset 2)"),
    "preset file named in Latin-1": (lambda t, u: ["--preset", write(
        t, os.fsdecode(b"caf\xe9.toml"), TINY)], 2, "caf\\udce9.toml' is not valid UTF-8 text"),
    "study name with a UTF-16 BOM": (lambda t, u: ["--study-name", os.fsdecode(b"\xff\xfekept")],
                                     2, "study name '\\udcff\\udcfekept' is not valid UTF-8"),
    "sqlite file named in Latin-1": (lambda t, u: ["--storage", "sqlite:///" + undecodable(
        t, b"caf\xe9.db")], 2, "caf\\udce9.db' is not valid UTF-8 text"),
    "journal file named in Latin-1": (lambda t, u: ["--storage", "journal:///" + undecodable(
        t, b"caf\xe9.journal")], 2, "caf\\udce9.journal' is not valid UTF-8 text"),
    "data file of UTF-16 text": (lambda t, u: ["--data-dir", fashion_dir(
        t, "0 1 2\n".encode("utf-16"))], 1,
        "train-images-idx3-ubyte.gz: corrupted gzip file (Not a gzipped file (b'\\xff\\xfe'))"),
    "data file of Latin-1 text": (lambda t, u: ["--data-dir", fashion_dir(
        t, "café\n".encode("latin-1"))], 1,
        "train-images-idx3-ubyte.gz: corrupted gzip file (Not a gzipped file (b'ca'))"),
    "npz file of UTF-16 text": (lambda t, u: ["--dataset", "npz:" + write(
        t, "mine.npz", "0 1 2\n".encode("utf-16"))], 1, "not a readable .npz archive"),
    "read-only store": (lambda t, u: ["--preset", write(t, "tiny.toml", TINY), "--storage",
                                      _read_only(u), "--study-name", "kept", "--train-subset",
                                      "300"], 1, "the store is read-only"),
    # A path below a plain file cannot be created, not even by root.
    "unwritable out": (lambda t, u: ["--out", str(Path(write(t, "file", "")) / "sub")], 1,
                       "cannot create --out"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.trains
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
@pytest.mark.trains
def test_reading_a_missing_empty_or_foreign_study(store, command, name, message):
    _, url = store
    done = cli.run(command, "--study-name", name, "--storage", url, "--out", str(store[0]))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1
    assert len(lines) == 1 and message in lines[0], done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("against", "code", "message"), [
    (["--against", "ghost"], 1, "no study named 'ghost'"),
    (["--against", "kept", "--against-storage", "sqlite:///{tmp}/nowhere.db"], 1,
     "no study store at"),
    (["--against-storage", "{url}"], 2, "give --against STUDY too"),
])
@pytest.mark.trains
def test_report_against_a_missing_study_or_store_is_one_line(store, tmp_path, against, code,
                                                             message):
    _, url = store
    before = snapshot(url)
    done = cli.run("report", "--study-name", "kept", "--storage", url, "--out", str(tmp_path),
                   *(a.format(tmp=tmp_path, url=url) for a in against))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert snapshot(url) == before and not (tmp_path / "nowhere.db").exists()


@pytest.mark.slow
@pytest.mark.trains
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


READ_ONLY_WARNING = ("warning: the store is read-only: the figures and note were not added "
                     "to the dashboard")


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def read_only_stores(store):
    """Study 'kept' in an SQLite file and in a journal file, each mode 0444 in a folder of
    mode 0555, read by a user who owns neither ('nobody' when the tests run as root, who
    ignores modes); and a folder that user can write, for report, export and the preset."""
    if not cli.can_drop_root():
        pytest.skip("runs as root without setpriv, or 'nobody' cannot read the repository")
    _, url = store
    folder = Path(tempfile.mkdtemp(prefix="read-only-stores-"))
    out = Path(tempfile.mkdtemp(prefix="read-only-out-"))
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as source, \
            contextlib.closing(sqlite3.connect(folder / "studies.db")) as copy:
        source.backup(copy)  # a consistent copy, in WAL mode as the original
    journal = f"journal:///{folder / 'studies.journal'}"
    optuna.copy_study(from_study_name="kept", from_storage=url,
                      to_storage=open_storage(journal))
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    out.chmod(0o777)
    write(out, "tiny.toml", TINY)
    yield {"sqlite": f"sqlite:///{folder / 'studies.db'}", "journal": journal}, folder, out
    folder.chmod(0o755)
    shutil.rmtree(folder)
    shutil.rmtree(out)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["list", "show", "export", "report"])
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
@pytest.mark.trains
def test_a_read_only_store_file_is_read_and_left_as_it_was(read_only_stores, kind, command):
    urls, folder, out = read_only_stores
    before = _contents(folder)
    args = [] if command == "list" else ["--study-name", "kept"]
    done = cli.run(command, *args, "--storage", urls[kind], "--out", str(out),
                   unprivileged=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "kept" in done.stdout
    lines = done.stderr.strip().splitlines()
    # The copies have no folder of kept models beside them: one line says the model is missing.
    missing = [line for line in lines if "is missing from" in line]
    assert len(missing) == (command in ("export", "report")), done.stderr
    assert [line for line in lines if line not in missing] == (
        [READ_ONLY_WARNING] if command == "report" else []), done.stderr
    assert _contents(folder) == before and sorted(before) == ["studies.db", "studies.journal"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
@pytest.mark.trains
def test_run_on_a_read_only_store_file_is_one_line_and_writes_nothing(read_only_stores, kind):
    urls, folder, out = read_only_stores
    before = _contents(folder)
    done = cli.run("run", "--preset", str(out / "tiny.toml"), "--train-subset", "200",
                   "--seeds", "2", "--storage", urls[kind], "--study-name", "kept", "--out",
                   str(out), unprivileged=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and "read-only" in lines[0], done.stderr
    assert _contents(folder) == before


@pytest.mark.slow
@pytest.mark.trains
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
@pytest.mark.trains
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


def _offline() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _offline(), reason="needs unshare -n (a process without network)")
@pytest.mark.parametrize("command", ["list", "run"])
def test_an_unknown_host_is_one_line_without_the_password_and_no_lookup_leaves(command,
                                                                                tmp_path):
    """Run with no network (``unshare -n``): the name lookup fails on the machine."""
    url = "postgresql://user:s3cret-pa%40ss@no-such-host.invalid:1/db?sslpassword=k3y-phrase"
    done = subprocess.run(["unshare", "-n", sys.executable, "-m", "search.study", command,
                           "--storage", url, "--out", str(tmp_path)], cwd=cli.ROOT,
                          env=cli.env(), capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and "failed to resolve host 'no-such-host.invalid'" in lines[0]
    assert "postgresql://user:***@no-such-host.invalid:1/db?sslpassword=***" in lines[0]
    for piece in ("s3cret", "pa%40ss", "pa@ss", "k3y-phrase"):
        assert piece not in done.stdout + done.stderr


def _files(tmp_path: Path) -> dict[str, bytes]:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    text = tmp_path / "notes.db"
    text.write_text("my notes\n")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x)")
    db.close()
    return {"empty.db": b"", "notes.db": b"my notes\n", "other.db": other.read_bytes()}


_REFUSED = {
    "empty.db": "is an empty file, not a study store",
    "notes.db": "is not an SQLite database, so not a study store",
    "other.db": "is an SQLite database of another program (tables: notes), not a study store",
}


# An empty file is an empty SQLite database, where run may create a study: not a case.
@pytest.mark.parametrize(("command", "name", "message"), [
    (command, name, message) for command in ("list", "show", "export", "report", "run")
    for name, message in _REFUSED.items() if (command, name) != ("run", "empty.db")])
def test_a_read_never_writes_a_schema_into_an_empty_or_foreign_file(tmp_path, name, message,
                                                                     command):
    contents = _files(tmp_path)
    path = tmp_path / name
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    args = ["--study-name", "s"] if command != "list" else []
    if command == "run":
        args += ["--preset", write(tmp_path, "tiny.toml", TINY), "--train-subset", "200"]
    done = cli.run(command, *args, "--storage", f"sqlite:///{path}", "--out", str(tmp_path),
                   timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and f"{path} {message}" in lines[0], done.stderr
    assert path.read_bytes() == contents[name]
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".toml") == sorted(contents)


@pytest.mark.slow
@pytest.mark.trains
def test_show_csv_dash_writes_only_the_table_to_stdout(store):
    _, url = store
    done = cli.run("show", "--study-name", "kept", "--storage", url, "--csv", "-", timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == 1 and rows[0]["user_attrs_cell"] == "dense:units=8"
    assert not (cli.ROOT / "-").exists()


@pytest.mark.slow
@pytest.mark.trains
def test_show_csv_into_a_missing_folder_is_one_clear_line(store, tmp_path):
    _, url = store
    target = tmp_path / "no" / "such" / "trials.csv"
    done = cli.run("show", "--study-name", "kept", "--storage", url, "--csv", str(target),
                   timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot write {target}: the folder {target.parent} does not exist"]


@pytest.mark.slow
@pytest.mark.trains
def test_show_csv_replaces_a_symbolic_link_and_leaves_its_target(store, tmp_path):
    _, url = store
    precious = tmp_path / "precious.txt"
    precious.write_text("not to be overwritten\n")
    link = tmp_path / "trials.csv"
    link.symlink_to(precious)
    done = cli.run("show", "--study-name", "kept", "--storage", url, "--csv", str(link),
                   timeout=120)
    assert done.returncode == 0, done.stderr
    assert precious.read_text() == "not to be overwritten\n"
    assert not link.is_symlink()
    assert len(list(csv.DictReader(link.open()))) == 1
    assert f"it was a symbolic link to {precious}, which is left as it was" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt", "trials.csv"]


def test_study_names_are_read_in_their_composed_unicode_form(tmp_path):
    """'café' typed as 'cafe' + a combining accent (NFD) names the study stored as 'café'."""
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(storage=url, study_name="caf\u00e9", direction="maximize")
    study.set_user_attr("identity", "{}")
    done = cli.run("show", "--study-name", "cafe\u0301", "--storage", url, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("study caf\u00e9:")


@pytest.mark.parametrize(("env", "message"), [
    ({"SEARCH_MAX_PARAMS": "1000"}, "dense_1x8 has 6,370 parameters, more than 1,000 "
                                    "(raise SEARCH_MAX_PARAMS to allow it)"),
    ({"SEARCH_MAX_ACTIVATION_GB": "1e-9"}, "dense_1x8 needs about 0.0 GB of activations"),
    ({"SEARCH_MAX_PARAMS": "many"}, "SEARCH_MAX_PARAMS must be a positive number, got 'many'"),
])
def test_the_size_bounds_are_configurable(tmp_path, env, message):
    url = f"sqlite:///{tmp_path}/s.db"
    done = cli.run("run", "--preset", write(tmp_path, "tiny.toml", TINY), "--storage", url,
                   "--out", str(tmp_path), timeout=120, **env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "s.db").exists()


def test_the_cli_streams_mask_every_password_piece_the_process_has_seen():
    """What reaches stdout and stderr (a driver's message, a warning, a traceback) passes
    through search.study._Masked, which the CLI puts around both streams."""
    from search.study import _Masked
    from storage.masking import remember_secrets

    remember_secrets("postgresql://user:pa@ssw0rd-1@127.0.0.1:1/db")
    out = io.StringIO()
    _Masked(out).write("failed to resolve host 'ssw0rd-1@127.0.0.1'; password pa@ssw0rd-1\n")
    assert out.getvalue() == "failed to resolve host '***@127.0.0.1'; password ***\n"


def test_a_search_whose_fixed_values_build_nothing_is_refused_before_a_study(tmp_path):
    text = SEARCH.replace('family = "dense"', 'family = "cnn"').format(
        "{ width = [4, 8] }").replace("params = ", "fixed = { growth = nan }\nparams = ")
    url = f"sqlite:///{tmp_path}/s.db"
    done = cli.run("run", "--preset", write(tmp_path, "s.toml", text), "--storage", url,
                   "--out", str(tmp_path), timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: preset s: cnn: growth must be a finite number >= 1, got nan"]
    assert not (tmp_path / "s.db").exists()


def test_optunas_log_lines_pass_through_the_mask_too():
    """Optuna's handler holds the stderr of its import; the CLI re-points it."""
    code = ("import sys, optuna\n"
            "from search import study\n"
            "from storage.masking import remember_secrets\n"
            "remember_secrets('postgresql://u:hunter2-pw@h/db')\n"
            "study._mask_streams()\n"
            "optuna.logging.get_logger('optuna.x').warning('failed: hunter2-pw')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=cli.ROOT, env=cli.env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "failed: ***" in done.stderr and "hunter2" not in done.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def small_store(tmp_path):
    url = f"sqlite:///{tmp_path}/studies.db"
    optuna.create_study(storage=url, study_name="kept")
    return url


@pytest.mark.parametrize("host", ["127.1", "::ffff:127.0.0.1", "localhost"])
def test_the_dashboard_takes_loopback_aliases_and_stops_at_once_on_ctrl_c(small_store, host):
    """127.1 (as inet_aton reads it) and the IPv4-mapped form are loopback: served on
    127.0.0.1, announced only once bound; Ctrl-C ends it within seconds, in one line."""
    import json
    import signal
    import time
    import urllib.request

    port = _free_port()
    proc = cli.start("dashboard", "--storage", small_store, "--host", host, "--port", str(port))
    try:
        line = proc.stdout.readline()
        assert line.strip().endswith(f"on http://127.0.0.1:{port}/"), line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=30) as r:
            assert [s["study_name"] for s in json.load(r)["study_summaries"]] == ["kept"]
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["interrupted: stopped"]


def test_a_taken_port_is_one_line_and_nothing_is_announced(small_store):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli.run("dashboard", "--storage", small_store, "--port", str(port), timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot serve on 127.0.0.1:{port}: Address already in use"]
    assert "Listening" not in done.stdout + done.stderr
    assert "optuna-dashboard for" not in done.stdout
