"""Effects of the architecture knobs, with the seed as the unit of replication: the gain per
step of width or depth (and per doubling of parameters or FLOPs along either), the steps
between adjacent depths, and the width x depth interaction.

Made for every studied family (:data:`spaces.STUDIED`), along the axes it declares: which
spec field is its width and its depth, and whether a step doubles it or adds one block."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.analysis.cells import (
    SIZES,
    CellStats,
    cell_size,
    group_except,
    group_within,
    per_studied,
    swept_train_keys,
    varying_settings,
)
from search.stats import Interval, interaction, mean_ci
from spaces import Axis, Family


@dataclass(frozen=True)
class Effect:
    """Gain in test accuracy (a fraction: 0.021 is 2.1 pp) per step of one knob.

    ``at`` holds the fixed values of the other settings that vary in the study, arch or
    training (e.g. ``{"depth": 2, "learning_rate": 0.01}``); a pooled effect's ``at`` holds
    the training settings and the arch settings its family never pools over (``never_pooled``,
    e.g. the head), since it pools over the other arch groups (``pooled_over``) only.
    ``against`` None: the step is the knob's own (a doubling of width, an added block);
    ``params`` or ``flops``: the step is a doubling of that size *along the knob's axis*
    (the slope on log2 of the cell's parameters or forward FLOPs, the other knobs held).
    ``family`` is the studied family whose axis ``knob`` is.
    """

    knob: str
    step: str
    at: dict[str, Any]
    levels: tuple[int, ...]
    estimate: Interval
    per_seed: dict[int, float]
    pooled: bool = False
    pooled_over: tuple[str, ...] = ()  # the arch settings a pooled effect spans
    against: str | None = None
    family: str = ""


def _slope(groups: Sequence[Sequence[tuple[float, float]]]) -> float:
    """Least-squares slope shared by the groups, each with its own intercept."""
    num = den = 0.0
    for points in groups:
        x, y = np.asarray(points, dtype=float).T
        num += float(((x - x.mean()) * (y - y.mean())).sum())
        den += float(((x - x.mean()) ** 2).sum())
    return num / den


def _seeds(cells: Iterable[CellStats]) -> list[int]:
    return sorted({s for c in cells for s in c.seeds})


def _seed_slopes(groups: Sequence[Sequence[CellStats]],
                 x: Callable[[CellStats], float]) -> dict[int, float]:
    """One slope per seed, over the cells that seed completed (a running grid has gaps)."""
    slopes = {}
    for seed in _seeds(c for cells in groups for c in cells):
        usable = []
        for cells in groups:
            points = [(x(c), c.by_seed[seed]) for c in cells if seed in c.by_seed]
            if len({p for p, _ in points}) >= 2:
                usable.append(points)
        if usable:
            slopes[seed] = _slope(usable)
    return slopes


def _pool_keys(shown: Sequence[str], train_keys: Sequence[str],
               family: Family) -> tuple[list[str], tuple[str, ...]]:
    """Settings a pooled effect is made within (training, and the arch settings the family
    never pools over), and the arch settings it pools over."""
    within = [*train_keys, *(k for k in shown
                             if k in family.never_pooled and k not in train_keys)]
    return within, tuple(k for k in shown if k not in within)


def knob_effects(cells: Sequence[CellStats], family: Family, axis: Axis,
                 against: str | None = None) -> list[Effect]:
    """Per-seed least-squares slope of test accuracy on the ``axis`` of ``family`` (log2 of
    the knob for a doubling axis), t-interval over seeds.

    Cells are grouped by everything else in their arch and their training settings, so a
    slope never mixes cells that differ in another setting. For each group and seed the
    slope runs through every level the seed completed (all widths, not only adjacent pairs,
    so the middle cells count); it is the average gain per step over the range studied, not
    a claim that the gain is constant. The pooled effects (last, one per setting of any
    swept training knob and of any arch setting the family never pools, e.g. per head) are,
    per seed, one common slope with a separate intercept per arch group, then the same
    t-interval over seeds. With ``against`` (``params`` or ``flops``) the slope is on log2
    of that size instead, still moving along ``knob`` only: the gain per doubling of
    parameters (or FLOPs) spent on this knob.
    """
    knob = axis.knob
    step = axis.step if against is None else f"doubling of {against}"
    mine = [c for c in cells if c.family == family.name and knob in c.arch
            and (against is None or cell_size(c, against) > 0)]
    skip = {knob, *family.derived}
    shown, train_keys = varying_settings(mine, skip), swept_train_keys(mine)
    kept = [g for g in group_except(mine, skip) if len({c.arch[knob] for c in g}) >= 2]

    def x(c: CellStats) -> float:
        return axis.scale(c.arch[knob]) if against is None else math.log2(cell_size(c, against))

    def effect(groups: Sequence[Sequence[CellStats]], at: dict[str, Any],
               pooled: bool = False, over: tuple[str, ...] = ()) -> Effect:
        slopes = _seed_slopes(groups, x)
        return Effect(knob, step, at, tuple(sorted({c.arch[knob] for g in groups for c in g})),
                      mean_ci(list(slopes.values())), slopes, pooled, over, against,
                      family.name)

    effects = [effect([g], {k: g[0].settings.get(k) for k in shown}) for g in kept]
    within, over = _pool_keys(shown, train_keys, family)
    for alike in group_within([g[0] for g in kept], within):
        groups = [g for g in kept if any(g[0] is c for c in alike)]
        effects.append(effect(groups, {k: alike[0].settings.get(k) for k in within},
                              pooled=True, over=over))
    return effects


def width_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per step of each studied family's width (per doubling: slope on log2 width) at
    each fixed depth, then pooled."""
    return per_studied(cells, lambda family, mine: knob_effects(mine, family, family.width))


def depth_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per step of each studied family's depth (an added block) at each fixed width,
    then pooled."""
    return per_studied(cells, lambda family, mine: knob_effects(mine, family, family.depth))


def size_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Width and depth effects in common units: the gain per doubling of parameters, then of
    forward FLOPs, spent along the width axis (depth held) and along the depth axis (width
    held), per group and pooled as :func:`knob_effects`. A doubling of width and an added
    block buy different amounts of size, so only these compare the two knobs."""
    return per_studied(cells, lambda family, mine: [
        e for axis in (family.width, family.depth) for against in SIZES
        for e in knob_effects(mine, family, axis, against)])


@dataclass(frozen=True)
class DepthStep:
    """Gain in test accuracy from ``depths[0]`` to ``depths[1]`` blocks, per seed the
    difference of the two cells (paired by seed), then a t-interval over seeds; pooled
    steps average, per seed, the differences over the widths (``pooled_over``) that seed
    completed at both depths. ``receptive_fields`` are the pixels one position of the last
    map sees at the two depths (None where they differ between the pooled cells)."""

    at: dict[str, Any]
    depths: tuple[int, int]
    receptive_fields: tuple[int | None, int | None]
    estimate: Interval
    per_seed: dict[int, float]
    pooled: bool = False
    pooled_over: tuple[str, ...] = ()
    family: str = ""


def _rf(cells: Iterable[CellStats]) -> int | None:
    found = {c.receptive_field for c in cells}
    return found.pop() if len(found) == 1 else None


def depth_steps(cells: Sequence[CellStats]) -> list[DepthStep]:
    """Each step between adjacent depths the grid holds (1->2, 2->3, ...) of every studied
    family, at each fixed setting of everything else (e.g. per width and head), then pooled
    over the other arch knobs within each training setting and each setting the family
    never pools (e.g. per head)."""
    return per_studied(cells, _depth_steps)


def _depth_steps(family: Family, cells: Sequence[CellStats]) -> list[DepthStep]:
    assert family.depth is not None  # a studied family declares both axes
    knob = family.depth.knob
    mine = [c for c in cells if knob in c.arch]
    skip = {knob, *family.derived}
    shown, train_keys = varying_settings(mine, skip), swept_train_keys(mine)
    groups = [g for g in group_except(mine, skip) if len({c.arch[knob] for c in g}) >= 2]
    out = []
    pairs: list[tuple[list[CellStats], tuple[int, int], dict[int, float]]] = []
    for g in groups:
        by_depth = {c.arch[knob]: c for c in g}
        levels = sorted(by_depth)
        for lo, hi in itertools.pairwise(levels):
            a, b = by_depth[lo], by_depth[hi]
            diffs = {s: b.by_seed[s] - a.by_seed[s] for s in a.seeds if s in b.by_seed}
            pairs.append((g, (lo, hi), diffs))
            out.append(DepthStep({k: g[0].settings.get(k) for k in shown}, (lo, hi),
                                 (a.receptive_field, b.receptive_field),
                                 mean_ci(list(diffs.values())), diffs, family=family.name))
    within, over = _pool_keys(shown, train_keys, family)
    for alike in group_within([g[0] for g in groups], within):
        mine_pairs = [p for p in pairs if any(p[0][0] is c for c in alike)]
        for step in sorted({d for _, d, _ in mine_pairs}):
            chosen = [(g, diffs) for g, d, diffs in mine_pairs if d == step]
            seeds = sorted({s for _, diffs in chosen for s in diffs})
            per_seed = {s: float(np.mean([diffs[s] for _, diffs in chosen if s in diffs]))
                        for s in seeds}
            ends = [[c for g, _ in chosen for c in g if c.arch[knob] == d] for d in step]
            out.append(DepthStep({k: alike[0].settings.get(k) for k in within}, step,
                                 (_rf(ends[0]), _rf(ends[1])),
                                 mean_ci(list(per_seed.values())), per_seed, True, over,
                                 family.name))
    return out


@dataclass(frozen=True)
class Interaction:
    """Width x depth interaction: the change in the gain per doubling of width for each
    added block (a fraction per doubling per block), per seed the coefficient of
    log2(width)*depth in ``acc ~ 1 + log2(width) + depth + log2(width)*depth``, then a
    t-interval over seeds. ``at`` holds the other settings (e.g. head, learning rate)."""

    at: dict[str, Any]
    widths: tuple[int, ...]
    depths: tuple[int, ...]
    estimate: Interval
    per_seed: dict[int, float]
    family: str = ""


def width_depth_interactions(cells: Sequence[CellStats]) -> list[Interaction]:
    """Per studied family, one interaction per setting of everything but its width and
    depth, where the cells span at least 2 widths and 2 depths (each on its axis' scale:
    log2 for a doubling axis)."""
    return per_studied(cells, _interactions)


def _interactions(family: Family, cells: Sequence[CellStats]) -> list[Interaction]:
    wide, deep = family.width, family.depth
    assert wide is not None and deep is not None  # a studied family declares both
    mine = [c for c in cells if {wide.knob, deep.knob} <= c.arch.keys()]
    skip = {wide.knob, deep.knob, *family.derived}
    shown = varying_settings(mine, skip)
    out = []
    for g in group_except(mine, skip):
        per_seed = {}
        for seed in _seeds(g):
            done = [c for c in g if seed in c.by_seed]
            coef = interaction([wide.scale(c.arch[wide.knob]) for c in done],
                               [deep.scale(c.arch[deep.knob]) for c in done],
                               [c.by_seed[seed] for c in done])
            if coef is not None:
                per_seed[seed] = coef
        if per_seed:
            out.append(Interaction({k: g[0].settings.get(k) for k in shown},
                                   tuple(sorted({c.arch[wide.knob] for c in g})),
                                   tuple(sorted({c.arch[deep.knob] for c in g})),
                                   mean_ci(list(per_seed.values())), per_seed, family.name))
    return out
