"""Statistics over stored trial records: cells with confidence intervals, effects, fits.

Reads only :class:`storage.TrialRecord` values, so it works on any machine that can open
the storage, and on a study that is still running (incomplete cells are reported as such).

The seed is the unit of replication throughout: a grid trains every cell with the same
seeds, so each seed yields one estimate of an effect (a slope, a CNN-minus-dense
difference) and the interval is a Student-t interval over those per-seed estimates. This
pairs cells that share a seed's data order and initialisation stream, and with few seeds
it is honestly wide (2 seeds give 1 degree of freedom).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from storage import TrialRecord

CONFIDENCE = 0.95
CNN, DENSE = "cnn", "dense"
# Arch fields that follow from width/depth rather than being set beside them.
DERIVED_FIELDS = frozenset({"filters"})
MIN_SIZES_FOR_FLOOR = 4  # a floor and an exponent need more sizes than a straight line
MIN_SIZES_FOR_LINE = 3   # two sizes fit any line exactly and test nothing
POWER_WITH_FLOOR, LOG_LOG = "power_with_floor", "log_log"


@dataclass(frozen=True)
class Interval:
    """Mean of a sample with a two-sided t-interval (NaN bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int
    std: float = math.nan

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Student-t interval of the mean: seeds are few, so the normal approximation is too narrow."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, 1)
    std = float(x.std(ddof=1))
    sem = float(stats.sem(x))
    if sem == 0:
        return Interval(mean, mean, mean, int(x.size), std)
    low, high = stats.t.interval(confidence, x.size - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), int(x.size), std)


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

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def by_seed(self) -> dict[int, float]:
        """Test accuracy keyed by seed, for pairing cells seed by seed."""
        return dict(zip(self.seeds, self.test_per_seed, strict=True))


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
            # KerasTuner's Hyperband rounds of one architecture share a cell: the longest
            # round's settings are the ones a retrain should use.
            train=max(rs, key=lambda r: (r.train or {}).get("epochs", 0)).train,
        ))
    return out


def best_cell(cells: Sequence[CellStats]) -> CellStats:
    """The cell with the highest mean validation accuracy (the test set never selects)."""
    return max(cells, key=lambda c: (c.val.mean, -c.param_count))


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Effect:
    """Gain in test accuracy (a fraction: 0.021 is 2.1 pp) per step of one knob.

    ``at`` holds the fixed values of the other knobs that vary in the study (e.g.
    ``{"depth": 2}``; empty when nothing else varies) and is empty for the pooled effect.
    """

    knob: str
    step: str
    at: dict[str, Any]
    levels: tuple[int, ...]
    estimate: Interval
    per_seed: dict[int, float]
    pooled: bool = False


def _slope(groups: Sequence[Sequence[tuple[float, float]]]) -> float:
    """Least-squares slope shared by the groups, each with its own intercept."""
    num = den = 0.0
    for points in groups:
        x, y = np.asarray(points, dtype=float).T
        num += float(((x - x.mean()) * (y - y.mean())).sum())
        den += float(((x - x.mean()) ** 2).sum())
    return num / den


def _seed_slopes(groups: Sequence[Sequence[CellStats]], knob: str,
                 scale: Callable[[float], float]) -> dict[int, float]:
    """One slope per seed, over the cells that seed completed (a running grid has gaps)."""
    seeds = sorted({s for cells in groups for c in cells for s in c.seeds})
    slopes = {}
    for seed in seeds:
        usable = []
        for cells in groups:
            points = [(scale(c.arch[knob]), c.by_seed[seed]) for c in cells if seed in c.by_seed]
            if len({x for x, _ in points}) >= 2:
                usable.append(points)
        if usable:
            slopes[seed] = _slope(usable)
    return slopes


def _varying(cells: Sequence[CellStats], skip: set[str]) -> list[str]:
    keys = dict.fromkeys(k for c in cells for k in c.arch)
    return [k for k in keys if k not in skip
            and len({json.dumps(c.arch.get(k), sort_keys=True) for c in cells}) > 1]


def knob_effects(cells: Sequence[CellStats], knob: str, step: str,
                 scale: Callable[[float], float], family: str = CNN) -> list[Effect]:
    """Per-seed least-squares slope of test accuracy on ``scale(knob)``, t-interval over seeds.

    Cells are grouped by everything else in their arch, so a slope never mixes cells that
    differ in another setting. For each group and seed the slope runs through every level
    the seed completed (all widths, not only adjacent pairs, so the middle cells count);
    it is the average gain per step over the range studied, not a claim that the gain is
    constant. The pooled effect (last in the list) is, per seed, one common slope with a
    separate intercept per group, then the same t-interval over seeds.
    """
    mine = [c for c in cells if c.family == family and knob in c.arch]
    skip = {knob, *DERIVED_FIELDS}
    shown = _varying(mine, skip)
    groups: dict[str, list[CellStats]] = {}
    for c in mine:
        rest = {k: v for k, v in c.arch.items() if k not in skip}
        groups.setdefault(json.dumps(rest, sort_keys=True), []).append(c)
    kept = [g for g in groups.values() if len({c.arch[knob] for c in g}) >= 2]
    effects = []
    for g in kept:
        slopes = _seed_slopes([g], knob, scale)
        effects.append(Effect(knob, step, {k: g[0].arch.get(k) for k in shown},
                              tuple(sorted({c.arch[knob] for c in g})),
                              mean_ci(list(slopes.values())), slopes))
    if kept:
        slopes = _seed_slopes(kept, knob, scale)
        effects.append(Effect(knob, step, {},
                              tuple(sorted({c.arch[knob] for g in kept for c in g})),
                              mean_ci(list(slopes.values())), slopes, pooled=True))
    return effects


def width_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per doubling of width (slope on log2 width) at each fixed depth, then pooled."""
    return knob_effects(cells, "width", "doubling", math.log2)


def depth_effects(cells: Sequence[CellStats]) -> list[Effect]:
    """Gain per added conv-pool block at each fixed width, then pooled."""
    return knob_effects(cells, "depth", "block", float)


# --------------------------------------------------------------------------- scaling law


@dataclass(frozen=True)
class ScalingFit:
    """Test error against size ``x`` (parameters or FLOPs): ``err = a * x**(-alpha) + c``.

    ``form`` says which model was fitted: ``power_with_floor`` (a, alpha, c by nonlinear
    least squares) or ``log_log`` (a straight line in log-log, i.e. c fixed at 0, used when
    the floor cannot be identified); ``note`` says why. Standard errors come from the fit's
    covariance; ``dof`` is points minus fitted parameters.
    """

    family: str
    against: str
    form: str
    a: float
    a_se: float
    alpha: float
    alpha_se: float
    c: float
    c_se: float
    n_points: int
    n_sizes: int
    dof: int
    x_range: tuple[float, float]
    note: str

    @property
    def alpha_ci(self) -> tuple[float, float]:
        half = float(stats.t.ppf((1 + CONFIDENCE) / 2, self.dof)) * self.alpha_se
        return (self.alpha - half, self.alpha + half)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(x, dtype=float) ** (-self.alpha) + self.c


def _floor_fit(x: np.ndarray, err: np.ndarray) -> tuple[np.ndarray, np.ndarray] | str:
    """(a, alpha, c) and their covariance, or the reason the floor is not identified."""
    x0 = float(np.exp(np.log(x).mean()))  # fit on x / x0 so a stays near the error's scale
    u = x / x0
    c_max = float(err.min())
    c0 = c_max / 2
    slope, intercept = np.polyfit(np.log(u), np.log(np.clip(err - c0, 1e-9, None)), 1)
    guess = [float(np.exp(intercept)), float(np.clip(-slope, 0.01, 4.9)), c0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", optimize.OptimizeWarning)
            p, cov = optimize.curve_fit(lambda u, a, al, c: a * u ** (-al) + c, u, err,
                                        p0=guess, bounds=([0, 0, 0], [np.inf, 5, c_max]))
    except (RuntimeError, optimize.OptimizeWarning, ValueError) as exc:
        return f"nonlinear fit failed ({str(exc).splitlines()[0]})"
    se = np.sqrt(np.diag(cov))
    a1, alpha, c = p
    if not np.all(np.isfinite(se)):
        return "parameter covariance is not finite"
    if alpha <= 1e-6 or alpha >= 5 - 1e-6 or c >= c_max * (1 - 1e-6):
        return f"fit ran into a bound (alpha {alpha:.3g}, c {c:.3g})"
    if c - 2 * se[2] <= 0:
        return f"floor c = {c:.3g} ± {se[2]:.2g} is not distinguishable from 0"
    # Back to x itself: a = a1 * x0**alpha, with the delta method for its covariance.
    jac = np.array([[x0 ** alpha, a1 * x0 ** alpha * math.log(x0), 0], [0, 1, 0], [0, 0, 1]])
    return np.array([a1 * x0 ** alpha, alpha, c]), jac @ cov @ jac.T


def fit_power_law(x: Sequence[float], err: Sequence[float], *, family: str = "",
                  against: str = "params") -> ScalingFit | None:
    """Fit ``err = a * x**(-alpha) + c``; fall back to a log-log line when c is not identified.

    Every trial is one point (replicate seeds at the same size), so the residual scatter
    includes seed noise. The floor counts as identified when there are at least
    ``MIN_SIZES_FOR_FLOOR`` sizes, the fit converges inside its bounds (alpha in (0, 5),
    0 <= c < min err) and c exceeds twice its standard error. None below
    ``MIN_SIZES_FOR_LINE`` sizes.
    """
    xa, ea = np.asarray(x, dtype=float), np.asarray(err, dtype=float)
    keep = (xa > 0) & (ea > 0)
    xa, ea = xa[keep], ea[keep]
    sizes = len(np.unique(xa))
    if sizes < MIN_SIZES_FOR_LINE or len(xa) < MIN_SIZES_FOR_LINE:
        return None
    common = {"family": family, "against": against, "n_points": len(xa), "n_sizes": sizes,
              "x_range": (float(xa.min()), float(xa.max()))}
    floor = (_floor_fit(xa, ea) if sizes >= MIN_SIZES_FOR_FLOOR
             else f"only {sizes} sizes; a floor needs {MIN_SIZES_FOR_FLOOR}")
    if not isinstance(floor, str):
        p, cov = floor
        se = np.sqrt(np.diag(cov))
        return ScalingFit(form=POWER_WITH_FLOOR, a=float(p[0]), a_se=float(se[0]),
                          alpha=float(p[1]), alpha_se=float(se[1]), c=float(p[2]),
                          c_se=float(se[2]), dof=len(xa) - 3,
                          note="floor identified: power law with an irreducible error c",
                          **common)
    line = stats.linregress(np.log(xa), np.log(ea))
    a = math.exp(line.intercept)
    return ScalingFit(form=LOG_LOG, a=a, a_se=a * float(line.intercept_stderr),
                      alpha=-float(line.slope), alpha_se=float(line.stderr), c=0.0,
                      c_se=math.nan, dof=len(xa) - 2,
                      note=f"straight line in log-log (c = 0): {floor}", **common)


def scaling_fits(cells: Sequence[CellStats]) -> list[ScalingFit]:
    """Per family, test error against parameter count and against forward FLOPs."""
    fits = []
    for family in dict.fromkeys(c.family for c in cells):
        mine = [c for c in cells if c.family == family]
        err = [1 - a for c in mine for a in c.test_per_seed]
        for against, size in (("params", lambda c: c.param_count), ("flops", lambda c: c.flops)):
            x = [size(c) for c in mine for _ in c.test_per_seed]
            fit = fit_power_law(x, err, family=family, against=against)
            if fit is not None:
                fits.append(fit)
    return fits


# --------------------------------------------------------------------------- CNN vs dense


@dataclass(frozen=True)
class Comparison:
    """CNN minus dense test accuracy at matched size, paired by seed (ttest_rel)."""

    dense: str
    cnn: str
    dense_params: int
    cnn_params: int
    seeds: tuple[int, ...]
    difference: Interval
    t: float
    p_value: float


def compare_cnn_dense(cells: Sequence[CellStats]) -> list[Comparison]:
    """For each dense cell, the CNN cell closest in parameter count (by ratio, not by
    difference, since sizes span decades), compared on the seeds both completed. The
    interval of the mean difference is the paired t-interval, consistent with the test.
    """
    cnns = sorted((c for c in cells if c.family == CNN and c.param_count > 0),
                  key=lambda c: (c.param_count, c.cell))
    out = []
    for d in (c for c in cells if c.family == DENSE and c.param_count > 0):
        if not cnns:
            break
        c = min(cnns, key=lambda c: abs(math.log(c.param_count / d.param_count)))
        seeds = tuple(sorted(set(c.seeds) & set(d.seeds)))
        cv = np.array([c.by_seed[s] for s in seeds])
        dv = np.array([d.by_seed[s] for s in seeds])
        t = p = math.nan
        if len(seeds) >= 2 and np.ptp(cv - dv) > 0:
            test = stats.ttest_rel(cv, dv)
            t, p = float(test.statistic), float(test.pvalue)
        out.append(Comparison(d.cell, c.cell, d.param_count, c.param_count, seeds,
                              mean_ci(list(cv - dv)), t, p))
    return out


# --------------------------------------------------------------------------- whole study


def incomplete_cells(records: Iterable[TrialRecord]) -> tuple[list[str], int]:
    """Cells with a (cell, seed) unit that is queued, running or failed, and the cell count.

    A unit is settled once it has a COMPLETE trial or was PRUNED by a pruner, so a search
    study's pruned trials do not count. A twin closed by the grid's claim (``duplicate_of``)
    settles nothing: its unit belongs to the trial it duplicates.
    """
    units: dict[str, dict[Any, bool]] = {}
    for r in records:
        if r.cell is None or r.duplicate_of is not None:
            continue
        seeds = units.setdefault(r.cell, {})
        seeds[r.seed] = seeds.get(r.seed, False) or r.complete or r.state == "PRUNED"
    return [cell for cell, seeds in units.items() if not all(seeds.values())], len(units)


@dataclass(frozen=True)
class Analysis:
    """Everything the report shows, computed from stored records only."""

    cells: tuple[CellStats, ...]
    width: tuple[Effect, ...]
    depth: tuple[Effect, ...]
    fits: tuple[ScalingFit, ...]
    comparisons: tuple[Comparison, ...]
    incomplete: tuple[str, ...]
    n_cells: int

    def pooled(self, knob: str) -> Effect | None:
        effects = self.width if knob == "width" else self.depth
        return next((e for e in effects if e.pooled), None)

    def fit(self, family: str, against: str) -> ScalingFit | None:
        return next((f for f in self.fits if f.family == family and f.against == against),
                    None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (NaN as null) for ``scaling.json``."""
        best = best_cell(self.cells).cell if self.cells else None
        data = {
            "cells": [asdict(c) | {"test_std": c.test.std} for c in self.cells],
            "best_cell": best,
            "width_effects": [asdict(e) for e in self.width],
            "depth_effects": [asdict(e) for e in self.depth],
            "fits": [asdict(f) | {"alpha_ci95": f.alpha_ci} for f in self.fits],
            "cnn_vs_dense": [asdict(c) for c in self.comparisons],
            "incomplete_cells": list(self.incomplete),
            "n_cells": self.n_cells,
            "confidence": CONFIDENCE,
            "units": "accuracy and error as fractions; effects per doubling of width or "
                     "per added block",
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


def analyze(records: Iterable[TrialRecord]) -> Analysis:
    """Cells, width and depth effects, scaling fits, CNN-vs-dense pairs, incomplete cells."""
    records = list(records)
    cells = cell_stats(records)
    incomplete, n_cells = incomplete_cells(records)
    return Analysis(tuple(cells), tuple(width_effects(cells)), tuple(depth_effects(cells)),
                    tuple(scaling_fits(cells)), tuple(compare_cnn_dense(cells)),
                    tuple(incomplete), n_cells)
