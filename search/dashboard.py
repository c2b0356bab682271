"""optuna-dashboard on a study store, opened through the project's own storage layer.

Going through :func:`storage.open_storage` gives the dashboard the same URL forms and engine
options as the workers (SQLite busy timeout, PostgreSQL pre-ping, journal files). The
dashboard serves its front end from the installed wheel, so it works without a network.
Bind to loopback by default: the dashboard can rename and delete studies.

The server is ours (``wsgiref`` around optuna-dashboard's public ``wsgi`` app), not
``run_server``: Bottle's runner announces "Listening on" before it binds (a taken port
then printed both the announcement and a traceback) and swallows Ctrl-C. Here the port is
bound first, then announced; a signal ends ``serve_forever`` within half a second.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

import optuna_dashboard
from optuna.artifacts import FileSystemArtifactStore

from compat.optuna_dashboard import sort_saved_figures_by_id
from search import interrupt
from storage import mask_url, open_storage

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def loopback_address(host: str) -> str | None:
    """The canonical loopback address ``host`` names, or None if it is not a loopback one.

    Numeric forms only, never a name lookup (DNS could answer anything), except
    ``localhost``. IPv4 is read as ``inet_aton`` reads it, as the socket will bind it
    (``127.1`` is 127.0.0.1); an IPv4-mapped IPv6 address is its IPv4 address
    (``::ffff:127.0.0.1``).
    """
    if host == "localhost":
        return DEFAULT_HOST
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not host or host != host.strip() or any(c.isspace() for c in host):
            return None  # inet_aton would accept "127.1 anything"
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None  # a host name: it may resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address) if address.is_loopback else None


class _Answer(ServerHandler):
    def handle_error(self) -> None:
        """A signal while answering stops the server (wsgiref's bare ``except`` would print
        it as the request's error and serve on)."""
        if isinstance(sys.exc_info()[1], KeyboardInterrupt):
            raise KeyboardInterrupt
        super().handle_error()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per request."""

    def handle(self) -> None:
        """As ``WSGIRequestHandler.handle`` (Python 3.11), answered by :class:`_Answer`."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        answer = _Answer(self.rfile, self.wfile, self.get_stderr(), self.get_environ(),
                         multithread=False)
        answer.request_handler = self  # type: ignore[attr-defined]
        answer.run(self.server.get_app())  # type: ignore[attr-defined]


def _server_class(host: str) -> type[WSGIServer]:
    try:
        ipv6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        ipv6 = False

    class Server(WSGIServer):
        address_family = socket.AF_INET6 if ipv6 else socket.AF_INET

        def service_actions(self) -> None:
            # wsgiref's handler catches everything (a bare except) while it answers, a
            # KeyboardInterrupt too: a signal then only set the flag. Seen here at the
            # latest half a second later (serve_forever's poll interval).
            interrupt.check()

    return Server


def serve(storage_url: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          artifacts: Path | None = None) -> None:
    """Serve the dashboard until interrupted (blocks); the URL is printed without password,
    once the port is bound. A port that cannot be bound raises OSError before any line.
    With the folder of the study's kept models (``artifacts``, when it exists), the
    trials' models can be downloaded from their trial pages."""
    # The dashboard renames and deletes studies: a signal never cuts such a write.
    storage = interrupt.shield_writes(open_storage(storage_url, create=False))
    sort_saved_figures_by_id()
    models = FileSystemArtifactStore(artifacts) if artifacts and artifacts.is_dir() else None
    app = optuna_dashboard.wsgi(storage, artifact_store=models)
    with make_server(host, port, app, server_class=_server_class(host),
                     handler_class=_QuietHandler) as server:
        shown = f"[{host}]" if ":" in host else host
        print(f"optuna-dashboard for {mask_url(storage_url)} on http://{shown}:{port}/",
              flush=True)
        server.serve_forever()
