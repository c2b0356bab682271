"""search.report's figures: registered by key and slot, saved to the dashboard in report
order, and naming cell and seed on hover."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import optuna_dashboard
import plotly.graph_objects as go
import pytest

from search.analysis import Analysis, analyze
from search.report import figure as report_figure
from search.report import write_report
from search.report.figures import scaling_figures
from spaces.space import cell_key
from storage import TrialRecord
from storage.records import to_record
from tests.search.report.studies import (
    DASHBOARD_IDS,
    SCALING_KEYS,
    dashboard_detail,
    synthetic_study,
    trial,
)


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


def test_a_figure_keeps_its_id_when_figures_before_it_have_no_data(tmp_path: Path):
    """Without CNN cells the width, depth and heatmap figures are skipped; the others keep
    the ids of their registered slots, so a dashboard never gets a figure under another's."""
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="dense-only", direction="maximize")
    for seed, offset in enumerate((-0.01, 0.0, 0.012)):
        for units in (32, 128, 512):
            study.add_trial(trial("dense", {"units": units}, seed,
                                  0.68 + offset + 0.005 * math.log2(units), units * 800))
    paths = write_report(study, tmp_path)
    assert paths.figures[0] == "error-vs-params"
    assert not {"accuracy-vs-width", "accuracy-vs-depth", "accuracy-heatmap"} & set(
        paths.figures)
    saved = dashboard_detail(optuna_dashboard.wsgi(storage), "dense-only")[
        "plotly_graph_objects"]
    assert {g["id"] for g in saved} == {DASHBOARD_IDS[SCALING_KEYS.index(k)]
                                        for k in paths.figures}
    assert "04-error-vs-params" in {g["id"] for g in saved}


def test_a_new_figure_is_one_registered_function(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path):
    """A function and its registration: the page, the files and the dashboard show it."""
    # A copy of the registry, put back after the test, so the other tests see nine figures.
    monkeypatch.setattr(report_figure, "REGISTRY", dict(report_figure.REGISTRY))

    @report_figure.register("seed-spread", slot=10)
    def seed_spread(analysis: Analysis, records: Sequence[TrialRecord]) -> report_figure.Plot:
        cells = analysis.cells
        bars = go.Figure(go.Bar(x=[c.cell for c in cells], y=[c.test.std for c in cells]))
        return report_figure.Plot("Seed spread per cell",
                                  f"Test accuracy std of {len(cells)} cells.", bars)

    storage = optuna.storages.InMemoryStorage()
    paths = write_report(synthetic_study(storage, "grid"), tmp_path)
    assert paths.figures == (*SCALING_KEYS, "seed-spread")
    page = paths.html.read_text()
    assert 'id="seed-spread"' in page and "Test accuracy std of 9 cells." in page
    saved = dashboard_detail(optuna_dashboard.wsgi(storage), "synthetic-grid")[
        "plotly_graph_objects"]
    assert sorted(g["id"] for g in saved) == [*DASHBOARD_IDS, "10-seed-spread"]


def test_a_key_or_a_slot_is_registered_once():
    study = synthetic_study(optuna.storages.InMemoryStorage(), "grid")
    records = [to_record(t) for t in study.trials]
    made = scaling_figures(analyze(records), records)
    assert [f.dashboard_id for f in made] == list(DASHBOARD_IDS)
    assert [r.key for r in report_figure.registered()] == list(SCALING_KEYS)
    for key, slot in (("accuracy-vs-width", 99), ("another-figure", 1)):
        with pytest.raises(ValueError, match="already taken"):
            report_figure.register(key, slot)(lambda analysis, records: None)
    assert len(report_figure.registered()) == len(SCALING_KEYS)
