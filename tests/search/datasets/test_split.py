"""The validation split: what a dataset declares it leaves to train on is what it leaves."""

from __future__ import annotations

import numpy as np
import pytest

from search.datasets.split import held_out, stratified_split, train_count

COUNTS = [1, 2, 3, 7, 12, 6000]


@pytest.mark.parametrize(("denominator", "held"), [(6, [0, 1, 1, 1, 2, 1000]),
                                                   (10, [0, 1, 1, 1, 1, 600])])
def test_train_count_is_what_the_split_leaves(denominator: int, held: list[int]) -> None:
    y = np.repeat(np.arange(len(COUNTS)), COUNTS)
    train, val = stratified_split(y, denominator, np.random.default_rng(0))
    # n / denominator rounded half up, at least one from a class of two or more
    assert [held_out(n, denominator) for n in COUNTS] == held
    assert np.bincount(y[val], minlength=len(COUNTS)).tolist() == held
    assert len(train) == train_count(np.array(COUNTS), denominator) == len(y) - sum(held)
