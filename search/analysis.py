"""Statistics over stored trial records: per-cell means with confidence intervals over seeds.

Reads only :class:`storage.TrialRecord` values, so it works on any machine that can open
the storage, and on a study that is still running (incomplete cells are reported as such).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from storage import TrialRecord

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """Mean of a sample with a two-sided t-interval (NaN bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Student-t interval of the mean: seeds are few, so the normal approximation is too narrow."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, 1)
    sem = float(stats.sem(x))
    if sem == 0:
        return Interval(mean, mean, mean, int(x.size))
    low, high = stats.t.interval(confidence, x.size - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), int(x.size))


@dataclass(frozen=True)
class CellStats:
    """A cell's results over its seeds."""

    family: str
    cell: str
    arch: dict[str, Any]
    seeds: tuple[int, ...]
    param_count: int
    flops: int
    test: Interval
    val: Interval
    test_per_seed: tuple[float, ...]
    train_seconds: float
    trials: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.seeds)


def cell_stats(records: Iterable[TrialRecord]) -> list[CellStats]:
    """Group complete trials by cell, in first-seen order."""
    groups: dict[str, list[TrialRecord]] = {}
    for r in records:
        if r.complete and r.cell is not None:
            groups.setdefault(r.cell, []).append(r)
    out = []
    for cell, rs in groups.items():
        rs = sorted(rs, key=lambda r: (r.seed if r.seed is not None else -1, r.number))
        first = rs[0]
        out.append(CellStats(
            family=first.family or "?",
            cell=cell,
            arch=first.arch or {},
            seeds=tuple(r.seed for r in rs),
            param_count=first.param_count or 0,
            flops=first.flops or 0,
            test=mean_ci([r.test_accuracy for r in rs]),
            val=mean_ci([r.val_accuracy for r in rs]),
            test_per_seed=tuple(r.test_accuracy for r in rs),
            train_seconds=float(np.mean([r.train_seconds or 0.0 for r in rs])),
            trials=tuple(r.number for r in rs),
        ))
    return out


def best_cell(cells: Sequence[CellStats]) -> CellStats:
    """The cell with the highest mean validation accuracy (the test set never selects)."""
    return max(cells, key=lambda c: (c.val.mean, -c.param_count))
