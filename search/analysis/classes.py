"""Per-class test accuracy of a cell over its seeds, from the accuracies each trial stored
(``storage.records.CLASS_ACCURACY``): no model is needed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from search.stats import Interval, mean_ci
from storage import TrialRecord


@dataclass(frozen=True)
class ClassStats:
    """A cell's test accuracy by class: ``accuracy[k]`` is the accuracy on class k with
    its interval over ``seeds``."""

    cell: str
    seeds: tuple[int, ...]
    accuracy: tuple[Interval, ...]


def class_stats(records: Iterable[TrialRecord], cell: str) -> ClassStats | None:
    """The per-class statistics of ``cell``'s completed trials that stored them (None when
    none did: trials stored before they were)."""
    measured = sorted((r for r in records if r.complete and r.cell == cell and r.class_accuracy),
                      key=lambda r: (r.seed if r.seed is not None else -1, r.number))
    if not measured:
        return None
    classes = len(measured[0].class_accuracy)
    return ClassStats(
        cell=cell, seeds=tuple(r.seed for r in measured if r.seed is not None),
        accuracy=tuple(mean_ci([r.class_accuracy[k] for r in measured
                                if len(r.class_accuracy) == classes])
                       for k in range(classes)))
