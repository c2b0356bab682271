"""search.report and search.dashboard on a real study: the slow tests train a tiny real
grid with the CLI, render report.html (with what the kept models show: per-class accuracy,
confusion matrix, misclassified images, feature maps, filters) and the served dashboard in
headless Chromium, and write screenshots to test-artifacts/."""

from __future__ import annotations

import csv
import io
import json
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from search.kept import kept_trial
from search.report import ReportPaths, write_report
from search.report.figure import cell_slug
from storage import open_storage
from storage.artifacts import default_location
from storage.records import to_record
from tests.search.report.studies import (
    ARTIFACTS,
    CELL_KEYS,
    CELL_SLOTS,
    DASHBOARD_IDS,
    REPO,
    SCALING_KEYS,
)

TINY_PRESET = """\
description = "Test grid: 2 widths x 2 depths of tiny CNNs and 2 dense sizes."
mode = "grid"
dataset = "fashion_mnist"
train_subset = 600
seeds = 2

[train]
epochs = 1
batch_size = 128
optimizer = "adam"
learning_rate = 0.001

[[grid]]
family = "cnn"
params = { width = [4, 8], depth = [1, 2] }
fixed = { kernels = [7, 5, 3], convs_per_block = 1, dense_units = 32 }

[[grid]]
family = "dense"
params = { units = [32, 128] }
fixed = { layers = 1 }
"""
TINY_TRIALS = 12
NAMED = "cnn:width=8,depth=2"  # looked inside besides the best cell (maybe a dense one)
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--enable-logging=stderr", "--v=0",
                "--window-size=1280,2400", "--virtual-time-budget=10000")


def chromium(url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``url`` with a fresh profile; stdout is the DOM with --dump-dom."""
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    profile = Path(tmp) / f"profile-{time.monotonic_ns()}"
    profile.mkdir(parents=True)
    return subprocess.run([exe, *CHROME_FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=90, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def report_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, optuna.Study]:
    """A tiny real grid trained through the CLI (about 30 s on 2 cores)."""
    tmp = tmp_path_factory.mktemp("report-study")
    preset = tmp / "tiny.toml"
    preset.write_text(TINY_PRESET)
    url = f"sqlite:///{tmp / 'studies.db'}"
    subprocess.run([sys.executable, "-m", "search.study", "run", "--preset", str(preset),
                    "--storage", url, "--study-name", "tiny", "--out", str(tmp / "runs")],
                   cwd=REPO, check=True, capture_output=True, text=True, timeout=300)
    return url, optuna.load_study(study_name="tiny", storage=open_storage(url))


@pytest.fixture(scope="module")
def report_files(report_study: tuple[str, optuna.Study],
                 tmp_path_factory: pytest.TempPathFactory) -> ReportPaths:
    url, study = report_study
    return write_report(study, tmp_path_factory.mktemp("report"), png=True, cells=[NAMED],
                        artifacts=default_location(url, "runs"))


def inside(report_files: ReportPaths) -> list[tuple[str, str]]:
    """(figure key, dashboard id) of the per-cell figures expected: the best cell's (a
    dense cell has no feature maps or filters), then the named cell's."""
    best = json.loads(report_files.scaling_json.read_text())["best_cell"]
    return [(f"{k}-{cell_slug(cell)}", f"{CELL_SLOTS[k]}-{k}-{cell_slug(cell)}")
            for cell in dict.fromkeys((best, NAMED)) for k in CELL_KEYS
            if cell.startswith("cnn") or k not in ("feature-maps", "first-filters")]


def figure_keys(report_files: ReportPaths) -> tuple[str, ...]:
    return (*SCALING_KEYS, *(k for k, _ in inside(report_files)))


@pytest.mark.slow
@pytest.mark.trains
def test_report_renders_every_figure_in_headless_chromium(report_files: ReportPaths,
                                                          tmp_path: Path):
    result = chromium(report_files.html.as_uri(), tmp_path, "--dump-dom")
    dom = result.stdout
    assert "Uncaught" not in result.stderr
    assert '<pre id="js-errors"></pre>' in dom
    assert report_files.figures == figure_keys(report_files)
    assert report_files.warnings == ()
    assert dom.index('id="setup"') < dom.index(f'id="{SCALING_KEYS[0]}"')
    for key in report_files.figures:
        start = dom.index(f'id="{key}"')
        figure = dom[start:dom.find("<section", start)]
        assert 'class="main-svg"' in figure, key
        assert 'class="trace' in figure or 'class="hm"' in figure or "<image" in figure, (
            f"{key} drew no data")
    named = cell_slug(NAMED)
    mistakes = dom[dom.index(f'id="misclassified-{named}"'):]
    assert mistakes[:mistakes.index("<section")].count("<image") == 24
    maps = dom[dom.index(f'id="feature-maps-{named}"'):]
    assert maps[:maps.index("<section")].count("<image") == 3 * (1 + 2 * 4)  # 2 blocks
    for caption in ("Test accuracy on each class of", "The most frequent mistake:",
                    "from its kept predictions) misclassifies",
                    "What each block of the model of", "filters of block1_conv1"):
        assert caption in dom, caption
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    chromium(report_files.html.as_uri(), tmp_path, f"--screenshot={shot}")
    assert shot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
@pytest.mark.trains
def test_report_writes_pngs_and_tables_for_the_real_study(report_files: ReportPaths):
    assert tuple(p.stem for p in report_files.pngs) == figure_keys(report_files)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in report_files.pngs)
    rows = list(csv.DictReader(io.StringIO(report_files.cells_csv.read_text())))
    assert len(rows) == 6 and {r["n"] for r in rows} == {"2"}
    data = json.loads(report_files.scaling_json.read_text())
    assert len(data["width_effects"]) == 3 and len(data["depth_effects"]) == 3
    # Cells are listed in first-seen order, and a grid runs each seed's largest cells first.
    # Pairs only within 2x: 32 dense units (50.8k FLOPs) have no CNN within 2x in FLOPs
    # (the cheapest, width 4 depth 1, takes 358k); 128 units (101,770 parameters) pair
    # with width 8 depth 1 (50,938: 1.998x).
    assert sorted((c["matched_on"], c["dense"]) for c in data["cnn_vs_dense"]) == [
        ("flops", "dense:units=128"), ("params", "dense:units=128"),
        ("params", "dense:units=32")]
    assert data["cnn_vs_dense_matching"]["unmatched"] == [
        {"dense": "dense:units=32", "matched_on": "flops"}]
    assert data["training_images"] == 600 and data["headline"][0].startswith(
        "budget: 600 training images, 1 epoch, 2 seed(s)")
    assert {c["convergence"]["converged"] for c in data["cells"]} <= {0, None}
    setup = data["setup"]
    assert (setup["dataset"], setup["training_images"], setup["training_rule"]) == (
        "fashion_mnist", 600, "1 epoch")
    assert setup["train"] == {"optimizer": ["adam"], "learning_rate": [0.001],
                              "lr_schedule": ["constant"], "batch_size": [128]}
    assert setup["hosts"] == {platform.node(): TINY_TRIALS}
    assert setup["trials_complete"] == setup["trials"] == TINY_TRIALS
    assert setup["first_start"] <= setup["last_complete"]


@pytest.mark.slow
@pytest.mark.trains
def test_a_missing_or_corrupt_record_is_one_line_and_the_report_is_written(
        report_study: tuple[str, optuna.Study], tmp_path: Path):
    """The named cell's record of its test images truncated, every other file gone: one
    warning line per cell looked inside, and the figures that need no model are drawn."""
    url, study = report_study
    models = tmp_path / "models"
    shutil.copytree(default_location(url, "runs"), models)
    broken = kept_trial([to_record(t) for t in study.trials], NAMED)
    assert broken is not None and broken.seen_artifact is not None
    for path in models.iterdir():
        if path.name == broken.seen_artifact:
            path.write_bytes(path.read_bytes()[:1000])
        else:
            path.unlink()
    paths = write_report(study, tmp_path / "report", dashboard=False, cells=[NAMED],
                         artifacts=models)
    best = json.loads(paths.scaling_json.read_text())["best_cell"]
    assert len(paths.warnings) == len({best, NAMED})
    assert all("\n" not in line for line in paths.warnings)
    (named,) = [line for line in paths.warnings if f"({NAMED}, seed" in line]
    assert "is not a whole seen.npz" in named
    assert all("is missing from" in line for line in paths.warnings if line != named)
    slug = cell_slug(NAMED)
    assert f"per-class-accuracy-{slug}" in paths.figures  # from the records, no file needed
    assert not any(k.startswith(("confusion-matrix", "misclassified", "feature-maps"))
                   for k in paths.figures)
    assert paths.html.is_file()


def _lists(base: str, name: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/api/studies", timeout=5) as r:
            return name in {s["study_name"] for s in json.load(r)["study_summaries"]}
    except OSError:  # not listening yet
        return False


@pytest.fixture
def dashboard(report_study: tuple[str, optuna.Study]) -> Iterator[str]:
    """search.dashboard.serve in a subprocess on a free loopback port; its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
                               "from search.dashboard import serve; "
                               "serve(sys.argv[1], port=int(sys.argv[2]), "
                               "artifacts=Path(sys.argv[3]))",
         report_study[0], str(port), str(default_location(report_study[0], "runs"))],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _lists(base, "tiny"):
            assert proc.poll() is None, "the dashboard exited"
            assert time.monotonic() < deadline, "the dashboard did not list the study in 60 s"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.trains
def test_dashboard_serves_the_study_its_trials_figures_note_and_models(
        report_files: ReportPaths, report_study: tuple[str, optuna.Study], dashboard: str,
        tmp_path: Path):
    with urllib.request.urlopen(f"{dashboard}/api/studies", timeout=10) as r:
        summaries = json.load(r)["study_summaries"]
    (study_id,) = [s["study_id"] for s in summaries if s["study_name"] == "tiny"]
    with urllib.request.urlopen(f"{dashboard}/api/studies/{study_id}", timeout=30) as r:
        detail = json.load(r)
    complete = [t for t in detail["trials"] if t["state"] == "Complete"]
    assert len(complete) == TINY_TRIALS
    # in report order (optuna-dashboard alone lists them in set order), the per-cell
    # figures after the study's, by slot
    ids = [*DASHBOARD_IDS, *(i for _, i in inside(report_files))]
    assert sorted(g["id"] for g in detail["plotly_graph_objects"]) == sorted(ids)
    assert "# Scaling report: tiny" in detail["note"]["body"]
    # Each kept model and its test images' record are listed with their trial and served
    # as the files the store holds.
    kept = [t for t in complete if t["artifacts"]]
    assert kept and all(sorted(a["filename"] for a in t["artifacts"]) == ["model.keras",
                                                                         "seen.npz"]
                        for t in kept)
    trial = kept[0]
    folder = default_location(report_study[0], "runs")
    for meta in trial["artifacts"]:
        with urllib.request.urlopen(f"{dashboard}/artifacts/{study_id}/{trial['trial_id']}/"
                                    f"{meta['artifact_id']}", timeout=30) as r:
            assert r.read() == (folder / meta["artifact_id"]).read_bytes()

    page = f"{dashboard}/dashboard/studies/{study_id}"
    result = chromium(page, tmp_path, "--dump-dom")
    assert "Uncaught" not in result.stderr
    assert "tiny" in result.stdout
    for key in ids:  # the custom figures are drawn on the study page
        start = result.stdout.index(f'id="user-defined-plot:{key}"')
        assert 'class="main-svg"' in result.stdout[start:start + 2000], key
    ARTIFACTS.mkdir(exist_ok=True)
    chromium(page, tmp_path, f"--screenshot={ARTIFACTS / 'dashboard.png'}")
