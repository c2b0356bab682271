"""The light floor: commands that only read studies (``list``, ``show``), ``--help`` and
argument errors import neither TensorFlow (nor Keras) nor SciPy nor pandas; ``report``
imports Keras only to read a kept model.

Each command runs as a user runs it, ``python -m search.study``, under ``-X importtime``,
which names every module the process imported; the study is a small SQLite file made here.
The intervals those commands print come from the Student-t quantiles stored in
search.stats, checked here against SciPy to the last bit.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import optuna
import pytest
from optuna.distributions import IntDistribution
from scipy import stats

from search.stats import CONFIDENCE, T_QUANTILES, mean_ci, t_interval
from spaces.space import cell_key
from storage.studies import IDENTITY
from tests.cli import ROOT, env

HEAVY = {"tensorflow", "keras", "scipy", "pandas"}


def imports(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI with ``args``; its result and the top-level packages it imported."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "search.study", *args],
                            cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    modules = {line.rsplit("|", 1)[1].strip().split(".")[0]
               for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "optuna" in modules, result.stderr[-2000:]  # the listing is there to be read
    return result, modules


def messages(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without -X importtime's lines."""
    return [line for line in result.stderr.splitlines() if not line.startswith("import time:")]


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A study of two CNN cells with three seeds each, as the objective stores them."""
    url = f"sqlite:///{tmp_path_factory.mktemp('light') / 'studies.db'}"
    study = optuna.create_study(storage=url, study_name="light", direction="maximize")
    study.set_user_attr(IDENTITY, json.dumps({"mode": "grid", "dataset": "fashion_mnist"}))
    for width in (8, 16):
        for seed in range(3):
            acc = 0.8 + width / 1000 + seed / 100
            values = {"width": width, "depth": 1}
            study.add_trial(optuna.trial.create_trial(
                value=acc, params=values,
                distributions={k: IntDistribution(1, 64) for k in values},
                user_attrs={"family": "cnn", "cell": cell_key("cnn", values), "seed": seed,
                            "arch": json.dumps({"family": "cnn", **values}),
                            "param_count": 1000 * width, "flops": 9000 * width,
                            "val_accuracy": acc, "test_accuracy": acc - 0.01,
                            "train_seconds": 1.0}))
    return url


def test_list_imports_no_heavy_library(storage: str):
    result, modules = imports("list", "--storage", storage)
    assert result.returncode == 0, messages(result)
    assert "light" in result.stdout and "cnn:width=16,depth=1" in result.stdout
    assert not modules & HEAVY


def test_show_without_csv_imports_no_heavy_library(storage: str):
    result, modules = imports("show", "--study-name", "light", "--storage", storage)
    assert result.returncode == 0, messages(result)
    assert "±" in result.stdout  # the cells' intervals were computed
    assert "best cell (mean validation accuracy over 3 seed(s)): cnn:width=16" in result.stdout
    assert not modules & HEAVY


def test_report_of_a_study_without_kept_models_imports_no_tensorflow(storage: str, tmp_path):
    """Keras is loaded only to read a kept model: none here (the study stored none)."""
    result, modules = imports("report", "--study-name", "light", "--storage", storage,
                              "--out", str(tmp_path))
    assert result.returncode == 0, messages(result)
    assert (tmp_path / "light" / "report.html").is_file()
    assert not modules & {"tensorflow", "keras"}


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("list", "--help")])
def test_help_imports_no_heavy_library(args: tuple[str, ...]):
    result, modules = imports(*args)
    assert result.returncode == 0 and "usage:" in result.stdout
    assert not modules & HEAVY


@pytest.mark.parametrize("args", [("list", "--bogus"), ("run", "--epochs", "many"),
                                  ("frobnicate",)])
def test_an_argument_error_imports_no_heavy_library(args: tuple[str, ...]):
    result, modules = imports(*args)
    assert result.returncode == 2
    assert len(messages(result)) == 1 and messages(result)[0].startswith("error: ")
    assert not modules & HEAVY


def test_the_stored_t_quantiles_are_scipys():
    assert list(T_QUANTILES) == list(range(1, len(T_QUANTILES) + 1))
    for dof in range(1, len(T_QUANTILES) + 3):  # and beyond the table, where SciPy answers
        expected = tuple(float(q) for q in stats.t.interval(CONFIDENCE, dof))
        assert t_interval(CONFIDENCE, dof) == expected, dof
    assert t_interval(0.9, 3) == tuple(float(q) for q in stats.t.interval(0.9, 3))


@pytest.mark.parametrize("n", [2, 3, 5, 10, len(T_QUANTILES) + 1, len(T_QUANTILES) + 9])
def test_mean_ci_is_scipys_interval_to_the_last_bit(n: int):
    """Inside the table and beyond it (where SciPy is asked), the same bits as
    ``scipy.stats.t.interval`` about the mean with ``scipy.stats.sem``."""
    rng = np.random.default_rng(n)
    for _ in range(50):
        x = rng.normal(0.8, rng.uniform(1e-4, 0.05), n)
        mean = float(x.mean())
        low, high = stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=float(stats.sem(x)))
        got = mean_ci(x.tolist())
        assert (got.mean, got.low, got.high, got.n) == (mean, float(low), float(high), n)

