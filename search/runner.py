"""Worker loops: claim grid units until none is left, or sample until the budget is spent.

Trials are run by hand (not ``study.optimize``) because a grid worker must claim queued
units atomically and stop on an empty queue, and both loops must end a trial the same
way: COMPLETE, PRUNED, or FAIL with a stored reason, never stuck RUNNING.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from compat.optuna import trial_id
from search import interrupt
from search.config import ConfigError
from search.presets import StudySpec
from search.train import TrainingDiverged
from spaces import SpecError
from storage import claims, records
from storage.backends import heartbeat_seconds, is_journal
from storage.heartbeat import beating, fail_stale, touch
from storage.studies import mark_queued, wait_until_queued

Objective = Callable[[optuna.Trial], float]
Report = Callable[[FrozenTrial], None]


# Failures the same trial would meet again: FAIL for good, with the reason, and go on.
FINAL_ERRORS = (TrainingDiverged, SpecError, ConfigError)
# Numbers of the trials this process failed because it was interrupted (Ctrl-C, SIGTERM).
interrupted_trials: list[int] = []


def execute(study: optuna.Study, storage: optuna.storages.BaseStorage, trial: optuna.Trial,
            objective: Objective) -> FrozenTrial:
    """Run one trial under a heartbeat and end it in a finished state.

    If another worker already ended the trial (it judged this worker dead, e.g. after a
    database outage stopped the heartbeat), this worker's result is dropped: the unit was
    queued again, and a finished trial is never altered.
    """
    def tell(*args: Any, **kwargs: Any) -> None:
        with interrupt.shielded():  # a second Ctrl-C waits for the result to be stored
            study.tell(*args, skip_if_finished=True, **kwargs)

    with beating(storage, trial_id(trial)):
        try:
            value = objective(trial)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # ended by another worker
        except optuna.TrialPruned:
            tell(trial, state=TrialState.PRUNED)
        except FINAL_ERRORS as exc:
            _end_failed(study, trial, str(exc), final=True)
        except BaseException as exc:  # Ctrl-C or a bug: never leave the trial RUNNING
            stop = isinstance(exc, KeyboardInterrupt)
            if stop:
                interrupted_trials.append(trial.number)
            _end_failed(study, trial, "interrupted" if stop else repr(exc)[:500],
                        final=False)
            raise
        else:
            tell(trial, value)
    return storage.get_trial(trial_id(trial))


def _end_failed(study: optuna.Study, trial: optuna.Trial, reason: str, final: bool) -> None:
    with interrupt.shielded():  # the reason and the FAIL state are stored together
        try:
            trial.set_user_attr(records.FAIL_REASON, reason)
            if final:
                trial.set_user_attr(records.FINAL_FAILURE, True)  # the same seed fails again
        except optuna.exceptions.UpdateFinishedTrialError:
            return
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)


def run_grid(study: optuna.Study, storage: optuna.storages.BaseStorage, spec: StudySpec,
             objective: Objective, created: bool, report: Report,
             notice: Callable[[str], None] = print, drop_queue: bool = False,
             cost: Mapping[str, float] | None = None) -> int:
    """Claim and run units until every cell x seed is settled; return trials run.

    When nothing is left to claim but other workers' units are still RUNNING, the worker
    waits (saying so through ``notice``) instead of leaving: a unit whose worker died is
    failed by the heartbeat check after the grace period and run here. So a worker that
    returns without a timeout or a ``--trials`` cap leaves the grid complete, also when it
    was restarted while its own previous run's trial still looked alive.
    In a grid, ``--trials`` caps the units this worker runs (the grid fixes the total).
    Only the command's own units are run: units queued by a larger run (more seeds) stay
    waiting, or with ``drop_queue`` are failed with the reason "dropped from the queue".
    ``cost`` (per cell) orders the units this worker queues (``StudySpec.units``).
    """
    fail_stale(study, storage)
    if not created:
        wait_until_queued(study)
    units = spec.units(cost)
    claims.queue_missing(study, units, check=interrupt.check)
    mark_queued(study)  # also when a creator died before marking: later joiners need not wait
    extra = claims.extra_waiting(study, units)
    if extra and drop_queue:
        notice(f"dropped {claims.drop(storage, extra)} queued unit(s) beyond this command's grid")
    elif extra:
        notice(f"{len(extra)} queued unit(s) beyond this command's grid (e.g. more seeds) stay "
               "waiting; --drop-queue fails them")
    claimer = claims.Claimer(study, storage, units)
    start, done, said = time.monotonic(), 0, None
    while not _timed_out(spec, start) and (spec.trials is None or done < spec.trials):
        interrupt.check()
        with interrupt.shielded():
            trial = claimer.claim()
        if trial is None:
            fail_stale(study, storage)  # a dead worker's unit goes back into the queue
            if claims.queue_missing(study, units, check=interrupt.check):
                continue
            running = len(claims.open_units(study, units))
            if not running:
                break
            if running != said:
                notice(f"waiting for {running} unit(s) running on other workers")
                said = running
            interrupt.sleep(heartbeat_seconds(is_journal(storage)))
            continue
        with interrupt.shielded():
            touch(storage, trial_id(trial))
        report(execute(study, storage, trial, objective))
        done += 1
    return done


def run_search(study: optuna.Study, storage: optuna.storages.BaseStorage, spec: StudySpec,
               objective: Objective, report: Report) -> int:
    """Sample new trials until the study holds ``spec.trials`` or ``spec.timeout`` passes."""
    start, done = time.monotonic(), 0
    while not _timed_out(spec, start):
        interrupt.check()
        started = len(study.get_trials(deepcopy=False, states=(
            TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)))
        if spec.trials is not None and started >= spec.trials:
            break
        fail_stale(study, storage)
        trial = study.ask()
        touch(storage, trial_id(trial))
        report(execute(study, storage, trial, objective))
        done += 1
    return done


def _timed_out(spec: StudySpec, start: float) -> bool:
    return spec.timeout is not None and time.monotonic() - start >= spec.timeout
