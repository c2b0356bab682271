"""``claims.busy``: the units of a grid still in play (queued or running, not settled),
which a sequential grid waits for; units never asked for are not among them."""

import optuna
from optuna.trial import TrialState

from storage import Claimer, Unit, claims, open_storage, queue_missing
from storage.records import FINAL_FAILURE

# Seeds 0 and 1 are asked for; seed 2 could be, but never is.
UNITS = [Unit(f"cnn:width={w}", seed, {"width": w}) for seed in (0, 1, 2) for w in (8, 16)]


def test_busy_units_are_the_queued_and_running_ones_not_the_settled_or_unasked(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/c.db")
    study = optuna.create_study(storage=storage)
    queue_missing(study, UNITS[:4])
    claimer = Claimer(study, storage)
    done, failed, running = claimer.claim(), claimer.claim(), claimer.claim()
    study.tell(done, 0.9)
    failed.set_user_attr(FINAL_FAILURE, True)
    study.tell(failed, state=TrialState.FAIL)
    keys = [u.key for u in claims.busy(study.trials, UNITS)]
    assert keys == [(running.user_attrs["cell"], running.user_attrs["seed"]), UNITS[3].key]
    assert len(claims.open_units(study.trials, UNITS)) == 4  # the never-queued seed 2 counts there
    study.tell(running, 0.8)
    assert [u.key for u in claims.busy(study.trials, UNITS)] == [UNITS[3].key]
