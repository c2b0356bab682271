"""One trial run to a finished state, shared by the Optuna engines (grid and search).

Trials are run by hand (not ``study.optimize``) because a grid worker must claim queued
units atomically and stop on an empty queue, and both loops must end a trial the same
way: COMPLETE, PRUNED, or FAIL with a stored reason, never stuck RUNNING.
"""

from __future__ import annotations

import time
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from compat.optuna import trial_id
from search import interrupt
from search.config import ConfigError
from search.engines import Objective
from search.presets import StudySpec
from search.train import TrainingDiverged
from spaces import SpecError
from storage import records
from storage.heartbeat import beating

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
            records.write(trial, {records.FAIL_REASON: reason,  # the same seed fails again:
                                  **({records.FINAL_FAILURE: True} if final else {})})
        except optuna.exceptions.UpdateFinishedTrialError:
            return
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)


def timed_out(spec: StudySpec, start: float) -> bool:
    """Whether ``spec.timeout`` seconds have passed since ``start`` (``time.monotonic``)."""
    return spec.timeout is not None and time.monotonic() - start >= spec.timeout
