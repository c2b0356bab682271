"""The Optuna grid: claim queued units (cell x seed) until none is left, each exactly once.

A sequential grid (a preset's ``[sequential]`` table) starts with every cell x the rule's
minimum seeds; whenever nothing is left to claim, a worker plans from the study's complete
trials (:func:`search.analysis.seed_plan`) and queues what the plan asks for. The plan is a
function of the stored trials alone, so concurrent workers ask for the same units and the
claims dedupe them, and a resumed run plans again from what is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import optuna
from optuna.trial import FrozenTrial

from compat.optuna import trial_id
from search import interrupt
from search.analysis import seed_plan
from search.engines import Context, Objective, Report
from search.engines.execution import execute, timed_out
from search.presets import StudySpec
from storage import claims
from storage.claims import Unit
from storage.heartbeat import fail_stale, touch
from storage.journal import is_journal
from storage.records import to_record
from storage.settings import heartbeat_seconds
from storage.studies import mark_queued, wait_until_queued

# A worker waiting on others' units reads the study (it writes nothing) this often, so it
# ends, or plans the next seeds, seconds after the last unit does rather than a journal's
# 60-s heartbeat later (two workers on a journal: the test took 79 s, sqlite's twin 37 s).
WAIT_POLL_SECONDS = 5


def run(spec: StudySpec, storage: optuna.storages.BaseStorage, study: optuna.Study,
        context: Context) -> int:
    """The engine's entry (``search.engines``): :func:`run_grid` with the context's parts."""
    return run_grid(study, storage, spec, context.objective, context.created, context.report,
                    notice=context.notice, drop_queue=context.drop_queue, cost=context.cost)


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
    A sequential grid returns once its plan asks for nothing and none of its units waits
    or runs: another worker's result may still open a comparison.
    """
    fail_stale(study, storage)
    if not created:
        wait_until_queued(study)
    units = spec.units(cost)
    claims.queue_missing(study, units, check=interrupt.check)
    mark_queued(study)  # also when a creator died before marking: later joiners need not wait
    grid = _reach(spec, units)
    extra = claims.extra_waiting(study, grid)
    if extra and drop_queue:
        notice(f"dropped {claims.drop(storage, extra)} queued unit(s) beyond this command's grid")
    elif extra:
        notice(f"{len(extra)} queued unit(s) beyond this command's grid (e.g. more seeds) stay "
               "waiting; --drop-queue fails them")
    claimer = claims.Claimer(study, storage, grid)
    start, done, said = time.monotonic(), 0, None
    while not timed_out(spec, start) and (spec.trials is None or done < spec.trials):
        interrupt.check()
        with interrupt.shielded():
            trial = claimer.claim()
        if trial is None:
            fail_stale(study, storage)  # a dead worker's unit goes back into the queue
            # One read decides (the plan, what is settled, what waits or runs): read apart,
            # a result landing in between could end this worker as "incomplete" while
            # the plan was about to ask for more seeds.
            trials = study.get_trials(deepcopy=False)
            wanted = asked(spec, trials, units)
            if claims.queue_missing(study, wanted, check=interrupt.check):
                continue
            running = len(claims.busy(trials, grid))
            if not running:
                if not claims.open_units(trials, wanted):
                    break  # all settled while nothing ran: no result can ask for more
                continue  # queued by another worker since that read: claim it
            if running != said:
                notice(f"waiting for {running} unit(s) running on other workers")
                said = running
            interrupt.sleep(min(WAIT_POLL_SECONDS, heartbeat_seconds(is_journal(storage))))
            continue
        with interrupt.shielded():
            touch(storage, trial_id(trial))
        report(execute(study, storage, trial, objective))
        done += 1
    return done


def _reach(spec: StudySpec, units: list[Unit]) -> list[Unit]:
    """Every unit this command may train: ``units`` (cells x seeds) or, for a sequential
    grid, every cell x seed up to the cap (which of them is up to the plan)."""
    rule = spec.rule()
    if rule is None:
        return units
    return [Unit(c.key, seed, c.varying) for seed in range(rule.cap) for c in spec.cells()]


def asked(spec: StudySpec, trials: Sequence[FrozenTrial], units: list[Unit] | None = None
          ) -> list[Unit]:
    """The units the grid has asked for: ``units`` (default ``spec.units()``: cells x
    seeds) and, for a sequential grid, the units its plan asked for before (complete now)
    and asks for now, from the complete trials (none failed for good) among ``trials``
    (a study's, read once)."""
    units = spec.units() if units is None else units
    rule = spec.rule()
    if rule is None:
        return units
    cells = {c.key: c.varying for c in spec.cells()}
    records = [to_record(t) for t in trials]
    keys = dict.fromkeys([*(u.key for u in units),
                          *((r.cell, r.seed) for r in records if r.complete),
                          *seed_plan(records, rule, cells).units])
    return [Unit(cell, seed, cells[cell]) for cell, seed in keys if cell in cells]
