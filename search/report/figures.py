"""The report's own figures, one registered function each (:func:`register`): a new figure
is one more function here, with a key and a slot of its own."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from search.analysis import (
    FAMILY,
    Analysis,
    CellStats,
    axes,
    best_cell,
    cell_size,
    families,
    group_except,
    varying_settings,
)
from search.report.figure import (
    FRONTIER_HOVER,
    MEAN_POINT,
    PALETTE,
    SEED_POINT,
    SIZE_LABEL,
    Figure,
    Plot,
    bounds,
    hover,
    layout,
    register,
    registered,
    rgba,
)
from search.report.summary import comparisons_summary, frontier_text, worker_time_text
from search.report.text import at_text, cell_text, effect_text, fit_scope, fit_text, where_text
from spaces import STUDIED, Family
from storage import TrialRecord


def _knob_plot(analysis: Analysis, axis: str) -> Plot | None:
    """Accuracy along the studied families' ``width`` or ``depth`` axis, a line with a CI
    band per fixed value of the other settings."""
    effects = analysis.width if axis == "width" else analysis.depth
    lines = [e for e in effects if not e.pooled]
    if not lines:
        return None
    fig = go.Figure()
    for i, e in enumerate(lines):
        cells = sorted((c for c in analysis.cells if c.family == e.family and e.knob in c.arch
                        and all(c.settings.get(k) == v for k, v in e.at.items())),
                       key=lambda c: c.arch[e.knob])
        x = [c.arch[e.knob] for c in cells]
        low, high = zip(*(bounds(c.test) for c in cells), strict=True)
        color, name = PALETTE[i % len(PALETTE)], where_text(e).removeprefix("at ")
        fig.add_trace(go.Scatter(x=x + x[::-1], y=list(high) + list(low[::-1]), fill="toself",
                                 mode="lines", fillcolor=rgba(color, 0.18), line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup=name))
        seeds = [(c, s, acc) for c in cells for s, acc in zip(c.seeds, c.test_per_seed,
                                                               strict=True)]
        fig.add_trace(go.Scatter(x=[c.arch[e.knob] for c, _, _ in seeds],
                                 y=[acc for _, _, acc in seeds], mode="markers",
                                 marker={"color": color, "size": 5, "opacity": 0.5},
                                 showlegend=False, legendgroup=name, name=f"{name}, seeds",
                                 **hover(SEED_POINT, ((c.cell, s) for c, s, _ in seeds),
                                         "test %{y:.4f}")))
        fig.add_trace(go.Scatter(x=x, y=[c.test.mean for c in cells], mode="lines+markers",
                                 name=name, legendgroup=name, line={"color": color},
                                 **hover(MEAN_POINT, ((c.cell, c.n) for c in cells),
                                         "test %{y:.4f}")))
    drawn = {(e.family, e.knob) for e in lines}
    levels = sorted({c.arch[knob] for c in analysis.cells for family, knob in drawn
                     if c.family == family and knob in c.arch})
    shown = axes(lines[0].family)[0 if axis == "width" else 1]
    if shown.log:
        fig.update_xaxes(type="log", tickvals=levels, ticktext=[str(v) for v in levels])
    else:
        fig.update_xaxes(tickvals=levels)
    title = f"Test accuracy vs {axis}"
    layout(fig, title, shown.axis_title, "test accuracy (mean, 95 % CI band)")
    pooled = [effect_text(e) for e in effects if e.pooled]
    caption = ("Mean test accuracy over seeds with 95 % CI bands, dots for single seeds: "
               + "; ".join([*pooled, *(effect_text(e) for e in lines)]) + ".")
    return Plot(title, caption, fig)


@register("accuracy-vs-width", slot=1)
def accuracy_vs_width(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """Test accuracy against width, a line per depth (and other setting)."""
    return _knob_plot(analysis, "width")


@register("accuracy-vs-depth", slot=2)
def accuracy_vs_depth(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """Test accuracy against depth, a line per width (and other setting)."""
    return _knob_plot(analysis, "depth")


@register("accuracy-heatmap", slot=3)
def accuracy_heatmap(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """Width x depth grid of mean test accuracy for the largest group of a studied family's
    cells that share every other setting (e.g. one head); only for a grid (one cell per
    pair)."""
    studied = families(analysis.cells, STUDIED)
    groups: list[tuple[Family, list[CellStats], list[CellStats]]] = []
    for family, mine in studied:
        knobs = {a.knob for a in axes(family.name)}
        grid = [c for c in mine if knobs <= c.arch.keys()]
        groups += [(family, grid, g) for g in group_except(grid, _grid_keys(family))]
    if not groups:
        return None
    family, grid, cnn = max(groups, key=lambda found: len(found[2]))
    (w_knob, d_knob), others = (a.knob for a in axes(family.name)), _grid_keys(family)
    by = {(c.arch[w_knob], c.arch[d_knob]): c for c in cnn}
    widths, depths = sorted({w for w, _ in by}), sorted({d for _, d in by})
    if len(by) != len(cnn) or len(widths) < 2 or len(depths) < 2:
        return None
    z = [[by[(w, d)].test.mean if (w, d) in by else None for w in widths] for d in depths]
    text = [[_heat_label(by.get((w, d))) for w in widths] for d in depths]
    fig = go.Figure(go.Heatmap(z=z, x=[str(w) for w in widths], y=[str(d) for d in depths],
                               text=text, texttemplate="%{text}", colorscale="Viridis",
                               colorbar={"title": {"text": "test acc"}},
                               hovertemplate=f"{w_knob} %{{x}}, {d_knob} %{{y}}<br>%{{text}}"
                                             "<extra></extra>"))
    shared = {k: cnn[0].settings.get(k) for k in varying_settings(grid, others)}
    if len(studied) > 1:
        shared = {FAMILY: family.name, **shared}
    title = f"Mean test accuracy per {w_knob} x {d_knob} cell" + (
        f" at {at_text(shared)}" if shared else "")
    layout(fig, title, w_knob, d_knob)
    best, worst = max(cnn, key=lambda c: c.test.mean), min(cnn, key=lambda c: c.test.mean)
    missing = len(widths) * len(depths) - len(by)
    caption = (f"Mean test accuracy (± 95 % CI half-width) of {len(by)} CNN cells: highest "
               f"{cell_text(best)}, lowest {cell_text(worst)}"
               + (f"; {missing} cells without a completed trial are blank." if missing else "."))
    return Plot(title, caption, fig)


def _grid_keys(family: Family) -> set[str]:
    """What places a cell in the heatmap: the family's width and depth (and the fields they
    derive); every other setting makes another heatmap."""
    return {*(a.knob for a in axes(family.name)), *family.derived}


def _heat_label(cell: CellStats | None) -> str:
    """A heatmap cell's text: the mean test accuracy and its CI half-width."""
    if cell is None:
        return ""
    if math.isnan(cell.test.low):
        return f"{cell.test.mean:.3f}"
    return f"{cell.test.mean:.3f}<br>±{cell.test.half_width:.3f}"


def _size_plot(analysis: Analysis, against: str) -> Plot | None:
    """Test error against size on log-log axes, every family with its fitted law."""
    fig = go.Figure()
    families = list(dict.fromkeys(c.family for c in analysis.cells))
    for i, family in enumerate(families):
        cells = sorted((c for c in analysis.cells if c.family == family and cell_size(c, against)),
                       key=lambda c: cell_size(c, against))
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(
            x=[cell_size(c, against) for c in cells], y=[1 - c.test.mean for c in cells],
            error_y={"type": "data", "array": [0 if math.isnan(c.test.low) else
                                                c.test.half_width for c in cells]},
            mode="markers", name=family, marker={"color": color, "size": 9},
            **hover(MEAN_POINT, ((c.cell, c.n) for c in cells),
                    f"%{{x:.3s}} {SIZE_LABEL[against]}", "error %{y:.4f}")))
        for fit in (f for f in analysis.fits if f.family == family and f.against == against
                    and not f.by):
            xs = np.geomspace(*fit.x_range, 60)
            fig.add_trace(go.Scatter(x=xs.tolist(), y=fit.law.predict(xs).tolist(),
                                     mode="lines", line={"color": color, "dash": "dash"},
                                     name=f"{fit_scope(fit)} fit (alpha {fit.law.alpha:.3f})",
                                     hoverinfo="skip"))
    if not fig.data:
        return None
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    title = f"Test error vs {SIZE_LABEL[against]}"
    layout(fig, title, f"{SIZE_LABEL[against]} (log)", "test error = 1 - accuracy (log)")
    fits = [fit_text(f) for f in analysis.fits if f.against == against and not f.by]
    parts = fits or ["no family has the 3 sizes a fit needs"]
    if summary := comparisons_summary(analysis, against):
        parts.append(summary)
    caption = (f"Mean test error per cell (95 % CI bars) with laws fitted to cell means: "
               f"{'; '.join(parts)}. Per-depth fits and every comparison are in the tables.")
    return Plot(title, caption, fig)


@register("error-vs-params", slot=4)
def error_vs_params(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """Test error against parameters, log-log, with the fitted laws."""
    return _size_plot(analysis, "params")


@register("error-vs-flops", slot=5)
def error_vs_flops(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """Test error against forward FLOPs, log-log, with the fitted laws."""
    return _size_plot(analysis, "flops")


def pareto_front(cells: Sequence[CellStats]) -> list[CellStats]:
    """Cells more accurate (mean test) than every cell with at most as many parameters."""
    front: list[CellStats] = []
    for c in sorted(cells, key=lambda c: (c.param_count, -c.test.mean)):
        if not front or c.test.mean > front[-1].test.mean:
            front.append(c)
    return front


@register("pareto-front", slot=6)
def pareto_figure(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot:
    """Mean test accuracy against parameters, with the Pareto front."""
    front = pareto_front(analysis.cells)
    fig = go.Figure()
    for i, family in enumerate(dict.fromkeys(c.family for c in analysis.cells)):
        cells = [c for c in analysis.cells if c.family == family]
        fig.add_trace(go.Scatter(x=[c.param_count for c in cells],
                                 y=[c.test.mean for c in cells], mode="markers", name=family,
                                 marker={"color": PALETTE[i % len(PALETTE)], "size": 9},
                                 **hover(MEAN_POINT, ((c.cell, c.n) for c in cells),
                                         "%{x:.3s} parameters", "test %{y:.4f}")))
    fig.add_trace(go.Scatter(x=[c.param_count for c in front], y=[c.test.mean for c in front],
                             mode="lines", line={"shape": "hv", "color": "black"},
                             name="Pareto front", hoverinfo="skip"))
    fig.update_xaxes(type="log")
    title = "Pareto front: test accuracy vs parameters"
    layout(fig, title, "parameters (log)", "mean test accuracy")
    caption = (f"{len(front)} of {len(analysis.cells)} cells are Pareto-optimal (no smaller "
               f"cell is as accurate), from {cell_text(front[0])} to {cell_text(front[-1])}.")
    return Plot(title, caption, fig)


@register("validation-curves", slot=7)
def validation_curves(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """Mean per-epoch validation accuracy of the best and the smallest cell of each family."""
    chosen: dict[str, CellStats] = {}
    for family in dict.fromkeys(c.family for c in analysis.cells):
        cells = [c for c in analysis.cells if c.family == family]
        for c in (best_cell(cells), min(cells, key=lambda c: c.param_count)):
            chosen.setdefault(c.cell, c)
    fig, finals = go.Figure(), []
    for i, cell in enumerate(chosen):
        curves = [r.val_curve for r in records if r.complete and r.cell == cell and r.val_curve]
        if not curves:
            continue
        epochs = min(len(c) for c in curves)
        mean = np.mean([c[:epochs] for c in curves], axis=0).tolist()
        fig.add_trace(go.Scatter(x=list(range(1, epochs + 1)), y=mean, mode="lines+markers",
                                 name=cell, line={"color": PALETTE[i % len(PALETTE)]},
                                 **hover(MEAN_POINT, [(cell, len(curves))] * epochs,
                                         "epoch %{x}", "val %{y:.4f}")))
        finals.append(f"{cell} {mean[-1]:.3f} after {epochs} epoch(s)")
    if not fig.data:
        return None
    title = "Validation accuracy per epoch"
    layout(fig, title, "epoch", "validation accuracy (mean over seeds)")
    fig.update_xaxes(dtick=1)
    caption = ("Mean validation accuracy per epoch over seeds for the best and the smallest "
               f"cell of each family: {'; '.join(finals)}.")
    return Plot(title, caption, fig)


@register("compute-frontier", slot=8)
def compute_frontier(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """Validation accuracy against training compute: every cell's curve, and the envelope
    of the best (cell, epoch) at each budget."""
    if not analysis.frontier:
        return None
    fig = go.Figure()
    families = list(dict.fromkeys(c.family for c in analysis.curves))
    for curve in analysis.curves:
        color = PALETTE[families.index(curve.family) % len(PALETTE)]
        fig.add_trace(go.Scatter(x=list(curve.compute), y=list(curve.val), mode="lines",
                                 line={"color": rgba(color, 0.35), "width": 1},
                                 name=curve.family, legendgroup=curve.family,
                                 showlegend=curve is next(c for c in analysis.curves
                                                          if c.family == curve.family),
                                 **hover(MEAN_POINT, ((curve.cell, curve.seeds, e) for e in
                                                      range(1, len(curve.val) + 1)),
                                         *FRONTIER_HOVER)))
    front, seeds = analysis.frontier, {c.cell: c.seeds for c in analysis.curves}
    fig.add_trace(go.Scatter(x=[p.compute for p in front], y=[p.val for p in front],
                             mode="lines+markers", line={"shape": "hv", "color": "black"},
                             name="frontier",
                             **hover(MEAN_POINT, ((p.cell, seeds[p.cell], p.epoch)
                                                  for p in front), *FRONTIER_HOVER)))
    fig.update_xaxes(type="log")
    unit = "training FLOPs" if analysis.images else "training FLOPs per training image"
    title = "Validation accuracy vs training compute"
    layout(fig, title, f"{unit} (3 x forward FLOPs x images x epochs, log)",
           "validation accuracy (mean over seeds)")
    caption = (f"Each line is a cell's mean validation curve over its seeds (as far as every "
               f"seed trained); the black steps are the best cell and epoch at each budget. "
               f"{frontier_text(analysis)}.")
    return Plot(title, caption, fig)


@register("worker-time", slot=9)
def worker_time(analysis: Analysis, records: Sequence[TrialRecord]) -> Plot | None:
    """The best validation accuracy reached against the worker hours spent, every finished
    trial counted (the curve a search's budget is read from)."""
    points = [p for p in analysis.spent if p.best_val is not None]
    if not points:
        return None
    complete = {r.number: r for r in records if r.complete}
    done = [(p, complete[p.trial]) for p in analysis.spent if p.trial in complete]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[p.hours for p, _ in done], y=[r.val_accuracy for _, r in done],
                             mode="markers", name="complete trials",
                             marker={"color": PALETTE[0], "size": 6, "opacity": 0.5},
                             **hover(SEED_POINT, ((r.cell, r.seed, r.number) for _, r in done),
                                     "trial %{customdata[2]}", "%{x:.2f} h", "val %{y:.4f}")))
    best = [complete[p.best_trial] for p in points]  # type: ignore[index]
    fig.add_trace(go.Scatter(x=[p.hours for p in points], y=[p.best_val for p in points],
                             mode="lines", line={"shape": "hv", "color": "black"},
                             name="best so far",
                             **hover(SEED_POINT, ((r.cell, r.seed, r.number) for r in best),
                                     "best so far: trial %{customdata[2]}", "%{x:.2f} h",
                                     "val %{y:.4f}")))
    title = "Best validation accuracy vs worker time spent"
    layout(fig, title, "worker hours (every finished trial, in finishing order)",
           "validation accuracy")
    caption = ("Each dot is a complete trial, at the worker time spent when it finished; "
               "the black steps are the best so far. In numbers, "
               f"{worker_time_text(analysis)}.")
    return Plot(title, caption, fig)


def scaling_figures(analysis: Analysis, records: Sequence[TrialRecord]) -> list[Figure]:
    """The registered figures in slot order, skipping those the study has no data for."""
    if not analysis.cells:
        return []
    drawn = ((r, r.draw(analysis, records)) for r in registered())
    return [Figure(r.key, *plot, slot=r.slot) for r, plot in drawn if plot is not None]
