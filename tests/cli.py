"""Run the real CLI (`python -m search.study`) as a user would, from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def env(**extra: str) -> dict[str, str]:
    """The test's environment without a data-dir override, plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if k != "SEARCH_DATA_DIR"}
    return {**base, **extra}


def run(*args: str, timeout: float = 600, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search.study", *args], cwd=ROOT,
                          env=env(**extra_env), capture_output=True, text=True, timeout=timeout)


def start(*args: str, **extra_env: str) -> subprocess.Popen:
    """A worker in the background (stdout and stderr to pipes)."""
    return subprocess.Popen([sys.executable, "-m", "search.study", *args], cwd=ROOT,
                            env=env(**extra_env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
