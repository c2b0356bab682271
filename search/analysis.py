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

import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from search.receptive import receptive_field
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
# Arch settings that change what the other knobs mean (with a flatten head an added block
# shrinks the head, with GAP it grows the net): effects are pooled within each of their
# values, never over them.
NEVER_POOLED = frozenset({"head"})
SIZES = ("params", "flops")
# A run is schedule-limited when its best epoch lies in the last fifth of its epoch limit:
# best_epoch > SCHEDULE_TAIL x limit (with 30 epochs: best at epoch 25 or later).
SCHEDULE_TAIL = 0.8
# A premature stop (see premature_stops): stopped by patience before this share of its
# epoch limit, while a sibling seed ran at least PREMATURE_SIBLING_EPOCHS more epochs,
# and its test accuracy lies below the siblings' mean minus
# max(PREMATURE_MARGIN, PREMATURE_SDS x the siblings' standard deviation).
PREMATURE_BEFORE = 2 / 3
PREMATURE_SIBLING_EPOCHS = 5
PREMATURE_MARGIN = 0.005
PREMATURE_SDS = 2.0
PREMATURE_RULE = (
    "a run is a premature stop when it was stopped by early-stopping patience "
    "(converged) before 2/3 of its epoch limit, at least one sibling seed of its cell ran "
    ">= 5 epochs longer, and its test accuracy is below the siblings' mean minus "
    "max(0.5 pp, 2 x the siblings' standard deviation (ddof 1; 0 with one sibling)); "
    "flagged runs are kept in every estimate, which the sensitivity block repeats without "
    "them")
SCHEDULE_RULE = ("a run is schedule-limited when its best epoch (1-based) exceeds 0.8 x "
                 "its epoch limit, i.e. lies in the last fifth of the schedule")


# --------------------------------------------------------------------------- cells


def epoch_limit(record: TrialRecord) -> int | None:
    """The most epochs a run could train (``epochs`` of its training settings)."""
    limit = (record.train or {}).get("epochs")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None


def ran_full(record: TrialRecord) -> bool | None:
    """Whether the run trained every epoch its limit allowed (None when unknown)."""
    limit = epoch_limit(record)
    return None if limit is None or record.epochs is None else record.epochs >= limit


def schedule_limited(record: TrialRecord) -> bool | None:
    """Whether the run's best epoch lies in the last fifth of its schedule
    (``best_epoch > SCHEDULE_TAIL x limit``): more epochs, or a longer schedule, might have
    helped; None when the best epoch or the limit is unknown."""
    limit = epoch_limit(record)
    if limit is None or record.best_epoch is None:
        return None
    return record.best_epoch > SCHEDULE_TAIL * limit


@dataclass(frozen=True)
class PrematureStop:
    """A run stopped by patience early while its sibling seeds trained on and beat it
    (the rule: :data:`PREMATURE_RULE`)."""

    trial: int
    cell: str
    seed: int | None
    epochs: int
    limit: int
    test_accuracy: float
    sibling_mean: float
    sibling_std: float
    threshold: float  # sibling_mean - max(PREMATURE_MARGIN, PREMATURE_SDS x sibling_std)
    sibling_epochs: int  # the longest a sibling trained


def _premature(run: TrialRecord, siblings: Sequence[TrialRecord]) -> PrematureStop | None:
    limit = epoch_limit(run)
    if (not run.converged or limit is None or run.epochs is None
            or not run.epochs < PREMATURE_BEFORE * limit):
        return None
    longest = max((s.epochs for s in siblings if s.epochs is not None), default=None)
    if longest is None or longest < run.epochs + PREMATURE_SIBLING_EPOCHS:
        return None
    accs = np.asarray([s.test_accuracy for s in siblings], dtype=float)
    std = float(accs.std(ddof=1)) if accs.size >= 2 else 0.0
    mean = float(accs.mean())
    threshold = mean - max(PREMATURE_MARGIN, PREMATURE_SDS * std)
    if not run.test_accuracy < threshold:
        return None
    return PrematureStop(run.number, run.cell or "?", run.seed, run.epochs, limit,
                         run.test_accuracy, mean, std, threshold, longest)


def premature_stops(records: Iterable[TrialRecord]) -> list[PrematureStop]:
    """Every complete run that stopped prematurely, by :data:`PREMATURE_RULE`: stopped by
    patience (``converged``) before ``PREMATURE_BEFORE`` of its epoch limit, while a sibling
    seed of the same cell ran at least ``PREMATURE_SIBLING_EPOCHS`` epochs longer, and with
    a test accuracy below the siblings' mean minus ``max(PREMATURE_MARGIN, PREMATURE_SDS x
    their standard deviation)`` (ddof 1; 0 with a single sibling). Siblings are the cell's
    other complete seeds. Flagged runs are reported, never dropped silently."""
    by_cell: dict[str, list[TrialRecord]] = {}
    for r in records:
        if r.complete and r.cell is not None:
            by_cell.setdefault(r.cell, []).append(r)
    out = []
    for rs in by_cell.values():
        for run in rs:
            flag = _premature(run, [s for s in rs if s is not run])
            if flag is not None:
                out.append(flag)
    return sorted(out, key=lambda p: p.trial)


@dataclass(frozen=True)
class Convergence:
    """How a cell's seeds ended their training.

    ``converged`` counts seeds stopped by early-stopping patience (None when the trials
    predate the field). ``last_gain`` is, over the seeds that did not converge, the mean of
    the last epoch's validation accuracy minus the best earlier epoch's; ``still_improving``
    says it exceeds the study's ``min_delta``. ``ran_full`` counts seeds that trained every
    epoch of their limit, ``schedule_limited`` those whose best epoch lies in the last fifth
    of it (None when unknown), ``premature`` the premature stops (:func:`premature_stops`).
    """

    converged: int | None
    seeds: int
    median_epochs: float
    last_gain: float
    still_improving: bool
    ran_full: int | None = None
    schedule_limited: int | None = None
    premature: int = 0

    @property
    def fraction(self) -> float | None:
        return None if self.converged is None else self.converged / self.seeds


def _count(flags: Sequence[bool | None]) -> int | None:
    return None if not flags or any(f is None for f in flags) else sum(map(bool, flags))


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
                       bool(gains) and last_gain > min_delta,
                       _count([ran_full(r) for r in records]),
                       _count([schedule_limited(r) for r in records]),
                       len(premature_stops(records)))


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
    # Pixels one position of the last map sees (search.receptive); None without convs.
    receptive_field: int | None = None

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
            receptive_field=receptive_field(first.arch),
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
    the training settings and the arch settings never pooled over (:data:`NEVER_POOLED`,
    e.g. the head), since it pools over the other arch groups (``pooled_over``) only.
    ``against`` None: the step is the knob's own (a doubling of width, an added block);
    ``params`` or ``flops``: the step is a doubling of that size *along the knob's axis*
    (the slope on log2 of the cell's parameters or forward FLOPs, the other knobs held).
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


def _pool_keys(shown: Sequence[str],
               train_keys: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    """Settings a pooled effect is made within (training, and arch never pooled over), and
    the arch settings it pools over."""
    within = [*train_keys, *(k for k in shown if k in NEVER_POOLED and k not in train_keys)]
    return within, tuple(k for k in shown if k not in within)


def knob_effects(cells: Sequence[CellStats], knob: str, step: str,
                 scale: Callable[[float], float], family: str = CNN,
                 against: str | None = None) -> list[Effect]:
    """Per-seed least-squares slope of test accuracy on ``scale(knob)``, t-interval over seeds.

    Cells are grouped by everything else in their arch and their training settings, so a
    slope never mixes cells that differ in another setting. For each group and seed the
    slope runs through every level the seed completed (all widths, not only adjacent pairs,
    so the middle cells count); it is the average gain per step over the range studied, not
    a claim that the gain is constant. The pooled effects (last, one per setting of any
    swept training knob and of any :data:`NEVER_POOLED` arch setting, e.g. per head) are,
    per seed, one common slope with a separate intercept per arch group, then the same
    t-interval over seeds. With ``against`` (``params`` or ``flops``) the slope is on log2
    of that size instead, still moving along ``knob`` only: the gain per doubling of
    parameters (or FLOPs) spent on this knob.
    """
    mine = [c for c in cells if c.family == family and knob in c.arch
            and (against is None or _size(c, against) > 0)]
    skip = {knob, *DERIVED_FIELDS}
    shown, train_keys = varying_settings(mine, skip), _train_keys(mine)
    kept = [g for g in group_except(mine, skip) if len({c.arch[knob] for c in g}) >= 2]

    def x(c: CellStats) -> float:
        return scale(c.arch[knob]) if against is None else math.log2(_size(c, against))

    def effect(groups: Sequence[Sequence[CellStats]], at: dict[str, Any],
               pooled: bool = False, over: tuple[str, ...] = ()) -> Effect:
        slopes = _seed_slopes(groups, x)
        return Effect(knob, step, at, tuple(sorted({c.arch[knob] for g in groups for c in g})),
                      mean_ci(list(slopes.values())), slopes, pooled, over, against)

    effects = [effect([g], {k: g[0].settings.get(k) for k in shown}) for g in kept]
    within, over = _pool_keys(shown, train_keys)
    for alike in _group([g[0] for g in kept], within):
        groups = [g for g in kept if any(g[0] is c for c in alike)]
        effects.append(effect(groups, {k: alike[0].settings.get(k) for k in within},
                              pooled=True, over=over))
    return effects


def width_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per doubling of width (slope on log2 width) at each fixed depth, then pooled."""
    return knob_effects(cells, "width", "doubling", math.log2)


def depth_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per added conv-pool block at each fixed width, then pooled."""
    return knob_effects(cells, "depth", "block", float)


def size_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Width and depth effects in common units: the gain per doubling of parameters, then of
    forward FLOPs, spent along the width axis (depth held) and along the depth axis (width
    held), per group and pooled as :func:`knob_effects`. A doubling of width and an added
    block buy different amounts of size, so only these compare the two knobs."""
    return [e for knob, scale in (("width", math.log2), ("depth", float)) for against in SIZES
            for e in knob_effects(cells, knob, f"doubling of {against}", scale,
                                  against=against)]


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


def _rf(cells: Iterable[CellStats]) -> int | None:
    found = {c.receptive_field for c in cells}
    return found.pop() if len(found) == 1 else None


def depth_steps(cells: Sequence[CellStats], knob: str = "depth",
                family: str = CNN) -> list[DepthStep]:
    """Each step between adjacent depths the grid holds (1->2, 2->3, ...), at each fixed
    setting of everything else (e.g. per width and head), then pooled over the other arch
    knobs within each training setting and :data:`NEVER_POOLED` setting (e.g. per head)."""
    mine = [c for c in cells if c.family == family and knob in c.arch]
    skip = {knob, *DERIVED_FIELDS}
    shown, train_keys = varying_settings(mine, skip), _train_keys(mine)
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
                                 mean_ci(list(diffs.values())), diffs))
    within, over = _pool_keys(shown, train_keys)
    for alike in _group([g[0] for g in groups], within):
        mine_pairs = [p for p in pairs if any(p[0][0] is c for c in alike)]
        for step in sorted({d for _, d, _ in mine_pairs}):
            chosen = [(g, diffs) for g, d, diffs in mine_pairs if d == step]
            seeds = sorted({s for _, diffs in chosen for s in diffs})
            per_seed = {s: float(np.mean([diffs[s] for _, diffs in chosen if s in diffs]))
                        for s in seeds}
            ends = [[c for g, _ in chosen for c in g if c.arch[knob] == d] for d in step]
            out.append(DepthStep({k: alike[0].settings.get(k) for k in within}, step,
                                 (_rf(ends[0]), _rf(ends[1])),
                                 mean_ci(list(per_seed.values())), per_seed, True, over))
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


# A CNN and a dense cell are a pair only within this factor of each other's size.
MATCH_TOLERANCE = 2.0


def _matches(cells: Sequence[CellStats], dense: CellStats, against: str,
             tolerance: float) -> list[CellStats]:
    """CNNs trained alike within ``tolerance`` x of the dense cell's size, closest first (by
    ratio; ties to the smaller)."""
    size = _size(dense, against)
    return sorted((c for c in cells if c.family == CNN and _size(c, against) > 0
                   and c.train == dense.train
                   and abs(math.log(_size(c, against) / size)) <= math.log(tolerance)),
                  key=lambda c: (abs(math.log(_size(c, against) / size)),
                                 _size(c, against), c.cell))


def unmatched_dense(cells: Sequence[CellStats],
                    tolerance: float = MATCH_TOLERANCE) -> list[tuple[str, str]]:
    """(dense cell, ``params`` or ``flops``) for every dense cell no CNN trained alike comes
    within ``tolerance`` x of in that size: no comparison is made for it."""
    return [(d.cell, against) for against in SIZES
            for d in cells if d.family == DENSE and _size(d, against) > 0
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
        for d in (c for c in cells if c.family == DENSE and _size(c, against) > 0):
            ranked = _matches(cells, d, against, tolerance)
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
    dense = {c.cell: c for c in cells if c.family == DENSE}
    held = varying_settings(list(dense.values()), {SIZE_KNOBS[DENSE][0], *DERIVED_FIELDS})
    out = []
    for on in SIZES:
        groups: dict[str, list[Comparison]] = {}
        for c in comparisons:
            if c.matched_on == on and c.dense in dense:
                at = {k: dense[c.dense].settings.get(k) for k in held}
                groups.setdefault(_key(at), []).append(c)
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


OWN_STEP = {"width": "doubling of width", "depth": "added block"}


@dataclass(frozen=True)
class Sensitivity:
    """One estimate with every run and again without the premature stops
    (:func:`premature_stops`): ``estimate`` names it (e.g. ``width per doubling of params``),
    ``at`` as the estimate's own; ``without`` is None where it cannot be made then."""

    estimate: str
    at: dict[str, Any]
    pooled: bool
    all_runs: Interval
    without: Interval | None


def _estimates(width: Iterable[Effect], depth: Iterable[Effect], per_size: Iterable[Effect],
               interactions: Iterable[Interaction], steps: Iterable[DepthStep],
               ) -> dict[str, tuple[str, dict[str, Any], bool, Interval]]:
    """Every effect, interaction and depth step by a name and its ``at``."""
    out = {}
    for e in (*width, *depth, *per_size):
        name = f"{e.knob} per " + (f"doubling of {e.against}" if e.against
                                   else OWN_STEP.get(e.knob, e.step))
        out[name + _key(e.at) + str(e.pooled)] = (name, e.at, e.pooled, e.estimate)
    for i in interactions:
        name = "width x depth interaction (per doubling of width per block)"
        out[name + _key(i.at)] = (name, i.at, True, i.estimate)
    for st in steps:
        name = f"depth step {st.depths[0]}->{st.depths[1]}"
        out[name + _key(st.at) + str(st.pooled)] = (name, st.at, st.pooled, st.estimate)
    return out


def sensitivity(full: dict[str, tuple[str, dict[str, Any], bool, Interval]],
                reduced: dict[str, tuple[str, dict[str, Any], bool, Interval]],
                ) -> list[Sensitivity]:
    return [Sensitivity(name, at, pooled, est,
                        reduced[key][3] if key in reduced else None)
            for key, (name, at, pooled, est) in full.items()]


@dataclass(frozen=True)
class Analysis:
    """Everything the report shows, computed from stored records only.

    ``images`` is the number of training images (from the study identity; None when
    unknown, then compute is per training image). ``per_size`` holds the width and depth
    effects per doubling of parameters and of FLOPs, ``steps`` the depth steps,
    ``premature`` the premature stops (kept in every estimate) and ``sensitivity`` every
    effect, step and interaction again without them; ``unmatched`` the dense cells with no
    CNN within ``match_tolerance`` x, ``crossovers`` the bracketed sign changes of CNN minus
    dense.
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
    per_size: tuple[Effect, ...] = ()  # width and depth per doubling of params / FLOPs
    steps: tuple[DepthStep, ...] = ()
    premature: tuple[PrematureStop, ...] = ()
    sensitivity: tuple[Sensitivity, ...] = ()  # every estimate without the premature stops
    unmatched: tuple[tuple[str, str], ...] = ()  # (dense cell, params/flops) with no pair
    match_tolerance: float = MATCH_TOLERANCE
    crossovers: tuple[Crossover, ...] = ()

    def pooled(self, knob: str, against: str | None = None) -> list[Effect]:
        """The pooled effects of ``width`` or ``depth``, one per training setting and head;
        with ``against``, per doubling of ``params`` or ``flops`` along that knob."""
        if against is not None:
            return [e for e in self.per_size if e.pooled and e.knob == knob
                    and e.against == against]
        return [e for e in (self.width if knob == "width" else self.depth) if e.pooled]

    def runs(self) -> dict[str, Any]:
        """Run counts over the cells: runs, runs that trained their whole epoch limit,
        schedule-limited runs (overall and per :data:`NEVER_POOLED` setting, e.g. per head),
        premature stops; None where a count is unknown for some cell."""
        conv = [c.convergence for c in self.cells if c.convergence]
        known = len(conv) == len(self.cells)

        def total(name: str, cells: Sequence[CellStats]) -> int | None:
            values = [getattr(c.convergence, name) if c.convergence else None for c in cells]
            return None if any(v is None for v in values) else sum(values)

        limits = sorted({lim for c in self.cells
                         if isinstance(lim := (c.train or {}).get("epochs"), int)})
        by: dict[str, dict[str, Any]] = {}
        for family in dict.fromkeys(c.family for c in self.cells):
            ours = [c for c in self.cells if c.family == family]
            split = sorted(k for k in NEVER_POOLED if any(k in c.arch for c in ours))
            for value in dict.fromkeys(_key({k: c.arch.get(k) for k in split}) for c in ours):
                mine = [c for c in ours
                        if _key({k: c.arch.get(k) for k in split}) == value]
                name = " ".join([family, *(f"{k} {mine[0].arch.get(k)}" for k in split)])
                by[name] = {"runs": sum(c.n for c in mine),
                            "schedule_limited": total("schedule_limited", mine)}
        return {"runs": sum(c.n for c in self.cells), "epoch_limits": limits,
                "ran_full": total("ran_full", self.cells) if known else None,
                "schedule_limited": total("schedule_limited", self.cells) if known else None,
                "premature": len(self.premature), "by": by}

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
            "effects_per_size_doubling": [asdict(e) for e in self.per_size],
            "depth_steps": [asdict(st) for st in self.steps],
            "width_depth_interactions": [asdict(i) for i in self.interactions],
            "fits": [asdict(f) | {"alpha_ci95": f.law.alpha_ci} for f in self.fits],
            "cnn_vs_dense": [asdict(c) for c in self.comparisons],
            "cnn_vs_dense_matching": {
                "tolerance": self.match_tolerance,
                "rule": f"a CNN and a dense cell are paired only within {self.match_tolerance:g}x "
                        "of each other's size (parameters or forward FLOPs); a dense cell "
                        "without such a CNN is unmatched and not compared",
                "unmatched": [{"dense": d, "matched_on": on} for d, on in self.unmatched],
                "distinct_cnn_cells": {on: sorted({c.cnn for c in self.comparisons
                                                   if c.matched_on == on}) for on in SIZES},
                "crossover_rule": "a crossover is claimed only between two dense cells of one "
                                  "setting, adjacent in size among those whose matched CNN "
                                  "differs significantly (Holm-adjusted paired t, 5 %), the "
                                  "CNN significantly worse at one and significantly better at "
                                  "the other: the grid brackets it on both sides; none is "
                                  "extrapolated",
                "crossovers": [asdict(x) for x in self.crossovers]},
            "compute_frontier": [asdict(p) for p in self.frontier],
            "training_images": self.images,
            "not_converged_cells": [c.cell for c in self.not_converged()],
            "still_improving_cells": [c.cell for c in self.still_improving()],
            "runs": self.runs(),
            "schedule_limited_rule": SCHEDULE_RULE,
            "premature_stops": {"rule": PREMATURE_RULE,
                                "runs": [asdict(p) for p in self.premature]},
            "sensitivity": {
                "what": "every effect, depth step and interaction with all runs and again "
                        f"without the {len(self.premature)} premature stop(s) "
                        "(premature_stops); without is null where it cannot be made",
                "estimates": [asdict(x) for x in self.sensitivity]},
            "incomplete_cells": list(self.incomplete),
            "n_cells": self.n_cells,
            "confidence": CONFIDENCE,
            "units": "accuracy and error as fractions; effects per doubling of width or per "
                     "added block, or (effects_per_size_doubling) per doubling of parameters "
                     "or forward FLOPs spent along the width axis (depth held) or the depth "
                     "axis (width held): the slope on log2 of the size; depth steps from one "
                     "depth to the next; receptive_field in input pixels of one position of "
                     "the last map (after the last pool, not clipped to the input); "
                     "interactions per doubling per block; compute in training "
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


def analyze(records: Iterable[TrialRecord], images: int | None = None,
            tolerance: float = MATCH_TOLERANCE) -> Analysis:
    """Cells, effects (per knob step and per doubling of parameters and FLOPs), depth steps,
    interactions, scaling fits, CNN-vs-dense pairs within ``tolerance`` x in size, the
    compute frontier, incomplete cells, premature stops and every estimate again without
    them; ``images`` (training images per epoch) scales the compute."""
    records = list(records)
    cells = cell_stats(records)
    incomplete, n_cells = incomplete_cells(records)
    curves = compute_curves(records, images)
    premature = premature_stops(records)

    def estimates(cells: Sequence[CellStats]) -> tuple[Any, ...]:
        return (width_effects(cells), depth_effects(cells), size_effects(cells),
                width_depth_interactions(cells), depth_steps(cells))

    width, depth, per_size, interactions, steps = estimates(cells)
    full = _estimates(width, depth, per_size, interactions, steps)
    reduced = full
    if premature:
        dropped = {p.trial for p in premature}
        reduced = _estimates(*estimates(cell_stats(r for r in records
                                                   if r.number not in dropped)))
    comparisons = compare_cnn_dense(cells, tolerance)
    return Analysis(tuple(cells), tuple(width), tuple(depth),
                    tuple(scaling_fits(cells)), tuple(comparisons),
                    tuple(incomplete), n_cells, tuple(interactions),
                    tuple(curves), tuple(compute_frontier(curves)), images, tuple(per_size),
                    tuple(steps), tuple(premature), tuple(sensitivity(full, reduced)),
                    tuple(unmatched_dense(cells, tolerance)), tolerance,
                    tuple(crossovers(cells, comparisons)))
