"""Run the real CLI (`python -m search.study`) as a user would, from the repository root."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Root ignores file modes: a case about a read-only file runs its command as 'nobody'.
UNPRIVILEGED = (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
                if os.geteuid() == 0 else [])


@functools.cache
def can_drop_root() -> bool:
    """Whether the CLI can run unprivileged here (not root, or root with setpriv and a
    Python and repository 'nobody' can read)."""
    if not UNPRIVILEGED:
        return True
    if shutil.which("setpriv") is None:
        return False
    probe = subprocess.run([*UNPRIVILEGED, sys.executable, "-c", "import search"], cwd=ROOT,
                           capture_output=True, timeout=60)
    return probe.returncode == 0


def env(**extra: str) -> dict[str, str]:
    """The test's environment without a data-dir override, plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if k != "SEARCH_DATA_DIR"}
    return {**base, **extra}


def run(*args: str, timeout: float = 600, unprivileged: bool = False,
        **extra_env: str) -> subprocess.CompletedProcess:
    """``unprivileged``: as 'nobody' when the tests run as root (file modes then hold)."""
    prefix = UNPRIVILEGED if unprivileged else []
    return subprocess.run([*prefix, sys.executable, "-m", "search.study", *args], cwd=ROOT,
                          env=env(**extra_env), capture_output=True, text=True,
                          timeout=timeout)


def start(*args: str, **extra_env: str) -> subprocess.Popen:
    """A worker in the background (stdout and stderr to pipes)."""
    return subprocess.Popen([sys.executable, "-m", "search.study", *args], cwd=ROOT,
                            env=env(**extra_env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
