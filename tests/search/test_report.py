"""search.report and search.dashboard: files, captions, dashboard data, and real rendering.

The fast tests build studies from synthetic trials (no training) and read the dashboard's
JSON through optuna-dashboard's own WSGI app. The slow tests train a tiny real grid with
the CLI, render report.html and the served dashboard in headless Chromium, and write
screenshots to test-artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
import optuna_dashboard
import pytest
from optuna.distributions import FloatDistribution, IntDistribution

from search.analysis import analyze
from search.report import ReportError, ReportPaths, fit_text, write_report
from spaces.space import cell_key
from storage import open_storage
from storage.records import to_record
from storage.studies import IDENTITY

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCALING_KEYS = ("accuracy-vs-width", "accuracy-vs-depth", "accuracy-heatmap",
                "error-vs-params", "error-vs-flops", "pareto-front", "validation-curves",
                "compute-frontier")
OPTUNA_KEYS = ("optimization-history", "param-importances", "parallel-coordinate")
# Numbered so that sorting the saved graph objects' ids gives the report's order.
DASHBOARD_IDS = tuple(f"{i:02d}-{key}" for i, key in enumerate(SCALING_KEYS, start=1))
TRAIN = {"epochs": 2, "batch_size": 64, "optimizer": "adam", "learning_rate": 0.001,
         "lr_schedule": "constant"}
HOST = "worker-a"


# --------------------------------------------------------------------------- synthetic studies


def _trial(family: str, values: dict[str, Any], seed: int, acc: float, params: int,
           extra: dict[str, float] | None = None) -> optuna.trial.FrozenTrial:
    """A finished trial with the user attrs the objective stores."""
    arch = {"family": family, **values}
    knobs = {k: v for k, v in values.items() if isinstance(v, int)} | (extra or {})
    dists = {k: (FloatDistribution(1e-4, 1e-2, log=True) if isinstance(v, float)
                 else IntDistribution(1, 1024)) for k, v in knobs.items()}
    return optuna.trial.create_trial(
        value=acc + 0.01, params=knobs, distributions=dists,
        intermediate_values={0: acc - 0.05, 1: acc + 0.01},
        user_attrs={"family": family, "cell": cell_key(family, values), "seed": seed,
                    "arch": json.dumps(arch), "param_count": params, "flops": 2 * params,
                    "val_accuracy": acc + 0.01, "test_accuracy": acc, "epochs": 2,
                    "train_seconds": 1.0, "engine": "optuna", "train": json.dumps(TRAIN),
                    "host": HOST})


def synthetic_study(storage: optuna.storages.BaseStorage, mode: str) -> optuna.Study:
    """A cnn width x depth grid with +2 pp per doubling and -1 pp per block; a grid also
    has dense cells (a search explores one family, as the search preset does)."""
    study = optuna.create_study(storage=storage, study_name=f"synthetic-{mode}",
                                direction="maximize")
    study.set_user_attr(IDENTITY, json.dumps({"mode": mode}))
    for seed, offset in enumerate((-0.01, 0.0, 0.012)):
        for w in (4, 8, 16):
            for d in (1, 2):
                acc = 0.7 + offset + 0.02 * math.log2(w / 4) - 0.01 * (d - 1)
                study.add_trial(_trial("cnn", {"width": w, "depth": d}, seed, acc,
                                       w * 3000 // d, {"learning_rate": 1e-3 * (1 + w / 8)}))
        for units in (32, 128, 512) if mode == "grid" else ():
            study.add_trial(_trial("dense", {"units": units}, seed,
                                   0.68 + offset + 0.005 * math.log2(units), units * 800))
    return study


def api_get(app: Any, path: str) -> Any:
    """One GET through optuna-dashboard's WSGI app, without a server."""
    environ: dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), status
    return json.loads(body)


def dashboard_detail(app: Any, name: str) -> dict[str, Any]:
    summaries = api_get(app, "/api/studies")["study_summaries"]
    study_id = next(s["study_id"] for s in summaries if s["study_name"] == name)
    return api_get(app, f"/api/studies/{study_id}")


# --------------------------------------------------------------------------- fast tests


def test_a_report_of_an_unchanged_study_leaves_its_journal_as_it_was(tmp_path: Path):
    """A journal file grows with every save: a second report of the same study saves
    nothing, and a new trial updates what changed."""
    log = tmp_path / "s.journal"
    study = synthetic_study(open_storage(f"journal:///{log}"), "grid")
    write_report(study, tmp_path / "a")
    first = log.read_bytes()
    write_report(study, tmp_path / "b")
    assert log.read_bytes() == first
    study.add_trial(_trial("dense", {"units": 1024}, 0, 0.75, 1024 * 800))
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


def test_a_law_the_cells_do_not_follow_is_said_so_in_words():
    study = synthetic_study(optuna.storages.InMemoryStorage(), "grid")
    fit = analyze([to_record(t) for t in study.trials]).fits[0]
    assert fit.lack_of_fit.p_value > 0.05
    assert "lack-of-fit p = 0.62" in fit_text(fit) and "scatter" not in fit_text(fit)
    misfit = replace(fit, lack_of_fit=replace(fit.lack_of_fit, p_value=2.2e-8))
    assert fit_text(misfit).endswith(
        "lack-of-fit p = 2.2e-08: the cells scatter about the law more than their seeds do, "
        "so it summarises them only roughly")


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
    detail = dashboard_detail(optuna_dashboard.wsgi(storage), "synthetic-search")
    assert {g["id"] for g in detail["plotly_graph_objects"]} == set(DASHBOARD_IDS)


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


def test_the_set_up_comes_first_and_reaches_json_and_the_dashboard_note(tmp_path: Path):
    storage = optuna.storages.InMemoryStorage()
    study = synthetic_study(storage, "grid")
    study.set_user_attr(IDENTITY, json.dumps({"mode": "grid", "dataset": "fashion_mnist",
                                              "train_subset": 600}))
    paths = write_report(study, tmp_path)
    page = paths.html.read_text()
    setup = page.index("<h2>Set-up</h2>")
    assert setup < page.index("<section><h2>") < page.index(f'id="{SCALING_KEYS[0]}"')
    section = page[setup:page.index("</section>", setup)]
    for fact in ("fashion_mnist, 600 training images per epoch",
                 "2 epochs; optimizer adam, learning rate 0.001, schedule constant, "
                 "batch size 64", "3 seed(s) per cell",
                 "9 of 9 cells complete, 27 of 27 trials complete", f"{HOST} (27 trials)",
                 f"python {platform.python_version()}", f"optuna {optuna.__version__}"):
        assert fact in section, fact

    data = json.loads(paths.scaling_json.read_text())["setup"]
    trials = study.get_trials()
    assert data["dataset"] == "fashion_mnist" and data["training_images"] == 600
    assert data["training_rule"] == "2 epochs"
    assert data["train"] == {k: [v] for k, v in TRAIN.items() if k != "epochs"}
    assert (data["trials_complete"], data["trials"], data["cells_complete"], data["cells"]) == (
        27, 27, 9, 9)
    assert data["first_start"] == min(t.datetime_start for t in trials).isoformat()
    assert data["last_complete"] == max(t.datetime_complete for t in trials).isoformat()
    assert data["hosts"] == {HOST: 27} and data["versions"]["optuna"] == optuna.__version__

    body = dashboard_detail(optuna_dashboard.wsgi(storage), "synthetic-grid")["note"]["body"]
    assert body.index("## Set-up") < body.index("- budget: 600 training images")
    assert f"optuna {optuna.__version__}" in body and f"{HOST} (27 trials)" in body


def test_formulas_have_superscripts_in_html_and_plain_text_elsewhere(tmp_path: Path):
    paths = write_report(synthetic_study(optuna.storages.InMemoryStorage(), "grid"), tmp_path,
                         dashboard=False)
    page = paths.html.read_text()
    assert re.search(r"err = [\d.]+·N<sup>&minus;[\d.]+</sup>", page), "no raised exponent"
    assert "N^-" not in page.split("<section>", 1)[1]  # none left in captions and tables
    assert page.count("N<sup>&minus;") >= 3  # headline, caption and fits table
    assert "<sup>" not in paths.scaling_json.read_text()
    assert any("·N^-" in line for line in paths.headline)


def _scatters(figure: dict[str, Any]) -> list[dict[str, Any]]:
    """The traces of a saved figure that show hover text for their points."""
    return [t for t in figure["data"] if t["type"] == "scatter" and t.get("hoverinfo") != "skip"]


def test_dashboard_figures_sort_in_report_order_and_name_cell_and_seed(tmp_path: Path):
    storage = optuna.storages.InMemoryStorage()
    paths = write_report(synthetic_study(storage, "grid"), tmp_path)
    saved = dashboard_detail(optuna_dashboard.wsgi(storage), "synthetic-grid")[
        "plotly_graph_objects"]
    # optuna-dashboard 0.21 lists them in set order; their ids sort into the report's order
    by_id = {g["id"]: json.loads(g["graph_object"]) for g in saved}
    assert sorted(by_id) == list(DASHBOARD_IDS)
    titles = [by_id[i]["layout"]["title"]["text"] for i in sorted(by_id)]
    page = paths.html.read_text()
    assert sorted(titles, key=lambda t: page.index(f"<h2>{t}</h2>")) == titles

    for key, figure in by_id.items():
        for trace in _scatters(figure):
            assert trace["hovertemplate"].startswith("%{customdata[0]}, "), (key, trace["name"])
            assert len(trace["customdata"]) == len(trace["x"]), (key, trace["name"])
    per_seed = [t for t in _scatters(by_id[DASHBOARD_IDS[0]])
                if "seed %{customdata[1]}" in t["hovertemplate"]]
    assert {tuple(p) for t in per_seed for p in t["customdata"]} == {
        (cell_key("cnn", {"width": w, "depth": d}), s)
        for w in (4, 8, 16) for d in (1, 2) for s in range(3)}
    means = [t for t in _scatters(by_id[DASHBOARD_IDS[3]]) if t["name"] == "cnn"]
    assert "mean of %{customdata[1]} seed(s)" in means[0]["hovertemplate"]
    assert {p[1] for p in means[0]["customdata"]} == {3}


def headed_study() -> optuna.Study:
    """Two heads x widths 8, 16 x depths 1-3 x 3 seeds trained to convergence (limit 30):
    seed 0 of every cell ran all 30 epochs with its best at 28 (schedule-limited); seed 1 of
    gap width 16 depth 3 stopped at epoch 8, 5 pp below its siblings (a premature stop)."""
    study = optuna.create_study(study_name="headed", direction="maximize")
    train = {**TRAIN, "epochs": 30, "stop": "converged", "patience": 4, "min_delta": 0.001}
    for head in ("gap", "flatten"):
        for w in (8, 16):
            for d in (1, 2, 3):
                for seed, offset in enumerate((-0.01, 0.0, 0.012)):
                    acc = 0.8 + offset + (0.02 * math.log2(w / 8) + 0.03 * (d - 1)
                                          if head == "gap" else 0.0)
                    premature = (head, w, d, seed) == ("gap", 16, 3, 1)
                    epochs = 30 if seed == 0 else 8 if premature else 20
                    values = {"head": head, "width": w, "depth": d}
                    params = w * 1000 * (2 ** d if head == "gap" else 5 - d)
                    arch = {"family": "cnn", **values, "kernels": [7, 5, 3, 3]}
                    study.add_trial(optuna.trial.create_trial(
                        value=acc, intermediate_values={0: acc},
                        user_attrs={"family": "cnn", "cell": cell_key("cnn", values),
                                    "seed": seed, "arch": json.dumps(arch),
                                    "param_count": params, "flops": 40 * params,
                                    "val_accuracy": acc, "train": json.dumps(train),
                                    "test_accuracy": acc - 0.05 * premature,
                                    "epochs_run": epochs, "best_epoch": epochs - 2,
                                    "converged": seed != 0, "train_seconds": 1.0}))
    return study


def test_headlines_are_per_head_in_common_units_with_steps_premature_stops_and_budget(
        tmp_path: Path):
    paths = write_report(headed_study(), tmp_path, dashboard=False)
    lines = list(paths.headline)
    assert lines[0].startswith("budget: ") and lines[0].endswith(
        "; 36 runs: 12 ran all 30 epochs, 12 schedule-limited (best epoch after 80 % of the "
        "epoch limit; cnn head gap 6 of 18, cnn head flatten 6 of 18), 1 premature stop(s) "
        "flagged")
    width = [line for line in lines if line.startswith("width effect: ")]
    assert [line.split(" at head ")[1].split(" ")[0] for line in width] == ["gap", "flatten"]
    # The premature stop (-5 pp at width 16) pulls +2 pp per doubling down for its seed;
    # parameters and FLOPs double with width here, so all three units agree.
    assert width[0] == ("width effect: +1.4 pp per doubling of width pooled over depths at "
                        "head gap (95 % CI [-0.9, +3.8], 3 seeds); per doubling of parameters "
                        "+1.4 pp [-0.9, +3.8]; per doubling of FLOPs +1.4 pp [-0.9, +3.8]")
    assert not any("heads" in line for line in lines)  # nothing pooled over heads
    (steps,) = [line for line in lines if line.startswith("depth steps at head gap")]
    assert "1->2 (receptive field 8->18 px) +3.0 pp [" in steps
    assert "2->3 (receptive field 18->30 px)" in steps
    (sens,) = [line for line in lines if line.startswith("sensitivity")]
    assert sens.startswith("sensitivity without the 1 premature stop(s)")
    # Without it every seed gains exactly the planted +2 pp.
    assert "head gap: width/doubling +2.0 [+2.0, +2.0] (all +1.4 [-0.9, +3.8])" in sens
    assert "head flatten: " in sens
    assert [line.split(",")[0] for line in lines if line.startswith("scaling law")] == [
        "scaling law vs params", "scaling law vs params"]
    assert sum("at head gap" in line for line in lines if line.startswith("scaling law")) == 1

    data = json.loads(paths.scaling_json.read_text())
    assert data["premature_stops"]["runs"][0]["cell"] == "cnn:head=gap,width=16,depth=3"
    assert data["runs"]["schedule_limited"] == 12 and data["schedule_limited_rule"]
    rows = {r["cell"]: r for r in csv.DictReader(io.StringIO(paths.cells_csv.read_text()))}
    row = rows["cnn:head=gap,width=16,depth=3"]
    assert (row["receptive_field"], row["premature_stops"], row["seeds_ran_full"],
            row["seeds_schedule_limited"]) == ("30", "1", "1", "1")
    assert rows["cnn:head=flatten,width=8,depth=1"]["receptive_field"] == "8"
    page = paths.html.read_text()
    for title in ("Premature stops", "Depth steps and receptive fields",
                  "Sensitivity: every estimate without the premature stops",
                  "Width and depth effects per step and per doubling of parameters and FLOPs"):
        assert f"<h2>{title}</h2>" in page, title
    assert "stopped by early-stopping patience (converged) before 2/3 of its epoch limit" in page


def test_report_of_a_study_without_completed_trials_is_an_error(tmp_path: Path):
    study = optuna.create_study(study_name="empty")
    with pytest.raises(ReportError, match="no completed trial"):
        write_report(study, tmp_path)


# --------------------------------------------------------------------------- real study, browser

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
    return write_report(report_study[1], tmp_path_factory.mktemp("report"), png=True)


@pytest.mark.slow
def test_report_renders_every_figure_in_headless_chromium(report_files: ReportPaths,
                                                          tmp_path: Path):
    result = chromium(report_files.html.as_uri(), tmp_path, "--dump-dom")
    dom = result.stdout
    assert "Uncaught" not in result.stderr
    assert '<pre id="js-errors"></pre>' in dom
    assert report_files.figures == SCALING_KEYS
    assert dom.index('id="setup"') < dom.index(f'id="{SCALING_KEYS[0]}"')
    for key in report_files.figures:
        start = dom.index(f'id="{key}"')
        figure = dom[start:dom.find("<section", start)]
        assert 'class="main-svg"' in figure, key
        assert 'class="trace' in figure or 'class="hm"' in figure, f"{key} drew no data"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    chromium(report_files.html.as_uri(), tmp_path, f"--screenshot={shot}")
    assert shot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_report_writes_pngs_and_tables_for_the_real_study(report_files: ReportPaths):
    assert [p.stem for p in report_files.pngs] == list(SCALING_KEYS)
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
        [sys.executable, "-c", "import sys; from search.dashboard import serve; "
                               "serve(sys.argv[1], port=int(sys.argv[2]))",
         report_study[0], str(port)],
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
def test_dashboard_serves_the_study_its_trials_figures_and_note(
        report_files: ReportPaths, dashboard: str, tmp_path: Path):
    with urllib.request.urlopen(f"{dashboard}/api/studies", timeout=10) as r:
        summaries = json.load(r)["study_summaries"]
    (study_id,) = [s["study_id"] for s in summaries if s["study_name"] == "tiny"]
    with urllib.request.urlopen(f"{dashboard}/api/studies/{study_id}", timeout=30) as r:
        detail = json.load(r)
    complete = [t for t in detail["trials"] if t["state"] == "Complete"]
    assert len(complete) == TINY_TRIALS
    # in report order (optuna-dashboard alone lists them in set order)
    assert [g["id"] for g in detail["plotly_graph_objects"]] == list(DASHBOARD_IDS)
    assert "# Scaling report: tiny" in detail["note"]["body"]

    page = f"{dashboard}/dashboard/studies/{study_id}"
    result = chromium(page, tmp_path, "--dump-dom")
    assert "Uncaught" not in result.stderr
    assert "tiny" in result.stdout
    for key in DASHBOARD_IDS:  # the custom figures are drawn on the study page
        start = result.stdout.index(f'id="user-defined-plot:{key}"')
        assert 'class="main-svg"' in result.stdout[start:start + 2000], key
    ARTIFACTS.mkdir(exist_ok=True)
    chromium(page, tmp_path, f"--screenshot={ARTIFACTS / 'dashboard.png'}")
