"""The whole analysis of a study: :func:`analyze` runs every estimate on the stored records
and returns an :class:`Analysis`, which also writes itself as ``scaling.json`` data."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from search.analysis.against import Against, check_against
from search.analysis.allocation import Rule
from search.analysis.cells import (
    SIZES,
    CellStats,
    axis_knob,
    best_cell,
    cell_stats,
    incomplete_cells,
    settings_key,
)
from search.analysis.compare import (
    MATCH_TOLERANCE,
    Comparison,
    Crossover,
    compare_cnn_dense,
    crossovers,
    unmatched_dense,
)
from search.analysis.compute import (
    ComputeCurve,
    FrontierPoint,
    SpentPoint,
    compute_curves,
    compute_frontier,
    spent_curve,
)
from search.analysis.effects import DepthStep, Effect, Interaction
from search.analysis.estimates import Sensitivity, estimates_of, named_estimates, sensitivity
from search.analysis.fits import ScalingFit, scaling_fits
from search.analysis.runs import PREMATURE_RULE, SCHEDULE_RULE, PrematureStop, premature_stops
from search.analysis.sequential import SeedPlan, seed_plan
from search.stats import CONFIDENCE
from spaces import declared
from storage import TrialRecord


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """Everything the report shows, computed from stored records only.

    ``images`` is the number of training images (from the study identity; None when
    unknown, then compute is per training image). ``per_size`` holds the width and depth
    effects per doubling of parameters and of FLOPs, ``steps`` the depth steps,
    ``premature`` the premature stops (kept in every estimate) and ``sensitivity`` every
    effect, step and interaction again without them; ``unmatched`` the dense cells with no
    CNN within ``match_tolerance`` x, ``crossovers`` the bracketed sign changes of CNN minus
    dense. ``sequential`` is where a sequential grid's comparisons stand and the seeds its
    rule spent (None for a fixed number of seeds).
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
    sequential: SeedPlan | None = None
    against: Against | None = None  # the same cells and seeds of another study
    spent: tuple[SpentPoint, ...] = ()  # worker time against the best validation so far

    def pooled(self, axis: str, against: str | None = None) -> list[Effect]:
        """The pooled effects along the ``width`` or ``depth`` axis of the studied families,
        one per training setting and head; with ``against``, per doubling of ``params`` or
        ``flops`` along that axis."""
        if against is not None:
            return [e for e in self.per_size if e.pooled and e.against == against
                    and e.knob == axis_knob(e.family, axis)]
        return [e for e in (self.width if axis == "width" else self.depth) if e.pooled]

    def along(self, effect: Effect) -> dict[str, Effect]:
        """The same knob's effects per doubling of ``params`` and of ``flops`` (by that
        key), in ``effect``'s family, setting and pooling."""
        return {e.against: e for e in self.per_size if e.against is not None
                and (e.family, e.knob, e.at, e.pooled)
                == (effect.family, effect.knob, effect.at, effect.pooled)}

    def runs(self) -> dict[str, Any]:
        """Run counts over the cells: runs, runs that trained their whole epoch limit,
        schedule-limited runs (overall and per setting the family never pools over, e.g.
        per head), premature stops; None where a count is unknown for some cell."""
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
            declaration = declared(family)
            never = declaration.never_pooled if declaration else frozenset()
            split = sorted(k for k in never if any(k in c.arch for c in ours))
            for value in dict.fromkeys(settings_key({k: c.arch.get(k) for k in split})
                                       for c in ours):
                mine = [c for c in ours
                        if settings_key({k: c.arch.get(k) for k in split}) == value]
                name = " ".join([family, *(f"{k} {mine[0].arch.get(k)}" for k in split)])
                by[name] = {"runs": sum(c.n for c in mine),
                            "schedule_limited": total("schedule_limited", mine)}
        return {"runs": sum(c.n for c in self.cells), "epoch_limits": limits,
                "ran_full": total("ran_full", self.cells) if known else None,
                "schedule_limited": total("schedule_limited", self.cells) if known else None,
                "premature": len(self.premature), "by": by}

    def worker_time(self) -> dict[str, Any] | None:
        """The worker hours every finished trial took, trials by state, the best complete
        trial by validation and the hours spent when it finished; None with no trial."""
        if not self.spent:
            return None
        last, best = self.spent[-1], None
        if last.best_trial is not None:
            best = next(p for p in self.spent if p.best_trial == last.best_trial)
        states: dict[str, int] = {}
        for p in self.spent:
            states[p.state] = states.get(p.state, 0) + 1
        return {"hours": last.hours, "trials": len(self.spent), "by_state": states,
                "best_trial": last.best_trial, "best_val": last.best_val,
                "best_after_hours": None if best is None else best.hours}

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
            "width_effects": [_estimate(e) for e in self.width],
            "depth_effects": [_estimate(e) for e in self.depth],
            "effects_per_size_doubling": [_estimate(e) for e in self.per_size],
            "depth_steps": [_estimate(st) for st in self.steps],
            "width_depth_interactions": [_estimate(i) for i in self.interactions],
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
                "estimates": [_estimate(x) for x in self.sensitivity]},
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
        if (spent := self.worker_time()) is not None:
            data["worker_time"] = spent | {
                "what": "worker hours of every finished trial (complete: its training "
                        "seconds; pruned or failed: start to finish), in the order the "
                        "trials finished, against the best complete trial by validation",
                "curve": [asdict(p) for p in self.spent]}
        if self.sequential is not None:  # absent otherwise: other studies' files unchanged
            data["sequential"] = self.sequential.to_dict()
        if self.against is not None:  # likewise
            data["against"] = self.against.to_dict()
        return _json_safe(data)


def _estimate(estimate: Any) -> dict[str, Any]:
    """An effect, step, interaction or sensitivity as data, without its ``family``: its
    ``at`` names the family whenever the study has more than one studied family, and with
    one the cells do (so a one-family study's file keeps the shape it always had)."""
    data = asdict(estimate)
    del data["family"]
    return data


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def analyze(records: Iterable[TrialRecord], images: int | None = None,
            tolerance: float = MATCH_TOLERANCE, rule: Rule | None = None,
            base: tuple[str, Sequence[TrialRecord]] | None = None) -> Analysis:
    """Cells, effects (per knob step and per doubling of parameters and FLOPs), depth steps,
    interactions, scaling fits, CNN-vs-dense pairs within ``tolerance`` x in size, the
    compute frontier, incomplete cells, premature stops and every estimate again without
    them; ``images`` (training images per epoch) scales the compute. With a sequential
    grid's ``rule`` (:func:`study_rule`), also where its comparisons stand; with ``base``
    (a study's name and records), these cells against the same cells and seeds there."""
    records = list(records)
    cells = cell_stats(records)
    incomplete, n_cells = incomplete_cells(records)
    curves = compute_curves(records, images)
    premature = premature_stops(records)

    width, depth, per_size, interactions, steps = estimates_of(cells)
    full = named_estimates(width, depth, per_size, interactions, steps)
    reduced = full
    if premature:
        dropped = {p.trial for p in premature}
        reduced = named_estimates(*estimates_of(cell_stats(r for r in records
                                                           if r.number not in dropped)))
    comparisons = compare_cnn_dense(cells, tolerance)
    return Analysis(
        cells=tuple(cells), width=tuple(width), depth=tuple(depth),
        fits=tuple(scaling_fits(cells)), comparisons=tuple(comparisons),
        incomplete=tuple(incomplete), n_cells=n_cells, interactions=tuple(interactions),
        curves=tuple(curves), frontier=tuple(compute_frontier(curves)), images=images,
        per_size=tuple(per_size), steps=tuple(steps), premature=tuple(premature),
        sensitivity=tuple(sensitivity(full, reduced)),
        unmatched=tuple(unmatched_dense(cells, tolerance)), match_tolerance=tolerance,
        crossovers=tuple(crossovers(cells, comparisons)),
        sequential=None if rule is None else seed_plan(records, rule, tolerance=tolerance),
        against=None if base is None else check_against(base[0], base[1], records),
        spent=tuple(spent_curve(records)))
