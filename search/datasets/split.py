"""Seeded, stratified splits: the validation share of a training set, and subsets of it."""

from __future__ import annotations

import numpy as np


def held_out(n: int, denominator: int) -> int:
    """Examples of a class of ``n`` that go to validation: ``n / denominator`` rounded half
    up, at least one when the class has two or more (so training keeps one too)."""
    k = (2 * n + denominator) // (2 * denominator)
    return min(max(k, 1), n - 1) if n >= 2 else k


def train_count(counts: np.ndarray, denominator: int) -> int:
    """Training examples left after the validation split of classes of ``counts``."""
    return int(sum(int(n) - held_out(int(n), denominator) for n in counts))


def stratified_split(
    y: np.ndarray, denominator: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): per class, a random :func:`held_out` share goes to val.

    Indices are returned sorted (the original order).
    """
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = held_out(len(idx), denominator)
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def stratified_subset(
    y: np.ndarray, n: int, rng: np.random.Generator, min_per_class: int = 0
) -> np.ndarray:
    """Sorted indices of ``n`` examples, allocated to classes by largest remainder."""
    if n >= len(y):
        return np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * n / len(y)
    take = np.floor(quota).astype(np.int64)
    floor_ = np.minimum(counts, min_per_class)
    take = np.maximum(take, floor_)
    left = n - int(take.sum())
    if left > 0:
        order = np.argsort(-(quota - np.floor(quota)), kind="stable")
        for i in order:
            if left == 0:
                break
            if take[i] < counts[i]:
                take[i] += 1
                left -= 1
    chosen = [
        rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))
