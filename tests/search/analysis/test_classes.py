"""Per-class test accuracy and confusion counts of a cell, from the counts trials stored."""

import math

from search.analysis import class_stats
from search.stats import confusion, mean_ci
from tests.search.analysis.synthetic import record

# Two classes, 10 test images each; seed 0 gets 8 and 6 right, seed 1 gets 9 and 7.
COUNTS = {0: ((8, 2), (4, 6)), 1: ((9, 1), (3, 7))}


def counted(seed: int, number: int, **fields) -> object:
    return record(number, "cnn", {"width": 8}, seed, 0.7, confusion=COUNTS[seed], **fields)


def test_per_class_accuracy_is_an_interval_over_seeds_and_the_counts_are_summed():
    stats = class_stats([counted(1, 1), counted(0, 0),
                         record(2, "cnn", {"width": 16}, 0, 0.9, confusion=COUNTS[0])],
                        "cnn:width=8")
    assert stats is not None and stats.seeds == (0, 1)
    assert stats.accuracy[0] == mean_ci([0.8, 0.9]) and stats.accuracy[1] == mean_ci([0.6, 0.7])
    assert stats.confusion == ((17, 3), (7, 13)) and stats.total == 40
    assert stats.most_confused() == (1, 0, 7)  # class 1 taken for class 0, 7 times


def test_a_cell_without_stored_counts_has_no_class_statistics():
    assert class_stats([record(0, "cnn", {"width": 8}, 0, 0.7)], "cnn:width=8") is None
    one = class_stats([counted(0, 0), counted(1, 1, state="FAIL")], "cnn:width=8")
    assert one is not None and one.seeds == (0,) and math.isnan(one.accuracy[0].low)


def test_confusion_counts_true_by_predicted_class():
    assert confusion([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3) == ((1, 1, 0), (0, 1, 0), (1, 0, 1))
