"""Per-class test accuracy of a cell over its seeds, from the confusion counts each trial
stored (``storage.records.CONFUSION``): no model is needed."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from search.stats import Interval, mean_ci
from storage import TrialRecord


@dataclass(frozen=True)
class ClassStats:
    """A cell's test predictions by class: ``accuracy[k]`` is the accuracy on class k with
    its interval over the seeds; ``confusion`` the counts summed over the seeds (rows the
    true class, columns the predicted one)."""

    cell: str
    seeds: tuple[int, ...]
    accuracy: tuple[Interval, ...]
    confusion: tuple[tuple[int, ...], ...]

    @property
    def total(self) -> int:
        """Test predictions counted: test images x seeds."""
        return int(np.sum(self.confusion))

    def most_confused(self) -> tuple[int, int, int]:
        """(true class, predicted class, count) of the most frequent mistake."""
        counts = np.array(self.confusion)
        np.fill_diagonal(counts, -1)
        true, predicted = np.unravel_index(int(np.argmax(counts)), counts.shape)
        return int(true), int(predicted), int(counts[true, predicted])


def class_stats(records: Iterable[TrialRecord], cell: str) -> ClassStats | None:
    """The per-class statistics of ``cell``'s completed trials that stored their counts
    (None when none did: trials stored before the counts were, or fused ones)."""
    counted = sorted((r for r in records if r.complete and r.cell == cell and r.confusion),
                     key=lambda r: (r.seed if r.seed is not None else -1, r.number))
    if not counted:
        return None
    matrices = np.array([r.confusion for r in counted], dtype=np.int64)  # seeds x true x pred
    rows = matrices.sum(axis=2)
    correct = np.diagonal(matrices, axis1=1, axis2=2)
    per_seed = np.where(rows > 0, correct / np.maximum(rows, 1), math.nan)
    accuracy = tuple(mean_ci([float(a) for a in per_seed[:, k] if not math.isnan(a)])
                     for k in range(per_seed.shape[1]))
    summed = matrices.sum(axis=0)
    return ClassStats(cell=cell, seeds=tuple(r.seed for r in counted if r.seed is not None),
                      accuracy=accuracy,
                      confusion=tuple(tuple(int(n) for n in row) for row in summed))
