"""How each run ended: epoch limits, schedule-limited runs, premature stops and a cell's
convergence diagnostic, from stored :class:`storage.TrialRecord` values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from storage import TrialRecord

# A run is schedule-limited when its best epoch lies in the last fifth of its epoch limit:
# best_epoch > SCHEDULE_TAIL x limit (with 30 epochs: best at epoch 25 or later).
SCHEDULE_TAIL = 0.8
# A premature stop (see premature_stops): stopped by patience before this share of its
# epoch limit, while a sibling seed ran at least PREMATURE_SIBLING_EPOCHS more epochs,
# and its test accuracy lies below the siblings' mean minus
# max(PREMATURE_MARGIN, PREMATURE_SDS x the siblings' standard deviation).
PREMATURE_BEFORE = 2 / 3
PREMATURE_SIBLING_EPOCHS = 5
PREMATURE_MARGIN = 0.005
PREMATURE_SDS = 2.0
PREMATURE_RULE = (
    "a run is a premature stop when it was stopped by early-stopping patience "
    "(converged) before 2/3 of its epoch limit, at least one sibling seed of its cell ran "
    ">= 5 epochs longer, and its test accuracy is below the siblings' mean minus "
    "max(0.5 pp, 2 x the siblings' standard deviation (ddof 1; 0 with one sibling)); "
    "flagged runs are kept in every estimate, which the sensitivity block repeats without "
    "them")
SCHEDULE_RULE = ("a run is schedule-limited when its best epoch (1-based) exceeds 0.8 x "
                 "its epoch limit, i.e. lies in the last fifth of the schedule")


def epoch_limit(record: TrialRecord) -> int | None:
    """The most epochs a run could train (``epochs`` of its training settings)."""
    limit = (record.train or {}).get("epochs")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None


def ran_full(record: TrialRecord) -> bool | None:
    """Whether the run trained every epoch its limit allowed (None when unknown)."""
    limit = epoch_limit(record)
    return None if limit is None or record.epochs is None else record.epochs >= limit


def schedule_limited(record: TrialRecord) -> bool | None:
    """Whether the run's best epoch lies in the last fifth of its schedule
    (``best_epoch > SCHEDULE_TAIL x limit``): more epochs, or a longer schedule, might have
    helped; None when the best epoch or the limit is unknown."""
    limit = epoch_limit(record)
    if limit is None or record.best_epoch is None:
        return None
    return record.best_epoch > SCHEDULE_TAIL * limit


@dataclass(frozen=True)
class PrematureStop:
    """A run stopped by patience early while its sibling seeds trained on and beat it
    (the rule: :data:`PREMATURE_RULE`)."""

    trial: int
    cell: str
    seed: int | None
    epochs: int
    limit: int
    test_accuracy: float
    sibling_mean: float
    sibling_std: float
    threshold: float  # sibling_mean - max(PREMATURE_MARGIN, PREMATURE_SDS x sibling_std)
    sibling_epochs: int  # the longest a sibling trained


def _premature(run: TrialRecord, siblings: Sequence[TrialRecord]) -> PrematureStop | None:
    limit = epoch_limit(run)
    if (not run.converged or limit is None or run.epochs is None
            or not run.epochs < PREMATURE_BEFORE * limit):
        return None
    longest = max((s.epochs for s in siblings if s.epochs is not None), default=None)
    if longest is None or longest < run.epochs + PREMATURE_SIBLING_EPOCHS:
        return None
    accs = np.asarray([s.test_accuracy for s in siblings], dtype=float)
    std = float(accs.std(ddof=1)) if accs.size >= 2 else 0.0
    mean = float(accs.mean())
    threshold = mean - max(PREMATURE_MARGIN, PREMATURE_SDS * std)
    if not run.test_accuracy < threshold:
        return None
    return PrematureStop(run.number, run.cell or "?", run.seed, run.epochs, limit,
                         run.test_accuracy, mean, std, threshold, longest)


def premature_stops(records: Iterable[TrialRecord]) -> list[PrematureStop]:
    """Every complete run that stopped prematurely, by :data:`PREMATURE_RULE`: stopped by
    patience (``converged``) before ``PREMATURE_BEFORE`` of its epoch limit, while a sibling
    seed of the same cell ran at least ``PREMATURE_SIBLING_EPOCHS`` epochs longer, and with
    a test accuracy below the siblings' mean minus ``max(PREMATURE_MARGIN, PREMATURE_SDS x
    their standard deviation)`` (ddof 1; 0 with a single sibling). Siblings are the cell's
    other complete seeds. Flagged runs are reported, never dropped silently."""
    by_cell: dict[str, list[TrialRecord]] = {}
    for r in records:
        if r.complete and r.cell is not None:
            by_cell.setdefault(r.cell, []).append(r)
    out = []
    for rs in by_cell.values():
        for run in rs:
            flag = _premature(run, [s for s in rs if s is not run])
            if flag is not None:
                out.append(flag)
    return sorted(out, key=lambda p: p.trial)


@dataclass(frozen=True)
class Convergence:
    """How a cell's seeds ended their training.

    ``converged`` counts seeds stopped by early-stopping patience (None when the trials
    predate the field). ``last_gain`` is, over the seeds that did not converge, the mean of
    the last epoch's validation accuracy minus the best earlier epoch's; ``still_improving``
    says it exceeds the study's ``min_delta``. ``ran_full`` counts seeds that trained every
    epoch of their limit, ``schedule_limited`` those whose best epoch lies in the last fifth
    of it (None when unknown), ``premature`` the premature stops (:func:`premature_stops`).
    """

    converged: int | None
    seeds: int
    median_epochs: float
    last_gain: float
    still_improving: bool
    ran_full: int | None = None
    schedule_limited: int | None = None
    premature: int = 0

    @property
    def fraction(self) -> float | None:
        return None if self.converged is None else self.converged / self.seeds


def _count(flags: Sequence[bool | None]) -> int | None:
    return None if not flags or any(f is None for f in flags) else sum(map(bool, flags))


def convergence(records: Sequence[TrialRecord]) -> Convergence:
    """The convergence diagnostic of one cell's complete trials."""
    flags = [r.converged for r in records]
    converged = None if any(f is None for f in flags) else sum(map(bool, flags))
    gains = [r.val_curve[-1] - max(r.val_curve[:-1]) for r in records
             if not r.converged and len(r.val_curve) >= 2]
    last_gain = float(np.mean(gains)) if gains else math.nan
    min_delta = float((records[0].train or {}).get("min_delta", 0.0))
    epochs = [r.epochs if r.epochs is not None else len(r.val_curve) for r in records]
    return Convergence(converged, len(records), float(np.median(epochs)), last_gain,
                       bool(gains) and last_gain > min_delta,
                       _count([ran_full(r) for r in records]),
                       _count([schedule_limited(r) for r in records]),
                       len(premature_stops(records)))
