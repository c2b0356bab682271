"""optuna-dashboard on a study store, opened through the project's own storage layer.

Going through :func:`storage.open_storage` gives the dashboard the same URL forms and engine
options as the workers (SQLite busy timeout, PostgreSQL pre-ping, journal files). The
dashboard serves its front end from the installed wheel, so it works without a network.
Bind to loopback by default: the dashboard can rename and delete studies.
"""

from __future__ import annotations

from typing import Any

import optuna_dashboard

from storage import mask_url, open_storage

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def _figures_in_id_order() -> None:
    """Show the saved figures in the order of their ids (numbered in the report's order).

    optuna-dashboard (0.21) collects the figure ids in a set, so the study page lists them
    in string-hash order, a different one on every start, and offers no option to sort.
    The function its app calls to collect them is wrapped, once, to return them sorted.
    """
    from optuna_dashboard import _app

    collect = _app.get_plotly_graph_objects
    if getattr(collect, "sorted_by_id", False):
        return

    def sorted_by_id(system_attrs: dict[str, Any]) -> dict[str, str]:
        return dict(sorted(collect(system_attrs).items()))

    sorted_by_id.sorted_by_id = True  # type: ignore[attr-defined]
    _app.get_plotly_graph_objects = sorted_by_id


def serve(storage_url: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the dashboard until interrupted (blocks); the URL is printed without password."""
    storage = open_storage(storage_url, create=False)
    _figures_in_id_order()
    print(f"optuna-dashboard for {mask_url(storage_url)} on http://{host}:{port}/", flush=True)
    optuna_dashboard.run_server(storage, host=host, port=port)
