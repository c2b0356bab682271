"""Synthetic studies for the report tests (no training), and reading the dashboard's JSON
through optuna-dashboard's own WSGI app."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
from optuna.distributions import FloatDistribution, IntDistribution

from spaces.space import cell_key
from storage.studies import IDENTITY

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts"
SCALING_KEYS = ("accuracy-vs-width", "accuracy-vs-depth", "accuracy-heatmap",
                "error-vs-params", "error-vs-flops", "pareto-front", "validation-curves",
                "compute-frontier", "worker-time")
OPTUNA_KEYS = ("optimization-history", "param-importances", "parallel-coordinate")
# Drawn for each cell the report looks inside (its key then ends in the cell's).
CELL_KEYS = ("per-class-accuracy", "confusion-matrix", "misclassified", "feature-maps",
             "first-filters")
CELL_SLOTS = dict(zip(CELL_KEYS, range(21, 26), strict=True))
# Numbered so that sorting the saved graph objects' ids gives the report's order.
DASHBOARD_IDS = tuple(f"{i:02d}-{key}" for i, key in enumerate(SCALING_KEYS, start=1))
TRAIN = {"epochs": 2, "batch_size": 64, "optimizer": "adam", "learning_rate": 0.001,
         "lr_schedule": "constant"}
HOST = "worker-a"


def trial(family: str, values: dict[str, Any], seed: int, acc: float, params: int,
          extra: dict[str, float] | None = None) -> optuna.trial.FrozenTrial:
    """A finished trial with the user attrs the objective stores."""
    arch = {"family": family, **values}
    knobs = {k: v for k, v in values.items() if isinstance(v, int)} | (extra or {})
    dists = {k: (FloatDistribution(1e-4, 1e-2, log=True) if isinstance(v, float)
                 else IntDistribution(1, 1024)) for k, v in knobs.items()}
    return optuna.trial.create_trial(
        value=acc + 0.01, params=knobs, distributions=dists,
        intermediate_values={0: acc - 0.05, 1: acc + 0.01},
        user_attrs={"family": family, "cell": cell_key(family, values), "seed": seed,
                    "arch": json.dumps(arch), "param_count": params, "flops": 2 * params,
                    "val_accuracy": acc + 0.01, "test_accuracy": acc, "epochs": 2,
                    "train_seconds": 1.0, "engine": "optuna", "train": json.dumps(TRAIN),
                    "host": HOST})


def synthetic_study(storage: optuna.storages.BaseStorage, mode: str) -> optuna.Study:
    """A cnn width x depth grid with +2 pp per doubling and -1 pp per block; a grid also
    has dense cells (a search explores one family, as the search preset does)."""
    study = optuna.create_study(storage=storage, study_name=f"synthetic-{mode}",
                                direction="maximize")
    study.set_user_attr(IDENTITY, json.dumps({"mode": mode}))
    for seed, offset in enumerate((-0.01, 0.0, 0.012)):
        for w in (4, 8, 16):
            for d in (1, 2):
                acc = 0.7 + offset + 0.02 * math.log2(w / 4) - 0.01 * (d - 1)
                study.add_trial(trial("cnn", {"width": w, "depth": d}, seed, acc,
                                      w * 3000 // d, {"learning_rate": 1e-3 * (1 + w / 8)}))
        for units in (32, 128, 512) if mode == "grid" else ():
            study.add_trial(trial("dense", {"units": units}, seed,
                                  0.68 + offset + 0.005 * math.log2(units), units * 800))
    return study


def api_get(app: Any, path: str) -> Any:
    """One GET through optuna-dashboard's WSGI app, without a server."""
    environ: dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), status
    return json.loads(body)


def dashboard_detail(app: Any, name: str) -> dict[str, Any]:
    summaries = api_get(app, "/api/studies")["study_summaries"]
    study_id = next(s["study_id"] for s in summaries if s["study_name"] == name)
    return api_get(app, f"/api/studies/{study_id}")


def headed_study() -> optuna.Study:
    """Two heads x widths 8, 16 x depths 1-3 x 3 seeds trained to convergence (limit 30):
    seed 0 of every cell ran all 30 epochs with its best at 28 (schedule-limited); seed 1 of
    gap width 16 depth 3 stopped at epoch 8, 5 pp below its siblings (a premature stop)."""
    study = optuna.create_study(study_name="headed", direction="maximize")
    train = {**TRAIN, "epochs": 30, "stop": "converged", "patience": 4, "min_delta": 0.001}
    for head in ("gap", "flatten"):
        for w in (8, 16):
            for d in (1, 2, 3):
                for seed, offset in enumerate((-0.01, 0.0, 0.012)):
                    acc = 0.8 + offset + (0.02 * math.log2(w / 8) + 0.03 * (d - 1)
                                          if head == "gap" else 0.0)
                    premature = (head, w, d, seed) == ("gap", 16, 3, 1)
                    epochs = 30 if seed == 0 else 8 if premature else 20
                    values = {"head": head, "width": w, "depth": d}
                    params = w * 1000 * (2 ** d if head == "gap" else 5 - d)
                    arch = {"family": "cnn", **values, "kernels": [7, 5, 3, 3]}
                    study.add_trial(optuna.trial.create_trial(
                        value=acc, intermediate_values={0: acc},
                        user_attrs={"family": "cnn", "cell": cell_key("cnn", values),
                                    "seed": seed, "arch": json.dumps(arch),
                                    "param_count": params, "flops": 40 * params,
                                    "val_accuracy": acc, "train": json.dumps(train),
                                    "test_accuracy": acc - 0.05 * premature,
                                    "epochs_run": epochs, "best_epoch": epochs - 2,
                                    "converged": seed != 0, "train_seconds": 1.0}))
    return study
