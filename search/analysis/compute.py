"""Training compute: each cell's validation curve against training FLOPs, the frontier of
the best (cell, epoch) at each budget, and the worker time a study spent against the best
validation accuracy it had reached."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from storage import TrialRecord
from storage.records import DROPPED

# Training cost per example: forward + backward is taken as 3 x forward FLOPs.
TRAIN_FLOPS_FACTOR = 3


@dataclass(frozen=True)
class ComputeCurve:
    """A cell's mean validation accuracy over its seeds after each epoch, against training
    compute ``3 x forward FLOPs x training images x epochs`` (per training image when the
    image count is unknown); epochs only as far as every seed trained."""

    family: str
    cell: str
    compute: tuple[float, ...]
    val: tuple[float, ...]
    seeds: int


@dataclass(frozen=True)
class FrontierPoint:
    """A point of the upper envelope: no cheaper (cell, epoch) reached this accuracy."""

    compute: float
    cell: str
    epoch: int
    val: float


def compute_curves(records: Iterable[TrialRecord], images: int | None) -> list[ComputeCurve]:
    """Per cell, from the stored per-epoch validation accuracies of its complete trials."""
    by_cell: dict[str, list[TrialRecord]] = {}
    for r in records:
        if r.complete and r.cell is not None and r.val_curve and r.flops:
            by_cell.setdefault(r.cell, []).append(r)
    curves = []
    for cell, rs in by_cell.items():
        epochs = min(len(r.val_curve) for r in rs)
        per_epoch = TRAIN_FLOPS_FACTOR * rs[0].flops * (images or 1)
        curves.append(ComputeCurve(rs[0].family or "?", cell,
                                   tuple(per_epoch * e for e in range(1, epochs + 1)),
                                   tuple(np.mean([r.val_curve[:epochs] for r in rs],
                                                 axis=0).tolist()), len(rs)))
    return curves


def compute_frontier(curves: Iterable[ComputeCurve]) -> list[FrontierPoint]:
    """The best (cell, epoch) at each compute budget: points sorted by compute, each kept
    when it beats every cheaper point."""
    points = sorted((FrontierPoint(x, c.cell, e, v) for c in curves
                     for e, (x, v) in enumerate(zip(c.compute, c.val, strict=True), start=1)),
                    key=lambda p: (p.compute, -p.val))
    front: list[FrontierPoint] = []
    for p in points:
        if not front or p.val > front[-1].val:
            front.append(p)
    return front


def best_at(frontier: Sequence[FrontierPoint], budget: float) -> FrontierPoint | None:
    """The most accurate (cell, epoch) costing at most ``budget``; None if none is that cheap."""
    return next((p for p in reversed(frontier) if p.compute <= budget), None)


@dataclass(frozen=True)
class SpentPoint:
    """The study once one more trial finished (in finishing order): the worker hours every
    finished trial took so far (:func:`worker_seconds`), and the best complete trial by
    validation accuracy so far (None before the first)."""

    hours: float
    trial: int
    state: str
    best_val: float | None
    best_trial: int | None


def worker_seconds(record: TrialRecord) -> float | None:
    """What a finished trial cost a worker: its training seconds when it completed (seeds
    trained side by side share theirs out, so they add up to the wall time), else its wall
    time from start to finish (a pruned or failed trial); None while it has not finished."""
    if record.complete and record.train_seconds is not None:
        return record.train_seconds
    return record.wall_seconds


def spent_curve(records: Iterable[TrialRecord]) -> list[SpentPoint]:
    """Best validation accuracy against the worker time spent, one point per finished trial
    in the order they finished: every trial that ran costs, only a complete one can be the
    best. Units dropped from a grid's queue and twins closed by its claim never ran."""
    finished = sorted((r for r in records
                       if r.finished_at is not None and worker_seconds(r) is not None
                       and r.fail_reason != DROPPED and r.duplicate_of is None),
                      key=lambda r: (r.finished_at, r.number))
    points, total, best = [], 0.0, None
    for r in finished:
        total += worker_seconds(r) or 0.0
        if r.complete and r.val_accuracy is not None and math.isfinite(r.val_accuracy) and (
                best is None or r.val_accuracy > best.val_accuracy):
            best = r
        points.append(SpentPoint(total / 3600, r.number, r.state,
                                 None if best is None else best.val_accuracy,
                                 None if best is None else best.number))
    return points
