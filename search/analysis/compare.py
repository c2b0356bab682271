"""CNN against dense networks at matched size: pairs within a tolerance, paired t-tests
over shared seeds with Holm's correction, how fragile each conclusion is to the choice of
match, and the crossovers the grid brackets.

"CNN" is any cell of a studied family and "dense" any cell of a baseline family, as the
families declare their roles (:data:`spaces.STUDIED`, :data:`spaces.BASELINE`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from search.analysis.cells import (
    SIZES,
    CellStats,
    cell_size,
    families,
    role,
    settings_key,
    varying_settings,
)
from search.stats import CONFIDENCE, Interval, holm, paired_t
from spaces import BASELINE, STUDIED

SIGNIFICANCE = 1 - CONFIDENCE
# A CNN and a dense cell are a pair only within this factor of each other's size.
MATCH_TOLERANCE = 2.0


@dataclass(frozen=True)
class Comparison:
    """CNN minus dense test accuracy at matched size, paired by seed (ttest_rel).

    ``matched_on`` is ``params`` or ``flops``; ``p_holm`` is Holm-adjusted over every
    comparison of the analysis. ``runner_up`` is the next-closest CNN: had it been the
    match, ``runner_up_p_holm`` is its adjusted p-value (in the same family of tests), and
    ``fragile`` says the conclusion (direction, or significance at 5 %) would change.
    """

    dense: str
    cnn: str
    matched_on: str
    dense_size: int
    cnn_size: int
    seeds: tuple[int, ...]
    difference: Interval
    t: float
    p_value: float
    p_holm: float = math.nan
    runner_up: str | None = None
    runner_up_size: int = 0
    runner_up_difference: Interval | None = None
    runner_up_p: float = math.nan
    runner_up_p_holm: float = math.nan
    fragile: bool = False


def _paired(cnn: CellStats, dense: CellStats) -> tuple[tuple[int, ...], Interval, float, float]:
    seeds = tuple(sorted(set(cnn.seeds) & set(dense.seeds)))
    diff, t, p = paired_t([cnn.by_seed[s] for s in seeds], [dense.by_seed[s] for s in seeds])
    return seeds, diff, t, p


def _verdict(diff: Interval | None, p_holm: float) -> int:
    """+1 / -1: CNN significantly better / worse after Holm; 0: no significant difference."""
    if diff is None or not p_holm < SIGNIFICANCE:
        return 0
    return 1 if diff.mean > 0 else -1


def _matches(cells: Sequence[CellStats], dense: CellStats, against: str,
             tolerance: float) -> list[CellStats]:
    """CNNs trained alike within ``tolerance`` x of the dense cell's size, closest first (by
    ratio; ties to the smaller)."""
    size = cell_size(dense, against)
    return sorted((c for c in cells if role(c) == STUDIED and cell_size(c, against) > 0
                   and c.train == dense.train
                   and abs(math.log(cell_size(c, against) / size)) <= math.log(tolerance)),
                  key=lambda c: (abs(math.log(cell_size(c, against) / size)),
                                 cell_size(c, against), c.cell))


def unmatched_dense(cells: Sequence[CellStats],
                    tolerance: float = MATCH_TOLERANCE) -> list[tuple[str, str]]:
    """(dense cell, ``params`` or ``flops``) for every dense cell no CNN trained alike comes
    within ``tolerance`` x of in that size: no comparison is made for it."""
    return [(d.cell, against) for against in SIZES
            for d in cells if role(d) == BASELINE and cell_size(d, against) > 0
            and not _matches(cells, d, against, tolerance)]


def compare_cnn_dense(cells: Sequence[CellStats],
                      tolerance: float = MATCH_TOLERANCE) -> list[Comparison]:
    """For each dense cell and each of parameters and FLOPs, the CNN cell closest in that
    size (by ratio, not by difference, since sizes span decades; ties to the smaller) among
    CNNs trained with the same settings and within ``tolerance`` x of its size (none: the
    dense cell is unmatched, :func:`unmatched_dense`), compared on the seeds both completed
    with a paired t-test; then Holm over all of them, and the same for the next-closest CNN
    (also within the tolerance)."""
    out = []
    for against in SIZES:
        for d in (c for c in cells if role(c) == BASELINE and cell_size(c, against) > 0):
            ranked = _matches(cells, d, against, tolerance)
            if not ranked:
                continue
            first = ranked[0]
            out.append(Comparison(d.cell, first.cell, against, cell_size(d, against),
                                  cell_size(first, against), *_paired(first, d)))
            if len(ranked) > 1:
                _, diff, _, p = _paired(ranked[1], d)
                out[-1] = replace(out[-1], runner_up=ranked[1].cell,
                                  runner_up_size=cell_size(ranked[1], against),
                                  runner_up_difference=diff, runner_up_p=p)
    p = [c.p_value for c in out]
    adjusted = holm(p)
    result = []
    for i, (c, p_holm) in enumerate(zip(out, adjusted, strict=True)):
        runner = holm([*p[:i], c.runner_up_p, *p[i + 1:]])[i]  # the family with it swapped in
        result.append(replace(c, p_holm=p_holm, runner_up_p_holm=runner,
                              fragile=c.runner_up is not None
                              and _verdict(c.difference, p_holm)
                              != _verdict(c.runner_up_difference, runner)))
    return result


@dataclass(frozen=True)
class Crossover:
    """A size where the CNN-minus-dense difference changes sign, claimed only where the grid
    brackets it: between two dense cells of one setting (e.g. one ``layers``), adjacent in
    size among those whose matched CNN differs significantly (Holm-adjusted paired t, 5 %),
    the smaller with the CNN significantly worse (or better) and the larger significantly
    better (or worse). ``sizes`` are the two dense sizes: the crossover lies between them."""

    matched_on: str
    at: dict[str, Any]
    below: str
    above: str
    sizes: tuple[int, int]
    below_difference: Interval
    above_difference: Interval


def crossovers(cells: Sequence[CellStats],
               comparisons: Sequence[Comparison]) -> list[Crossover]:
    """Every bracketed crossover (:class:`Crossover`); none is extrapolated past the
    smallest or largest matched dense cell."""
    baselines = families(cells, BASELINE)
    dense = {c.cell: c for _, mine in baselines for c in mine}
    sized = {*(f.width.knob for f, _ in baselines if f.width),  # the size knob, not held
             *(k for f, _ in baselines for k in f.derived)}
    held = varying_settings(list(dense.values()), sized)
    out = []
    for on in SIZES:
        groups: dict[str, list[Comparison]] = {}
        for c in comparisons:
            if c.matched_on == on and c.dense in dense:
                at = {k: dense[c.dense].settings.get(k) for k in held}
                groups.setdefault(settings_key(at), []).append(c)
        for group in groups.values():
            at = {k: dense[group[0].dense].settings.get(k) for k in held}
            clear = sorted((c for c in group if _verdict(c.difference, c.p_holm)),
                           key=lambda c: c.dense_size)
            for lo, hi in itertools.pairwise(clear):
                if _verdict(lo.difference, lo.p_holm) != _verdict(hi.difference, hi.p_holm):
                    out.append(Crossover(on, at, lo.dense, hi.dense,
                                         (lo.dense_size, hi.dense_size), lo.difference,
                                         hi.difference))
    return out
