"""Per-class test accuracy of a cell, from the per-class accuracies its trials stored."""

import math

from search.analysis import class_stats
from search.stats import confusion, mean_ci
from tests.search.analysis.synthetic import record

# Two classes; seed 0 gets 80 % and 60 % right, seed 1 gets 90 % and 70 %.
ACCURACY = {0: (0.8, 0.6), 1: (0.9, 0.7)}


def measured(seed: int, number: int, **fields) -> object:
    return record(number, "cnn", {"width": 8}, seed, 0.7, class_accuracy=ACCURACY[seed],
                  **fields)


def test_per_class_accuracy_is_an_interval_over_seeds_of_the_cell():
    stats = class_stats([measured(1, 1), measured(0, 0),
                         record(2, "cnn", {"width": 16}, 0, 0.9, class_accuracy=(0.1, 0.1))],
                        "cnn:width=8")
    assert stats is not None and stats.seeds == (0, 1)
    assert stats.accuracy[0] == mean_ci([0.8, 0.9]) and stats.accuracy[1] == mean_ci([0.6, 0.7])


def test_a_cell_without_stored_accuracies_has_no_class_statistics():
    assert class_stats([record(0, "cnn", {"width": 8}, 0, 0.7)], "cnn:width=8") is None
    one = class_stats([measured(0, 0), measured(1, 1, state="FAIL")], "cnn:width=8")
    assert one is not None and one.seeds == (0,) and math.isnan(one.accuracy[0].low)


def test_confusion_counts_true_by_predicted_class():
    assert confusion([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3) == ((1, 1, 0), (0, 1, 0), (1, 0, 1))
