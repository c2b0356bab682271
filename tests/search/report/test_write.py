"""search.report.write_report on synthetic studies: the files, what reaches the dashboard,
and a journal left as it was by a report of an unchanged study."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import optuna
import optuna_dashboard
import pytest

from search.report import ReportError, write_report
from search.report import figure as report_figure
from storage import open_storage
from storage.studies import IDENTITY
from tests import cli
from tests.search.analysis.synthetic import SEEDS
from tests.search.report.studies import (
    DASHBOARD_IDS,
    OPTUNA_KEYS,
    SCALING_KEYS,
    TRAIN,
    dashboard_detail,
    synthetic_study,
    trial,
)


def test_a_report_of_an_unchanged_study_leaves_its_journal_as_it_was(tmp_path: Path):
    """A journal file grows with every save: a second report of the same study saves
    nothing, and a new trial updates what changed."""
    log = tmp_path / "s.journal"
    study = synthetic_study(open_storage(f"journal:///{log}"), "grid")
    write_report(study, tmp_path / "a")
    first = log.read_bytes()
    write_report(study, tmp_path / "b")
    assert log.read_bytes() == first
    study.add_trial(trial("dense", {"units": 1024}, 0, 0.75, 1024 * 800))
    write_report(study, tmp_path / "c")
    assert len(log.read_bytes()) > len(first)
    detail = dashboard_detail(optuna_dashboard.wsgi(open_storage(f"journal:///{log}")),
                              "synthetic-grid")
    assert "dense:units=1024" in detail["note"]["body"] or any(
        "dense:units=1024" in g["graph_object"] for g in detail["plotly_graph_objects"])


def test_report_replaces_links_at_its_file_names_and_never_writes_their_targets(
        tmp_path: Path):
    study = synthetic_study(optuna.storages.InMemoryStorage(), "grid")
    out = tmp_path / "out"
    write_report(study, out)
    folder = out
    targets = {}
    for name in ("report.html", "scaling.json", "cells.csv"):
        target = tmp_path / f"precious-{name}"
        target.write_text("keep me")
        (folder / name).unlink()
        (folder / name).symlink_to(target)
        targets[name] = target
    write_report(study, out)
    for name, target in targets.items():
        assert target.read_text() == "keep me"
        assert not (folder / name).is_symlink() and (folder / name).stat().st_size > 100
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left


def test_grid_report_writes_files_captions_and_dashboard_data(tmp_path: Path):
    storage = optuna.storages.InMemoryStorage()
    study = synthetic_study(storage, "grid")
    paths = write_report(study, tmp_path)

    assert paths.figures == SCALING_KEYS and paths.pngs == ()
    page = paths.html.read_text()
    assert page.count("* plotly.js v") == 1  # inlined once, no CDN
    assert "<script src=" not in page  # works offline
    assert "+2.0 pp per doubling of width pooled over depths" in page
    assert "-1.0 pp per added block pooled over widths" in page

    data = json.loads(paths.scaling_json.read_text())
    assert data["study"] == "synthetic-grid"
    assert data["width_effects"][-1]["estimate"]["mean"] == pytest.approx(0.02)
    assert {(f["family"], f["against"]) for f in data["fits"]} == {
        (f, a) for f in ("cnn", "dense") for a in ("params", "flops")}
    # Only 32 units (25.6k parameters) has a CNN within 2x (24k); 128 and 512 units do not.
    assert [(c["dense"], c["matched_on"]) for c in data["cnn_vs_dense"]] == [
        ("dense:units=32", on) for on in ("params", "flops")]
    assert data["cnn_vs_dense_matching"]["unmatched"] == [
        {"dense": f"dense:units={u}", "matched_on": on} for on in ("params", "flops")
        for u in (128, 512)]
    assert any(line.startswith("cnn vs dense matched on params (closest by ratio, only within "
                               "2x): 1 of 3 dense cells matched (2 unmatched), using 1 "
                               "distinct CNN cell(s)") for line in data["headline"])
    assert "unmatched: no CNN within 2x" in page
    assert {"p_holm", "runner_up", "runner_up_p_holm", "fragile"} <= data["cnn_vs_dense"][0].keys()
    assert data["incomplete_cells"] == []
    assert any(line.startswith("width effect: +2.0 pp") for line in data["headline"])
    assert data["headline"][0] == ("budget: training images not recorded, 2 epochs, 3 seed(s); "
                                   "27 runs: 27 ran all 2 epochs, 0 premature stop(s) flagged")
    assert "sensitivity: no premature stop flagged, every estimate uses every run" in data[
        "headline"]
    assert data["headline"][1].startswith("convergence: 0 of 9 cells not converged")
    assert data["width_depth_interactions"][0]["estimate"]["mean"] == pytest.approx(0)
    assert data["fits"][0]["alpha_boot"]["n_resamples"] == 1000
    assert data["compute_frontier"] and data["training_images"] is None
    for title in ("Convergence", "Scaling-law fits", "Width x depth interaction",
                  "CNN vs dense at matched parameters and FLOPs (paired t, Holm-adjusted)",
                  "Training-compute frontier", "train - val"):
        assert f"{title}" in page, title

    rows = list(csv.DictReader(io.StringIO(paths.cells_csv.read_text())))
    assert len(rows) == 9 and {r["n"] for r in rows} == {"3"}
    assert rows[0]["width"] == "4" and rows[0]["depth"] == "1"
    assert rows[0]["generalisation_gap"] == "" and rows[0]["seeds_converged"] == ""

    detail = dashboard_detail(optuna_dashboard.wsgi(storage), "synthetic-grid")
    assert {g["id"] for g in detail["plotly_graph_objects"]} == set(DASHBOARD_IDS)
    assert "width effect: +2.0 pp" in detail["note"]["body"]
    assert "## Best architecture: `cnn:width=16,depth=1`" in detail["note"]["body"]


def test_search_report_adds_optunas_figures_but_keeps_them_out_of_the_dashboard(
        tmp_path: Path):
    storage = optuna.storages.InMemoryStorage()
    paths = write_report(synthetic_study(storage, "search"), tmp_path)
    assert paths.figures == SCALING_KEYS + OPTUNA_KEYS
    page = paths.html.read_text()
    assert "the best, 0.7620, came at trial 16." in page
    # 18 trials of 1.0 training second each.
    (spent,) = [line for line in paths.headline if line.startswith("worker time: ")]
    assert spent.startswith("worker time: 0 worker-min over 18 finished trials (18 complete;")
    assert "the best trial by validation, 16 (0.7620), finished after 0 worker-min" in spent
    detail = dashboard_detail(optuna_dashboard.wsgi(storage), "synthetic-search")
    assert {g["id"] for g in detail["plotly_graph_objects"]} == set(DASHBOARD_IDS)


def with_classes(frozen: optuna.trial.FrozenTrial) -> optuna.trial.FrozenTrial:
    """The trial with a per-class test accuracy stored, as the objective stores it."""
    frozen.user_attrs["class_accuracy"] = [0.9] * 10
    return frozen


@pytest.mark.slow
def test_a_search_whose_cells_name_every_value_gets_figure_files_it_can_write(tmp_path: Path):
    """A search's cell key names all its values (search-94's run 300+ characters); the
    per-class figure's PNG is named after the cell and once went past the 255-byte limit
    of a file name."""
    study = optuna.create_study(direction="maximize")
    long = {"convs_per_block": 2, "kernels": "3-3-3", "dropout": 0.3243012738211979,
            "dense_units": 128, "learning_rate": 0.0041132295982373454,
            "weight_decay": 0.0066658894512082265, "augment": "flip",
            "erasing": 0.12891397769795881, "label_smoothing": 0.020253640564299416}
    for seed, acc in enumerate((0.90, 0.91)):
        for width in (24, 32):  # the two cells share all but their width
            study.add_trial(with_classes(trial("cnn", {"width": width, "depth": 4, **long},
                                               seed, acc + width / 1000, width * 30_000)))
    paths = write_report(study, tmp_path, png=True)
    per_class = [p for p in paths.pngs if p.name.startswith("per-class-accuracy-")]
    assert len(per_class) == 1 and per_class[0].is_file()
    assert all(p.is_file() and len(p.name.encode()) <= 255 for p in paths.pngs)
    assert len(per_class[0].stem) <= len("per-class-accuracy-") + report_figure.SLUG_CHARS
    assert len(set(paths.figures)) == len(paths.figures)


def test_the_budget_comes_from_the_identity_and_scales_the_compute_frontier(tmp_path: Path):
    study = synthetic_study(optuna.storages.InMemoryStorage(), "grid")
    study.set_user_attr(IDENTITY, json.dumps({"mode": "grid", "dataset": "fashion_mnist",
                                              "train_subset": 600}))
    data = json.loads(write_report(study, tmp_path, dashboard=False).scaling_json.read_text())
    assert data["training_images"] == 600
    assert data["budget"].startswith("600 training images")
    first = data["compute_frontier"][0]
    cell = next(c for c in data["cells"] if c["cell"] == first["cell"])
    assert first["compute"] == 3 * cell["flops"] * 600 * first["epoch"]
    paths = write_report(study, tmp_path, dashboard=False, budget="50,000 training images")
    assert paths.headline[0].startswith("budget: 50,000 training images, ")


def test_report_of_a_study_without_completed_trials_is_an_error(tmp_path: Path):
    study = optuna.create_study(study_name="empty")
    with pytest.raises(ReportError, match="no completed trial"):
        write_report(study, tmp_path)


def _longer(storage: optuna.storages.BaseStorage, identity: dict[str, object]) -> None:
    """Study 'longer': synthetic_study's cnn cells at widths 4-8, 1 pp better at depth 2
    (give or take 0.1 pp per seed), with 60 epochs in its training."""
    check = optuna.create_study(storage=storage, study_name="longer", direction="maximize")
    check.set_user_attr(IDENTITY, json.dumps(identity))
    for seed, offset in enumerate((-0.01, 0.0, 0.012)):
        for w in (4, 8):
            for d in (1, 2):
                acc = (0.7 + offset + 0.02 * (w == 8) - 0.01 * (d - 1)
                       + (0.01 + 0.001 * (seed - 1)) * (d == 2))
                done = trial("cnn", {"width": w, "depth": d}, seed, acc, w * 3000 // d)
                done.user_attrs["train"] = json.dumps(TRAIN | {"epochs": 60})
                check.add_trial(done)


def test_report_against_another_study_in_its_own_store_through_the_cli(tmp_path: Path):
    """The real CLI on two real SQLite files: the check study against the base in the other
    file, as ``--against`` and ``--against-storage`` name it: a headline line, a block in
    scaling.json, a table on the page."""
    base_url, here_url = (f"sqlite:///{tmp_path}/{name}.db" for name in ("base", "here"))
    synthetic_study(open_storage(base_url), "grid")
    _longer(open_storage(here_url), {"mode": "grid"})
    done = cli.run("report", "--study-name", "longer", "--storage", here_url, "--against",
                   "synthetic-grid", "--against-storage", base_url, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert ("against synthetic-grid (epochs 2 -> 60; the same 4 cells and their 3 seed(s))"
            in " ".join(done.stdout.split()))  # the CLI wraps its lines
    data = json.loads((tmp_path / "longer" / "scaling.json").read_text())
    block = data["against"]
    assert block["training_differences"] == [{"setting": "epochs", "there": "2",
                                              "here": "60"}]
    changes = {c["cell"]: round(c["test"]["change"]["mean"], 6) for c in block["cells"]}
    assert changes == {"cnn:width=4,depth=1": 0, "cnn:width=8,depth=1": 0,
                       "cnn:width=4,depth=2": 0.01, "cnn:width=8,depth=2": 0.01}
    depth = next(x["value"] for x in block["estimates"]
                 if x["estimate"] == "depth per added block" and x["pooled"])
    assert (round(depth["base"]["mean"], 6), round(depth["check"]["mean"], 6)) == (-0.01, 0)
    assert depth["zero_crossed"]  # below 0 there (no seed spread), around 0 here
    assert any(line.startswith("against synthetic-grid") for line in data["headline"])
    assert "Against another study: the same cells and seeds" in (
        tmp_path / "longer" / "report.html").read_text()


@pytest.mark.parametrize(("identity", "base_widths", "message"), [
    ({"mode": "grid"}, (32,), "no (cell, seed) unit is complete in both"),
    ({"mode": "grid", "train_subset": 600}, (4, 8), "trained on other data (train_subset"),
])
def test_report_against_a_study_it_cannot_be_set_against_is_one_line(
        tmp_path: Path, identity: dict[str, object], base_widths: tuple[int, ...],
        message: str):
    """No unit in common, or other data: one line, exit 1, no report written."""
    url = f"sqlite:///{tmp_path}/studies.db"
    base = optuna.create_study(storage=open_storage(url), study_name="base",
                               direction="maximize")
    base.set_user_attr(IDENTITY, json.dumps({"mode": "grid"}))
    for seed in SEEDS:
        for w in base_widths:
            base.add_trial(trial("cnn", {"width": w, "depth": 1}, seed, 0.8, w * 3000))
    _longer(open_storage(url), identity)
    done = cli.run("report", "--study-name", "longer", "--storage", url, "--against", "base",
                   "--out", str(tmp_path))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "longer").exists()
