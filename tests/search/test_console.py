import dataclasses
import math

import optuna
from optuna.trial import TrialState

from search.analysis import cell_stats
from search.console import cell_table, trial_line, wrap_headline
from spaces.space import cell_key
from storage import TrialRecord


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


def converged_grid() -> list[TrialRecord]:
    """Two heads x 5 widths x 2 depths, 2 seeds; the widest gap cell's seed 1 is still
    rising when it hits the epoch limit."""
    out = []
    train = {"stop": "converged", "epochs": 4, "patience": 2, "min_delta": 0.001}
    for head in ("gap", "flatten"):
        for w in (8, 16, 32, 64, 128):
            for d in (1, 2):
                for seed in (0, 1):
                    rising = head == "gap" and w == 128 and seed == 1
                    acc = 0.8 + 0.01 * math.log2(w) + seed / 1000
                    values = {"head": head, "width": w, "depth": d}
                    out.append(TrialRecord(
                        number=len(out), state="COMPLETE", family="cnn",
                        cell=cell_key("cnn", values), seed=seed, arch={"family": "cnn", **values},
                        param_count=1000 * w * d, flops=9000 * w * d, val_accuracy=acc,
                        test_accuracy=acc, epochs=4 if rising else 3, train_seconds=2.0,
                        val_curve=(0.7, 0.75, 0.78, 0.8) if rising else (0.7, acc, acc - 0.01),
                        train=train, converged=not rising, train_accuracy=acc + 0.031))
    return out


def test_cell_table_shows_a_matrix_per_head_convergence_and_the_gap_in_100_columns():
    table = cell_table(cell_stats(converged_grid()))
    lines = table.splitlines()
    assert max(map(len, lines)) <= 100
    assert "head=gap:" in lines and "head=flatten:" in lines
    header = lines[lines.index("head=gap:") + 1].split()
    assert header[:3] == ["depth", "\\", "width"] and header[3:] == ["8", "16", "32", "64", "128"]
    row = next(line for line in lines if line.startswith("cnn:head=gap,width=128,depth=1"))
    assert row.split()[-4:] == ["+3.1", "1/2↑", "3.5", "2.0"]  # gap, conv, epochs, s/trial
    row = next(line for line in lines if line.startswith("cnn:head=gap,width=8,depth=1"))
    assert row.split()[-3:-1] == ["2/2", "3"]


def test_cell_table_without_convergence_records_says_so():
    old = [dataclasses.replace(r, converged=None, train_accuracy=None)
           for r in converged_grid()[:2]]
    row = cell_table(cell_stats(old)).splitlines()[-1]
    assert row.split()[-4:] == ["—", "?", "3", "2.0"]


def test_wrapped_headline_fits_100_columns_and_keeps_every_word():
    lines = ["budget: " + "50,000 training images, trained to convergence " * 5, "short line"]
    text = wrap_headline(lines)
    assert max(map(len, text.splitlines())) <= 100
    assert text.split() == " ".join(lines).split()
    assert text.splitlines()[1].startswith("    ") and text.endswith("\nshort line")
