"""Statistics over stored trial records: cells with confidence intervals, effects, fits,
comparisons, convergence and a training-compute frontier.

Reads only :class:`storage.TrialRecord` values, so it works on any machine that can open
the storage, and on a study that is still running (incomplete cells are reported as such).
The generic statistics live in :mod:`search.stats`; this module decides what is a unit.

The seed is the unit of replication for effects: a grid trains every cell with the same
seeds, so each seed yields one estimate of an effect (a slope, an interaction, a
CNN-minus-dense difference) and the interval is a Student-t interval over those per-seed
estimates. This pairs cells that share a seed's data order and initialisation stream, and
with few seeds it is honestly wide (2 seeds give 1 degree of freedom). For scaling laws
the cell is the unit: the law is fitted to cell means and its exponent's interval comes
from resampling whole cells (and seeds within them). Nothing is pooled over a swept
training setting (e.g. two learning rates): every estimate is made within one setting.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from search.stats import (
    CONFIDENCE,
    LOG_LOG,
    BootstrapCI,
    Interval,
    LackOfFit,
    PowerLaw,
    cluster_bootstrap,
    fit_power_law,
    holm,
    interaction,
    lack_of_fit,
    mean_ci,
    paired_t,
)
from storage import TrialRecord
from storage.records import DROPPED

CNN, DENSE = "cnn", "dense"
# Arch fields that follow from width/depth rather than being set beside them.
DERIVED_FIELDS = frozenset({"filters"})
# Per family: the size knob a scaling law runs along, and its depth knob.
SIZE_KNOBS = {CNN: ("width", "depth"), DENSE: ("units", "layers")}
# Training cost per example: forward + backward is taken as 3 x forward FLOPs.
TRAIN_FLOPS_FACTOR = 3
SIGNIFICANCE = 1 - CONFIDENCE
NO_DATA = Interval(math.nan, math.nan, math.nan, 0)


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Convergence:
    """How a cell's seeds ended their training.

    ``converged`` counts seeds stopped by early-stopping patience (None when the trials
    predate the field). ``last_gain`` is, over the seeds that did not converge, the mean of
    the last epoch's validation accuracy minus the best earlier epoch's; ``still_improving``
    says it exceeds the study's ``min_delta``, i.e. more epochs would likely have helped.
    """

    converged: int | None
    seeds: int
    median_epochs: float
    last_gain: float
    still_improving: bool

    @property
    def fraction(self) -> float | None:
        return None if self.converged is None else self.converged / self.seeds


def convergence(records: Sequence[TrialRecord]) -> Convergence:
    """The convergence diagnostic of one cell's complete trials."""
    flags = [r.converged for r in records]
    converged = None if any(f is None for f in flags) else sum(map(bool, flags))
    gains = [r.val_curve[-1] - max(r.val_curve[:-1]) for r in records
             if not r.converged and len(r.val_curve) >= 2]
    last_gain = float(np.mean(gains)) if gains else math.nan
    min_delta = float((records[0].train or {}).get("min_delta", 0.0))
    epochs = [r.epochs if r.epochs is not None else len(r.val_curve) for r in records]
    return Convergence(converged, len(records), float(np.median(epochs)), last_gain,
                       bool(gains) and last_gain > min_delta)


@dataclass(frozen=True)
class CellStats:
    """A cell's results over its seeds."""

    family: str
    cell: str
    arch: dict[str, Any]
    seeds: tuple[int, ...]
    param_count: int
    flops: int
    test: Interval
    val: Interval
    test_per_seed: tuple[float, ...]
    train_seconds: float
    trials: tuple[int, ...]
    train: dict[str, Any] | None = None  # training settings, shared by the cell's trials
    train_acc: Interval = NO_DATA  # training accuracy at the best epoch
    convergence: Convergence | None = None

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def by_seed(self) -> dict[int, float]:
        """Test accuracy keyed by seed, for pairing cells seed by seed."""
        return dict(zip(self.seeds, self.test_per_seed, strict=True))

    @property
    def gap(self) -> float:
        """Generalisation gap: mean train minus mean validation accuracy (NaN if unknown)."""
        return self.train_acc.mean - self.val.mean

    @property
    def settings(self) -> dict[str, Any]:
        """Arch and training values together (their names never collide), for grouping."""
        return {**self.arch, **(self.train or {})}


def cell_stats(records: Iterable[TrialRecord]) -> list[CellStats]:
    """Group complete trials by cell, in first-seen order."""
    groups: dict[str, list[TrialRecord]] = {}
    for r in records:
        if r.complete and r.cell is not None:
            groups.setdefault(r.cell, []).append(r)
    out = []
    for cell, rs in groups.items():
        rs = sorted(rs, key=lambda r: (r.seed if r.seed is not None else -1, r.number))
        first = rs[0]
        out.append(CellStats(
            family=first.family or "?",
            cell=cell,
            arch=first.arch or {},
            seeds=tuple(r.seed for r in rs),
            param_count=first.param_count or 0,
            flops=first.flops or 0,
            test=mean_ci([r.test_accuracy for r in rs]),
            val=mean_ci([r.val_accuracy for r in rs]),
            test_per_seed=tuple(r.test_accuracy for r in rs),
            train_seconds=float(np.mean([r.train_seconds or 0.0 for r in rs])),
            trials=tuple(r.number for r in rs),
            train=first.train,  # a cell's trials share their settings (KerasTuner rounds
            # of one architecture are separate cells: their epochs are in the key)
            train_acc=mean_ci([r.train_accuracy for r in rs if r.train_accuracy is not None]),
            convergence=convergence(rs),
        ))
    return out


def best_cell(cells: Sequence[CellStats]) -> CellStats:
    """The cell with the highest mean validation accuracy (the test set never selects)."""
    return max(cells, key=lambda c: (c.val.mean, -c.param_count))


def _key(values: Any) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def varying_settings(cells: Sequence[CellStats], skip: Iterable[str] = ()) -> list[str]:
    """Settings (arch or training) that differ between the cells, in first-seen order."""
    skipped = set(skip)
    keys = dict.fromkeys(k for c in cells for k in c.settings)
    return [k for k in keys if k not in skipped
            and len({_key(c.settings.get(k)) for c in cells}) > 1]


def _group_by(cells: Iterable[CellStats],
              setting: Callable[[CellStats], dict[str, Any]]) -> list[list[CellStats]]:
    """Cells with equal ``setting(cell)`` together, in first-seen order."""
    groups: dict[str, list[CellStats]] = {}
    for c in cells:
        groups.setdefault(_key(setting(c)), []).append(c)
    return list(groups.values())


def _group(cells: Sequence[CellStats], held: Sequence[str]) -> list[list[CellStats]]:
    """Cells grouped by their values of ``held``."""
    return _group_by(cells, lambda c: {k: c.settings.get(k) for k in held})


def group_except(cells: Sequence[CellStats], skip: set[str]) -> list[list[CellStats]]:
    """Cells grouped by every setting but ``skip``."""
    return _group_by(cells, lambda c: {k: v for k, v in c.settings.items() if k not in skip})


def _train_keys(cells: Sequence[CellStats]) -> list[str]:
    """Training settings swept across the cells: never pooled over."""
    return [k for k in varying_settings(cells) if all(k not in c.arch for c in cells)]


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Effect:
    """Gain in test accuracy (a fraction: 0.021 is 2.1 pp) per step of one knob.

    ``at`` holds the fixed values of the other settings that vary in the study, arch or
    training (e.g. ``{"depth": 2, "learning_rate": 0.01}``); a pooled effect's ``at`` holds
    only the training settings, since it pools over arch groups (``pooled_over``) but never
    over training.
    """

    knob: str
    step: str
    at: dict[str, Any]
    levels: tuple[int, ...]
    estimate: Interval
    per_seed: dict[int, float]
    pooled: bool = False
    pooled_over: tuple[str, ...] = ()  # the arch settings a pooled effect spans


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


def _seed_slopes(groups: Sequence[Sequence[CellStats]], knob: str,
                 scale: Callable[[float], float]) -> dict[int, float]:
    """One slope per seed, over the cells that seed completed (a running grid has gaps)."""
    slopes = {}
    for seed in _seeds(c for cells in groups for c in cells):
        usable = []
        for cells in groups:
            points = [(scale(c.arch[knob]), c.by_seed[seed]) for c in cells if seed in c.by_seed]
            if len({x for x, _ in points}) >= 2:
                usable.append(points)
        if usable:
            slopes[seed] = _slope(usable)
    return slopes


def knob_effects(cells: Sequence[CellStats], knob: str, step: str,
                 scale: Callable[[float], float], family: str = CNN) -> list[Effect]:
    """Per-seed least-squares slope of test accuracy on ``scale(knob)``, t-interval over seeds.

    Cells are grouped by everything else in their arch and their training settings, so a
    slope never mixes cells that differ in another setting. For each group and seed the
    slope runs through every level the seed completed (all widths, not only adjacent pairs,
    so the middle cells count); it is the average gain per step over the range studied, not
    a claim that the gain is constant. The pooled effects (last, one per setting of any
    swept training knob) are, per seed, one common slope with a separate intercept per arch
    group, then the same t-interval over seeds.
    """
    mine = [c for c in cells if c.family == family and knob in c.arch]
    skip = {knob, *DERIVED_FIELDS}
    shown, train_keys = varying_settings(mine, skip), _train_keys(mine)
    kept = [g for g in group_except(mine, skip) if len({c.arch[knob] for c in g}) >= 2]
    effects = [_effect(knob, step, scale, [g], {k: g[0].settings.get(k) for k in shown})
               for g in kept]
    over = tuple(k for k in shown if k not in train_keys)
    for trained_alike in _group([g[0] for g in kept], train_keys):
        at = {k: trained_alike[0].settings.get(k) for k in train_keys}
        groups = [g for g in kept if any(g[0] is c for c in trained_alike)]
        effects.append(replace(_effect(knob, step, scale, groups, at, pooled=True),
                               pooled_over=over))
    return effects


def _effect(knob: str, step: str, scale: Callable[[float], float],
            groups: Sequence[Sequence[CellStats]], at: dict[str, Any],
            pooled: bool = False) -> Effect:
    slopes = _seed_slopes(groups, knob, scale)
    return Effect(knob, step, at, tuple(sorted({c.arch[knob] for g in groups for c in g})),
                  mean_ci(list(slopes.values())), slopes, pooled)


def width_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per doubling of width (slope on log2 width) at each fixed depth, then pooled."""
    return knob_effects(cells, "width", "doubling", math.log2)


def depth_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per added conv-pool block at each fixed width, then pooled."""
    return knob_effects(cells, "depth", "block", float)


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


def width_depth_interactions(cells: Sequence[CellStats]) -> list[Interaction]:
    """One interaction per setting of everything but width and depth, where the cells span
    at least 2 widths and 2 depths."""
    mine = [c for c in cells if c.family == CNN and {"width", "depth"} <= c.arch.keys()]
    skip = {"width", "depth", *DERIVED_FIELDS}
    shown = varying_settings(mine, skip)
    out = []
    for g in group_except(mine, skip):
        per_seed = {}
        for seed in _seeds(g):
            done = [c for c in g if seed in c.by_seed]
            coef = interaction([math.log2(c.arch["width"]) for c in done],
                               [float(c.arch["depth"]) for c in done],
                               [c.by_seed[seed] for c in done])
            if coef is not None:
                per_seed[seed] = coef
        if per_seed:
            out.append(Interaction({k: g[0].settings.get(k) for k in shown},
                                   tuple(sorted({c.arch["width"] for c in g})),
                                   tuple(sorted({c.arch["depth"] for c in g})),
                                   mean_ci(list(per_seed.values())), per_seed))
    return out


# --------------------------------------------------------------------------- scaling law


@dataclass(frozen=True)
class ScalingFit:
    """Test error against size (parameters or forward FLOPs) fitted to cell means.

    ``by`` names the arch settings held fixed (empty: the whole family; e.g. ``("head",
    "depth")`` for a per-depth fit) and ``at`` their values together with any swept training
    setting. ``alpha_boot`` is the percentile interval of the exponent over resamples of
    whole cells and of seeds within them; ``law.alpha_ci`` is the fit's own t-interval on
    the cell means. ``law.c`` is the floor of this training budget and design, not an
    irreducible error. ``lack_of_fit`` tests the curve against seed-to-seed scatter.
    """

    family: str
    against: str
    by: tuple[str, ...]
    at: dict[str, Any]
    law: PowerLaw
    n_cells: int
    n_points: int
    x_range: tuple[float, float]
    alpha_boot: BootstrapCI
    lack_of_fit: LackOfFit | None


def _size(cell: CellStats, against: str) -> int:
    return cell.param_count if against == "params" else cell.flops


def fit_cells(cells: Sequence[CellStats], against: str, by: tuple[str, ...] = (),
              at: dict[str, Any] | None = None) -> ScalingFit | None:
    """Fit one group of cells; None when it has fewer sizes than a line needs."""
    usable = [c for c in cells if _size(c, against) > 0 and all(a < 1 for a in c.test_per_seed)]
    x = [float(_size(c, against)) for c in usable]
    errors = [[1 - a for a in c.test_per_seed] for c in usable]
    law = fit_power_law(x, [float(np.mean(e)) for e in errors])
    if law is None:
        return None

    def alpha(xs: np.ndarray, ys: np.ndarray) -> float | None:
        refit = fit_power_law(xs, ys, form=law.form)
        return None if refit is None else refit.alpha

    predicted, scatter = law.predict(np.asarray(x)), errors
    if law.form == LOG_LOG:  # the line was fitted to log error: test it there
        predicted, scatter = np.log(predicted), [np.log(e).tolist() for e in errors]
    return ScalingFit(usable[0].family, against, by, at or {}, law, len(usable),
                      sum(len(e) for e in errors), (min(x), max(x)),
                      cluster_bootstrap(x, errors, alpha),
                      lack_of_fit(predicted.tolist(), scatter, law.n_params))


def scaling_fits(cells: Sequence[CellStats]) -> list[ScalingFit]:
    """Per family and training setting, test error against parameters and FLOPs: over the
    whole family, then per setting of the other arch knobs (e.g. per head), then also per
    depth, as each of these levels exists in the grid."""
    fits = []
    for family in dict.fromkeys(c.family for c in cells):
        mine = [c for c in cells if c.family == family]
        size_knob, depth_knob = SIZE_KNOBS.get(family, (None, None))
        train_keys = _train_keys(mine)
        arch_keys = [k for k in varying_settings(mine, {size_knob, *DERIVED_FIELDS})
                     if k not in train_keys]
        others = tuple(k for k in arch_keys if k != depth_knob)
        levels = dict.fromkeys([(), others, others + tuple(k for k in arch_keys
                                                           if k == depth_knob)])
        for by in levels:
            for g in _group(mine, [*train_keys, *by]):
                at = {k: g[0].settings.get(k) for k in (*by, *train_keys)}
                for against in ("params", "flops"):
                    fit = fit_cells(g, against, by, at)
                    if fit is not None:
                        fits.append(fit)
    return fits


# --------------------------------------------------------------------------- CNN vs dense


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


def compare_cnn_dense(cells: Sequence[CellStats]) -> list[Comparison]:
    """For each dense cell and each of parameters and FLOPs, the CNN cell closest in that
    size (by ratio, not by difference, since sizes span decades; ties to the smaller) among
    CNNs trained with the same settings, compared on the seeds both completed with a paired
    t-test; then Holm over all of them, and the same for the next-closest CNN."""
    out = []
    for against in ("params", "flops"):
        for d in (c for c in cells if c.family == DENSE and _size(c, against) > 0):
            ranked = sorted((c for c in cells if c.family == CNN and _size(c, against) > 0
                             and c.train == d.train),
                            key=lambda c: (abs(math.log(_size(c, against) / _size(d, against))),
                                           _size(c, against), c.cell))
            if not ranked:
                continue
            first = ranked[0]
            out.append(Comparison(d.cell, first.cell, against, _size(d, against),
                                  _size(first, against), *_paired(first, d)))
            if len(ranked) > 1:
                _, diff, _, p = _paired(ranked[1], d)
                out[-1] = replace(out[-1], runner_up=ranked[1].cell,
                                  runner_up_size=_size(ranked[1], against),
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


# --------------------------------------------------------------------------- compute


@dataclass(frozen=True)
class ComputeCurve:
    """A cell's mean validation accuracy over its seeds after each epoch, against training
    compute ``3 x forward FLOPs x training images x epochs`` (per training image when the
    image count is unknown); epochs only as far as every seed trained."""

    family: str
    cell: str
    compute: tuple[float, ...]
    val: tuple[float, ...]
    seeds: int


@dataclass(frozen=True)
class FrontierPoint:
    """A point of the upper envelope: no cheaper (cell, epoch) reached this accuracy."""

    compute: float
    cell: str
    epoch: int
    val: float


def compute_curves(records: Iterable[TrialRecord], images: int | None) -> list[ComputeCurve]:
    """Per cell, from the stored per-epoch validation accuracies of its complete trials."""
    by_cell: dict[str, list[TrialRecord]] = {}
    for r in records:
        if r.complete and r.cell is not None and r.val_curve and r.flops:
            by_cell.setdefault(r.cell, []).append(r)
    curves = []
    for cell, rs in by_cell.items():
        epochs = min(len(r.val_curve) for r in rs)
        per_epoch = TRAIN_FLOPS_FACTOR * rs[0].flops * (images or 1)
        curves.append(ComputeCurve(rs[0].family or "?", cell,
                                   tuple(per_epoch * e for e in range(1, epochs + 1)),
                                   tuple(np.mean([r.val_curve[:epochs] for r in rs],
                                                 axis=0).tolist()), len(rs)))
    return curves


def compute_frontier(curves: Iterable[ComputeCurve]) -> list[FrontierPoint]:
    """The best (cell, epoch) at each compute budget: points sorted by compute, each kept
    when it beats every cheaper point."""
    points = sorted((FrontierPoint(x, c.cell, e, v) for c in curves
                     for e, (x, v) in enumerate(zip(c.compute, c.val, strict=True), start=1)),
                    key=lambda p: (p.compute, -p.val))
    front: list[FrontierPoint] = []
    for p in points:
        if not front or p.val > front[-1].val:
            front.append(p)
    return front


def best_at(frontier: Sequence[FrontierPoint], budget: float) -> FrontierPoint | None:
    """The most accurate (cell, epoch) costing at most ``budget``; None if none is that cheap."""
    return next((p for p in reversed(frontier) if p.compute <= budget), None)


# --------------------------------------------------------------------------- whole study


def incomplete_cells(records: Iterable[TrialRecord]) -> tuple[list[str], int]:
    """Cells with a (cell, seed) unit that is queued, running or failed, and the cell count.

    A unit is settled once it has a COMPLETE trial or was PRUNED by a pruner, so a search
    study's pruned trials do not count. A twin closed by the grid's claim (``duplicate_of``)
    settles nothing: its unit belongs to the trial it duplicates. A unit dropped from the
    queue (``run --drop-queue``) is no longer asked for, so it makes no cell incomplete.
    """
    units: dict[str, dict[Any, bool]] = {}
    for r in records:
        if r.cell is None or r.duplicate_of is not None or r.fail_reason == DROPPED:
            continue
        seeds = units.setdefault(r.cell, {})
        seeds[r.seed] = seeds.get(r.seed, False) or r.complete or r.state == "PRUNED"
    return [cell for cell, seeds in units.items() if not all(seeds.values())], len(units)


@dataclass(frozen=True)
class Analysis:
    """Everything the report shows, computed from stored records only.

    ``images`` is the number of training images (from the study identity; None when
    unknown, then compute is per training image).
    """

    cells: tuple[CellStats, ...]
    width: tuple[Effect, ...]
    depth: tuple[Effect, ...]
    fits: tuple[ScalingFit, ...]
    comparisons: tuple[Comparison, ...]
    incomplete: tuple[str, ...]
    n_cells: int
    interactions: tuple[Interaction, ...] = ()
    curves: tuple[ComputeCurve, ...] = ()
    frontier: tuple[FrontierPoint, ...] = ()
    images: int | None = None

    def pooled(self, knob: str) -> list[Effect]:
        """The pooled effects of ``width`` or ``depth``, one per training setting."""
        return [e for e in (self.width if knob == "width" else self.depth) if e.pooled]

    def fit(self, family: str, against: str) -> ScalingFit | None:
        """The first whole-family fit (one per training setting)."""
        return next((f for f in self.fits if f.family == family and f.against == against
                     and not f.by), None)

    def not_converged(self) -> list[CellStats]:
        """Cells where a seed was not stopped by patience (all of them for fixed epochs)."""
        return [c for c in self.cells if c.convergence and c.convergence.converged is not None
                and c.convergence.converged < c.convergence.seeds]

    def still_improving(self) -> list[CellStats]:
        return [c for c in self.cells if c.convergence and c.convergence.still_improving]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (NaN as null) for ``scaling.json``."""
        best = best_cell(self.cells).cell if self.cells else None
        data = {
            "cells": [asdict(c) | {"test_std": c.test.std, "generalisation_gap": c.gap}
                      for c in self.cells],
            "best_cell": best,
            "width_effects": [asdict(e) for e in self.width],
            "depth_effects": [asdict(e) for e in self.depth],
            "width_depth_interactions": [asdict(i) for i in self.interactions],
            "fits": [asdict(f) | {"alpha_ci95": f.law.alpha_ci} for f in self.fits],
            "cnn_vs_dense": [asdict(c) for c in self.comparisons],
            "compute_frontier": [asdict(p) for p in self.frontier],
            "training_images": self.images,
            "not_converged_cells": [c.cell for c in self.not_converged()],
            "still_improving_cells": [c.cell for c in self.still_improving()],
            "incomplete_cells": list(self.incomplete),
            "n_cells": self.n_cells,
            "confidence": CONFIDENCE,
            "units": "accuracy and error as fractions; effects per doubling of width or per "
                     "added block, interactions per doubling per block; compute in training "
                     "FLOPs (3 x forward FLOPs x images x epochs"
                     + (")" if self.images else ", per training image: images unknown)")
                     + "; a fit's floor c is the floor of this training budget and design, "
                     "not an irreducible error",
        }
        return _json_safe(data)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def analyze(records: Iterable[TrialRecord], images: int | None = None) -> Analysis:
    """Cells, effects, interactions, scaling fits, CNN-vs-dense pairs, the compute frontier
    and incomplete cells; ``images`` (training images per epoch) scales the compute."""
    records = list(records)
    cells = cell_stats(records)
    incomplete, n_cells = incomplete_cells(records)
    curves = compute_curves(records, images)
    return Analysis(tuple(cells), tuple(width_effects(cells)), tuple(depth_effects(cells)),
                    tuple(scaling_fits(cells)), tuple(compare_cnn_dense(cells)),
                    tuple(incomplete), n_cells, tuple(width_depth_interactions(cells)),
                    tuple(curves), tuple(compute_frontier(curves)), images)
