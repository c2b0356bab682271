"""Synthetic trial records whose answers are known by construction, shared by the
analysis tests."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from spaces.space import cell_key
from storage import TrialRecord

SEEDS = (0, 1, 2)
# Per-seed deviations from the planted slopes: they sum to zero, so the mean is exact and
# the interval over seeds is the t-interval of (planted + deviation).
SLOPE_NOISE = (-0.002, 0.0, 0.002)
# Seed-wide offsets (a lucky data order lifts every cell): pairing by seed must cancel them.
SEED_OFFSET = (-0.05, 0.03, 0.02)


def record(number: int, family: str, values: dict[str, int], seed: int, acc: float | None,
           *, params: int = 1000, state: str = "COMPLETE", curve: tuple[float, ...] = (),
           train: dict[str, Any] | None = None, val: float | None = None,
           **fields: Any) -> TrialRecord:
    """A trial whose cell key names ``values`` and any swept ``train`` settings."""
    return TrialRecord(
        number=number, state=state, family=family,
        cell=cell_key(family, {**values, **(train or {})}), seed=seed,
        arch={"family": family, **values, "kernels": [7, 5, 3]}, param_count=params,
        flops=2 * params, val_accuracy=acc if val is None else val,
        test_accuracy=acc if state == "COMPLETE" else None,
        epochs=len(curve) or 1, train_seconds=1.5, val_curve=curve, train=train, **fields)


def cnn_grid(acc: Callable[[int, int, int], float], widths=(8, 16, 32, 64),
             depths=(1, 2, 3)) -> list[TrialRecord]:
    out: list[TrialRecord] = []
    for w in widths:
        for d in depths:
            for s in SEEDS:
                out.append(record(len(out), "cnn", {"width": w, "depth": d}, s, acc(w, d, s),
                                  params=w * 1000 // d))
    return out


def t_interval(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values)
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return x.mean() - half, x.mean() + half


def planted(width_gain: Callable[[int], float], depth_gain: float):
    """Accuracy with a known gain per doubling (at each depth) and per block."""
    def acc(w: int, d: int, s: int) -> float:
        return (0.6 + SEED_OFFSET[s] + (width_gain(d) + SLOPE_NOISE[s]) * math.log2(w / 8)
                + (depth_gain + SLOPE_NOISE[s]) * (d - 1))
    return acc


def headed_grid(acc: Callable[[str, int, int, int], float],
                size: Callable[[int, int], tuple[int, int]], heads=("gap", "flatten"),
                widths=(8, 16, 32, 64), depths=(1, 2, 3, 4)) -> list[TrialRecord]:
    """Heads x widths x depths x seeds; ``size(w, d)`` gives (params, FLOPs)."""
    out: list[TrialRecord] = []
    for head in heads:
        for w in widths:
            for d in depths:
                params, flops = size(w, d)
                for s in SEEDS:
                    out.append(dataclasses.replace(
                        record(len(out), "cnn", {"head": head, "width": w, "depth": d}, s,
                               acc(head, w, d, s), params=params), flops=flops))
    return out


LIMIT = {"stop": "converged", "epochs": 30, "patience": 4, "min_delta": 0.001}


def run(number: int, seed: int, acc: float, epochs: int, *, converged: bool = True,
        cell: dict[str, int] | None = None, best: int | None = None) -> TrialRecord:
    return dataclasses.replace(
        record(number, "cnn", cell or {"width": 8, "depth": 1}, seed, acc, train=LIMIT,
               converged=converged, best_epoch=best if best is not None else epochs - 4),
        epochs=epochs)
