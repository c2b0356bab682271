"""A throwaway PostgreSQL server on loopback for benchmarks (the same recipe as tests/conftest.py).

    with throwaway_server() as prefix:        # postgresql://postgres:...@127.0.0.1:PORT
        url = create_database(prefix, "bench")

The server runs from a temporary folder (as the ``postgres`` user when we are root, since
``initdb`` refuses root), listens on 127.0.0.1 only and is stopped and deleted on exit.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PASSWORD = "bench-pw"  # trust authentication accepts any password


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs are missing or the server did not start."""


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                   reverse=True)), None)
    if found is None:
        raise PostgresUnavailable(f"PostgreSQL's {name} is missing: run `bash scripts/setup "
                                  "--test` or pass --postgres URL")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a server; yield a URL prefix without database (``postgresql://...:PORT``)."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    folder = Path(tempfile.mkdtemp(prefix="scaling-lab-bench-pg-"))
    data = folder / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    try:
        try:
            subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                           check=True, capture_output=True)
            subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l",
                            str(folder / "log"), "-w", "start"], check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            raise PostgresUnavailable(f"cannot start a throwaway PostgreSQL server: {exc} "
                                      f"{detail.decode(errors='replace').strip()[:200]}") from None
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}"
    finally:
        if data.exists():
            subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(prefix: str, name: str) -> str:
    """(Re)create database ``name`` on the server at ``prefix``; return its URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"{prefix}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return f"{prefix}/{name}"
