"""search.analysis fits: scaling laws fitted to cell means, with a cell-level bootstrap."""

from __future__ import annotations

import math

import numpy as np

from search.analysis import analyze, cell_stats, fit_cells
from search.stats import fit_power_law
from tests.search.analysis.synthetic import SEEDS, cnn_grid, planted, record


def test_analyze_fits_each_family_on_cell_means_and_again_per_depth():
    analysis = analyze(cnn_grid(planted(lambda d: 0.02, -0.01)))
    assert {(f.family, f.against, f.by) for f in analysis.fits} == {
        ("cnn", a, by) for a in ("params", "flops") for by in ((), ("depth",))}
    whole = analysis.fit("cnn", "params")
    assert whole.by == () and whole.n_cells == 12 and whole.n_points == 12 * len(SEEDS)
    assert [f.at for f in analysis.fits if f.by and f.against == "params"] == [
        {"depth": d} for d in (1, 2, 3)]
    assert whole.alpha_boot.n_resamples == 1000
    assert whole.lack_of_fit is not None and whole.lack_of_fit.df_pure == 12 * 2


def test_cell_level_bootstrap_is_wider_than_a_fit_to_every_seed_as_a_point():
    """Cells deviate from the law (architecture beyond size) and each seed shifts every
    cell: a fit to all 3 x 10 points as if independent claims more precision than 10 cells
    give. Resampling cells, and seeds within them, keeps that uncertainty."""
    rng = np.random.default_rng(0)
    cell_effect, seed_effect = rng.normal(0, 0.15, 10), (-0.01, 0.0, 0.012)
    recs = []
    for j, w in enumerate(2 ** k for k in range(2, 12)):
        for s in SEEDS:
            err = (0.5 * (100 * w * w) ** -0.2 * math.exp(cell_effect[j]) + seed_effect[s]
                   + rng.normal(0, 0.005))
            recs.append(record(len(recs), "cnn", {"width": w}, s, 1 - err, params=100 * w * w))
    cells = cell_stats(recs)
    fit = fit_cells(cells, "params")
    points = fit_power_law([c.param_count for c in cells for _ in c.seeds],
                           [1 - a for c in cells for a in c.test_per_seed])
    assert fit.law.form == points.form
    point_width = points.alpha_ci[1] - points.alpha_ci[0]
    assert fit.alpha_boot.high - fit.alpha_boot.low > 1.15 * point_width
    assert fit.alpha_boot.low < fit.law.alpha < fit.alpha_boot.high
