"""The Optuna search: the study's sampler proposes trials (its pruner may stop them) until
the budget is spent."""

from __future__ import annotations

import time

import optuna
from optuna.trial import TrialState

from compat.optuna import trial_id
from search import interrupt
from search.engines import Context, Objective, Report
from search.engines.execution import execute, timed_out
from search.presets import StudySpec
from storage.heartbeat import fail_stale, touch


def run(spec: StudySpec, storage: optuna.storages.BaseStorage, study: optuna.Study,
        context: Context) -> int:
    """The engine's entry (``search.engines``): :func:`run_search` with the context's parts."""
    return run_search(study, storage, spec, context.objective, context.report)


def run_search(study: optuna.Study, storage: optuna.storages.BaseStorage, spec: StudySpec,
               objective: Objective, report: Report) -> int:
    """Sample new trials until the study holds ``spec.trials`` or ``spec.timeout`` passes."""
    start, done = time.monotonic(), 0
    while not timed_out(spec, start):
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
