"""Scaling laws: test error against size (parameters or forward FLOPs) fitted to cell
means, the cell being the unit; the exponent's interval resamples whole cells and seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.analysis.cells import (
    CellStats,
    axis_knob,
    cell_size,
    group_within,
    swept_train_keys,
    varying_settings,
)
from search.stats import (
    LOG_LOG,
    BootstrapCI,
    LackOfFit,
    PowerLaw,
    cluster_bootstrap,
    fit_power_law,
    lack_of_fit,
)
from spaces import declared


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


def fit_cells(cells: Sequence[CellStats], against: str, by: tuple[str, ...] = (),
              at: dict[str, Any] | None = None) -> ScalingFit | None:
    """Fit one group of cells; None when it has fewer sizes than a line needs."""
    usable = [c for c in cells if cell_size(c, against) > 0 and all(a < 1 for a in c.test_per_seed)]
    x = [float(cell_size(c, against)) for c in usable]
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
    depth, as each of these levels exists in the grid. The size and depth knobs and the
    derived fields are the family's declared ones (none for a family not registered here)."""
    fits = []
    for family in dict.fromkeys(c.family for c in cells):
        mine = [c for c in cells if c.family == family]
        size_knob, depth_knob = axis_knob(family, "width"), axis_knob(family, "depth")
        declaration = declared(family)
        derived = declaration.derived if declaration else frozenset()
        train_keys = swept_train_keys(mine)
        arch_keys = [k for k in varying_settings(mine, {size_knob, *derived})
                     if k not in train_keys]
        others = tuple(k for k in arch_keys if k != depth_knob)
        levels = dict.fromkeys([(), others, others + tuple(k for k in arch_keys
                                                           if k == depth_knob)])
        for by in levels:
            for g in group_within(mine, [*train_keys, *by]):
                at = {k: g[0].settings.get(k) for k in (*by, *train_keys)}
                for against in ("params", "flops"):
                    fit = fit_cells(g, against, by, at)
                    if fit is not None:
                        fits.append(fit)
    return fits
