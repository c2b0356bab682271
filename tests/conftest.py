"""Shared fixtures: a real PostgreSQL server on loopback."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy

PG_PASSWORD = "s3cret-pw"  # trust auth accepts any; tests check it never reaches a file


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                   reverse=True)), None)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is missing: run `bash scripts/setup --test`")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    """A running server: ``prefix`` is its URL without database; ``restart`` restarts it."""

    prefix: str
    restart: Callable[[float], None]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server on loopback."""
    # Not under pytest's tmp root: that is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="scaling-lab-pg-"))
    data = folder / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*as_user, _pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U",
                    "postgres"], check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l",
                    str(folder / "log"), "-w", "start"], check=True, capture_output=True)

    def pg_ctl(*args: str) -> None:
        subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(data), *args], check=True,
                       capture_output=True)

    def restart(down_seconds: float) -> None:
        """Fast shutdown (open connections are cut), ``down_seconds`` down, start again."""
        pg_ctl("-m", "fast", "-w", "stop")
        time.sleep(down_seconds)
        pg_ctl("-o", options, "-l", str(folder / "log"), "-w", "start")

    try:
        yield PostgresServer(f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{port}", restart)
    finally:
        subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """A fresh database on the shared server, one per test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    engine = sqlalchemy.create_engine(f"{postgres_server.prefix}/postgres",
                                      isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{postgres_server.prefix}/{name}"


@pytest.fixture
def own_signals() -> Iterator[None]:
    """``main`` routes SIGINT and SIGTERM through its own handler: give pytest back its own."""
    kept = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in kept.items():
        signal.signal(s, handler)
