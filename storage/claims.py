"""Exactly-once grid cells on top of Optuna's own trial queue.

Each (cell, seed) unit is enqueued as a WAITING trial; a worker claims one by switching it
to RUNNING through ``storage.set_trial_state_values``, which every Optuna storage makes
atomic (row lock on PostgreSQL; on SQLite the database lock, which storage.backends makes
every transaction take at BEGIN; the log order in a journal).
``study.ask()`` is not used because on an empty queue it creates a fresh trial, which a grid
worker must never do. Two workers repairing a queue at the same moment can enqueue a unit
twice; the later twin is then closed as PRUNED with ``duplicate_of`` when claimed, so a unit
still completes once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

LIVE = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)
FINAL_FAILURE = "final_failure"  # user attr: the unit failed for good (e.g. diverged), no retry


@dataclass(frozen=True)
class Unit:
    """One piece of grid work: a cell trained with one seed."""

    cell: str
    seed: int
    params: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, int]:
        return (self.cell, self.seed)


def _key(trial: optuna.trial.FrozenTrial) -> tuple[Any, Any]:
    return (trial.user_attrs.get("cell"), trial.user_attrs.get("seed"))


def queue_missing(study: optuna.Study, units: Iterable[Unit]) -> int:
    """Enqueue every unit that has no waiting, running or complete trial; return how many.

    A unit whose trial failed for good (``final_failure``: the same seed would fail again)
    is settled too; one whose worker died or was interrupted is queued again.
    """
    live = {_key(t) for t in study.get_trials(deepcopy=False)
            if t.state in LIVE or t.user_attrs.get(FINAL_FAILURE)}
    added = 0
    for unit in units:
        if unit.key in live:
            continue
        study.enqueue_trial(dict(unit.params), user_attrs={"cell": unit.cell, "seed": unit.seed})
        live.add(unit.key)
        added += 1
    return added


def _earlier_twin(study: optuna.Study, mine: optuna.trial.FrozenTrial) -> int | None:
    """The number of a trial that already owns this unit, if any."""
    for other in study.get_trials(deepcopy=False, states=LIVE):
        if other.number == mine.number or _key(other) != _key(mine):
            continue
        if other.state == TrialState.COMPLETE or other.number < mine.number:
            return other.number
    return None


def claim_next(study: optuna.Study, storage: optuna.storages.BaseStorage) -> optuna.Trial | None:
    """Atomically take the next waiting unit, or return None when the queue is empty."""
    for waiting in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        # FrozenTrial exposes only the private id, which the storage API requires.
        trial_id = waiting._trial_id
        if not storage.set_trial_state_values(trial_id, TrialState.RUNNING):
            continue  # another worker took it first
        trial = optuna.Trial(study, trial_id)
        twin = _earlier_twin(study, waiting)
        if twin is not None:
            trial.set_user_attr("duplicate_of", twin)
            study.tell(trial, state=TrialState.PRUNED)
            continue
        return trial
    return None
