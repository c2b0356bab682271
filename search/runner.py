"""Worker loops: claim grid units until none is left, or sample until the budget is spent.

Trials are run by hand (not ``study.optimize``) because a grid worker must claim queued
units atomically and stop on an empty queue, and both loops must end a trial the same
way: COMPLETE, PRUNED, or FAIL with a stored reason, never stuck RUNNING.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.presets import StudySpec
from search.train import TrainingDiverged
from storage import claims
from storage.heartbeat import beating, fail_stale
from storage.studies import mark_queued, wait_until_queued

Objective = Callable[[optuna.Trial], float]
Report = Callable[[FrozenTrial], None]


def execute(study: optuna.Study, storage: optuna.storages.BaseStorage, trial: optuna.Trial,
            objective: Objective) -> FrozenTrial:
    """Run one trial under a heartbeat and end it in a finished state."""
    with beating(storage, trial._trial_id):
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except TrainingDiverged:
            trial.set_user_attr(claims.FINAL_FAILURE, True)  # deterministic: never retried
            study.tell(trial, state=TrialState.FAIL)
        except BaseException as exc:  # Ctrl-C or a bug: never leave the trial RUNNING
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else repr(exc)
            trial.set_user_attr("fail_reason", reason[:500])
            study.tell(trial, state=TrialState.FAIL)
            raise
        else:
            study.tell(trial, value)
    return storage.get_trial(trial._trial_id)


def run_grid(study: optuna.Study, storage: optuna.storages.BaseStorage, spec: StudySpec,
             objective: Objective, created: bool, report: Report) -> int:
    """Claim and run units until every cell x seed is done or taken; return trials run.

    In a grid, ``--trials`` caps the units this worker runs (the grid fixes the total).
    """
    fail_stale(study, storage)
    if not created:
        wait_until_queued(study)
    claims.queue_missing(study, spec.units())
    if created:
        mark_queued(study)
    start, done = time.monotonic(), 0
    while not _timed_out(spec, start) and (spec.trials is None or done < spec.trials):
        trial = claims.claim_next(study, storage)
        if trial is None:
            fail_stale(study, storage)  # a dead worker's unit goes back into the queue
            if claims.queue_missing(study, spec.units()) == 0:
                break
            continue
        report(execute(study, storage, trial, objective))
        done += 1
    return done


def run_search(study: optuna.Study, storage: optuna.storages.BaseStorage, spec: StudySpec,
               objective: Objective, report: Report) -> int:
    """Sample new trials until the study holds ``spec.trials`` or ``spec.timeout`` passes."""
    start, done = time.monotonic(), 0
    while not _timed_out(spec, start):
        started = len(study.get_trials(deepcopy=False, states=(
            TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)))
        if spec.trials is not None and started >= spec.trials:
            break
        fail_stale(study, storage)
        report(execute(study, storage, study.ask(), objective))
        done += 1
    return done


def _timed_out(spec: StudySpec, start: float) -> bool:
    return spec.timeout is not None and time.monotonic() - start >= spec.timeout
