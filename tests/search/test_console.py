import optuna
from optuna.trial import TrialState

from search.console import trial_line


def pruned(attrs, steps=()):
    return optuna.trial.create_trial(
        state=TrialState.PRUNED, user_attrs={"cell": "cnn:width=8", "seed": 0, **attrs},
        intermediate_values={i: 0.5 for i in steps})


def test_a_pruned_trial_says_why():
    over = pruned({"param_count": 2_000_000,
                   "prune_reason": "not trained: 2,000,000 parameters exceed max_params"})
    assert trial_line(over).endswith("params 2.0M  not trained: 2,000,000 parameters exceed "
                                     "max_params")
    assert trial_line(pruned({}, steps=(0, 1))).endswith("pruned after 2 epoch(s)")
    assert trial_line(pruned({"duplicate_of": 4})).endswith("duplicate of trial 4")
