"""optuna-dashboard on a study store, opened through the project's own storage layer.

Going through :func:`storage.open_storage` gives the dashboard the same URL forms and engine
options as the workers (SQLite busy timeout, PostgreSQL pre-ping, journal files). The
dashboard serves its front end from the installed wheel, so it works without a network.
Bind to loopback by default: the dashboard can rename and delete studies.
"""

from __future__ import annotations

import optuna_dashboard

from storage import mask_url, open_storage

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def serve(storage_url: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the dashboard until interrupted (blocks); the URL is printed without password."""
    storage = open_storage(storage_url, create=False)
    print(f"optuna-dashboard for {mask_url(storage_url)} on http://{host}:{port}/", flush=True)
    optuna_dashboard.run_server(storage, host=host, port=port)
