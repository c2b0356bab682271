"""Exactly-once grid cells on top of Optuna's own trial queue.

Each (cell, seed) unit is enqueued as a WAITING trial; a worker claims one by switching it
to RUNNING through ``storage.set_trial_state_values``, which every Optuna storage makes
atomic (row lock on PostgreSQL; on SQLite the database lock, which storage.sqlite makes
every transaction take at BEGIN; the log order in a journal).
``study.ask()`` is not used because on an empty queue it creates a fresh trial, which a grid
worker must never do. Two workers repairing a queue at the same moment can enqueue a unit
twice; the later twin is then closed as PRUNED with ``duplicate_of`` when claimed, so a unit
still completes once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from compat.optuna import trial_id as id_of
from storage.records import (
    CELL,
    DROPPED,
    DUPLICATE_OF,
    FAIL_REASON,
    FINAL_FAILURE,
    SEED,
    write,
    write_by_id,
)

LIVE = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)


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
    return (trial.user_attrs.get(CELL), trial.user_attrs.get(SEED))


def queue_missing(study: optuna.Study, units: Iterable[Unit],
                  check: Callable[[], None] = lambda: None) -> int:
    """Enqueue every unit that has no waiting, running or complete trial; return how many.

    A unit whose trial failed for good (``final_failure``: the same seed would fail again)
    is settled too; one whose worker died or was interrupted is queued again. ``check`` runs
    before each enqueue (e.g. raising on Ctrl-C: queueing 10,000 units takes a while).
    """
    live = {_key(t) for t in study.get_trials(deepcopy=False)
            if t.state in LIVE or t.user_attrs.get(FINAL_FAILURE)}
    added = 0
    for unit in units:
        if unit.key in live:
            continue
        check()
        study.enqueue_trial(dict(unit.params), user_attrs={CELL: unit.cell, SEED: unit.seed})
        live.add(unit.key)
        added += 1
    return added


def extra_waiting(study: optuna.Study, units: Iterable[Unit]
                  ) -> list[optuna.trial.FrozenTrial]:
    """Waiting trials of units this command does not ask for (e.g. seeds of a larger run)."""
    wanted = {u.key for u in units}
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
            if _key(t) not in wanted]


def drop(storage: optuna.storages.BaseStorage, trials: Iterable[optuna.trial.FrozenTrial]
         ) -> int:
    """Fail waiting trials, with a reason; their units are queued again when asked for."""
    dropped = 0
    for t in trials:
        try:
            # Take it as a worker would (atomic WAITING -> RUNNING): a unit another
            # worker claimed meanwhile is left to it, never failed under its feet.
            if not storage.set_trial_state_values(id_of(t), TrialState.RUNNING):
                continue
            write_by_id(storage, id_of(t), {FAIL_REASON: DROPPED})
            dropped += storage.set_trial_state_values(id_of(t), TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # claimed and finished by a worker in the meantime
    return dropped


def _settled(trials: Iterable[optuna.trial.FrozenTrial]) -> set[tuple[Any, Any]]:
    return {_key(t) for t in trials
            if t.state == TrialState.COMPLETE or t.user_attrs.get(FINAL_FAILURE)}


def open_units(trials: Sequence[optuna.trial.FrozenTrial], units: Iterable[Unit]
               ) -> list[Unit]:
    """Units not settled in ``trials`` (a study's, read once): no COMPLETE trial and no
    final failure (queued, running, or never queued)."""
    settled = _settled(trials)
    return [u for u in units if u.key not in settled]


def busy(trials: Sequence[optuna.trial.FrozenTrial], units: Iterable[Unit]) -> list[Unit]:
    """Units not settled in ``trials`` that have a waiting or running trial: of units
    queued only once asked for (a sequential grid's), those in play, not those never asked
    for."""
    live = {_key(t) for t in trials if t.state in (TrialState.WAITING, TrialState.RUNNING)}
    return [u for u in units if u.key in live - _settled(trials)]


class Claimer:
    """One worker's view of the queue: claims waiting units, each exactly once.

    Listing the WAITING trials reads every unfinished trial, so listing before every claim
    made a grid of n units cost O(n^2) (benchmarks/overhead.py: 1000 units took minutes on
    SQLite). A Claimer lists once and claims down its list; it lists again only when the
    list runs out or when the study grew (trial number ``count`` exists: one indexed
    lookup), i.e. after another worker repaired the queue. Trials another worker took in
    the meantime are skipped by the atomic claim itself.
    """

    def __init__(self, study: optuna.Study, storage: optuna.storages.BaseStorage,
                 units: Iterable[Unit] | None = None) -> None:
        self.study = study
        self.storage = storage
        # Only these units are claimed: a queue left by a larger run stays waiting.
        self._wanted = None if units is None else {u.key for u in units}
        self._study_id = storage.get_study_id_from_name(study.study_name)
        self._count = 0
        self._waiting: deque[optuna.trial.FrozenTrial] = deque()
        self._by_unit: dict[tuple[Any, Any], list[int]] = {}

    def _grew(self) -> bool:
        try:
            self.storage.get_trial_id_from_study_id_trial_number(self._study_id, self._count)
        except KeyError:
            return False
        return True

    def _list(self) -> None:
        trials = self.study.get_trials(deepcopy=False)
        self._count = len(trials)  # trial numbers are 0 .. n-1
        self._waiting = deque(t for t in trials if t.state == TrialState.WAITING
                              and (self._wanted is None or _key(t) in self._wanted))
        self._by_unit = {}
        for t in trials:
            if t.state in LIVE:
                self._by_unit.setdefault(_key(t), []).append(id_of(t))

    def _earlier_twin(self, mine: optuna.trial.FrozenTrial) -> int | None:
        """The number of a trial that already owns this unit, if any (read fresh)."""
        for trial_id in self._by_unit.get(_key(mine), ()):
            if trial_id == id_of(mine):
                continue
            other = self.storage.get_trial(trial_id)
            if other.state == TrialState.COMPLETE or (other.state in LIVE
                                                      and other.number < mine.number):
                return other.number
        return None

    def claim(self) -> optuna.Trial | None:
        """Atomically take the next waiting unit, or return None when the queue is empty."""
        if self._grew():
            self._list()
        for listed_again in (False, True):
            if listed_again:
                self._list()
            while self._waiting:
                waiting = self._waiting.popleft()
                try:
                    if not self.storage.set_trial_state_values(id_of(waiting),
                                                               TrialState.RUNNING):
                        continue  # another worker took it first
                except UpdateFinishedTrialError:
                    continue  # ... and has already finished it
                trial = optuna.Trial(self.study, id_of(waiting))
                twin = self._earlier_twin(waiting)
                if twin is not None:
                    write(trial, {DUPLICATE_OF: twin})
                    self.study.tell(trial, state=TrialState.PRUNED)
                    continue
                return trial
        return None
