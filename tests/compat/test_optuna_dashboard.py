"""compat.optuna_dashboard against the installed optuna-dashboard: its study page lists the
saved figures in the order of their ids once the collector is wrapped."""

from __future__ import annotations

import json
from io import BytesIO, StringIO

import optuna
import optuna_dashboard
import plotly.graph_objects as go

from compat.optuna_dashboard import saved_by_dashboard, sort_saved_figures_by_id

CHECKED = "0.21.0"  # the version compat/optuna_dashboard.py was checked against
IDS = [f"{i:02d}-figure" for i in range(1, 13)]


def _study_detail(app, study_id: int) -> dict:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/studies/{study_id}",
               "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "wsgi.input": BytesIO(), "wsgi.errors": StringIO(), "wsgi.url_scheme": "http"}
    status = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), status
    return json.loads(body)


def test_the_dashboard_lists_saved_figures_in_id_order():
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="figures")
    for graph_id in reversed(IDS):  # saved last-first: a set would not give id order
        optuna_dashboard.save_plotly_graph_object(study, go.Figure(), graph_object_id=graph_id)
    sort_saved_figures_by_id()
    sort_saved_figures_by_id()  # a second call does not wrap twice
    detail = _study_detail(optuna_dashboard.wsgi(storage),
                           storage.get_study_id_from_name("figures"))
    listed = [g["id"] for g in detail["plotly_graph_objects"]]
    assert listed == IDS, (f"optuna-dashboard {optuna_dashboard.__version__} (compat/"
                           f"optuna_dashboard.py checked against {CHECKED}) no longer lists "
                           f"the wrapped collector's order; update compat/optuna_dashboard.py")


def test_what_optuna_dashboard_saved_reads_back_through_the_private_readers():
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    assert saved_by_dashboard(study) == ({}, "")
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    optuna_dashboard.save_plotly_graph_object(study, fig, graph_object_id="01-line")
    optuna_dashboard.save_note(study, "# a note")
    graphs, body = saved_by_dashboard(study)
    assert graphs == {"01-line": fig.to_json()}
    assert body == "# a note"
