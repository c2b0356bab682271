"""The page's tables, every estimate in full: one function per table, listed in
:data:`TABLES` in page order with its title."""

from __future__ import annotations

import math
from dataclasses import asdict

from search.analysis import (
    PREMATURE_RULE,
    SCHEDULE_RULE,
    SIZES,
    Analysis,
    CellStats,
    Change,
    Comparison,
    Effect,
    ScalingFit,
    cell_size,
)
from search.report.markup import html_table, markup
from search.report.text import (
    at_text,
    ci_text,
    fit_scope,
    formula,
    num_text,
    p_text,
    pp,
    rf_text,
    short_ci,
    where_text,
)
from search.stats import N_RESAMPLES, POWER_WITH_FLOOR
from spaces.cost import human


def _gap(x: float) -> str:
    """A gap in percentage points, ``—`` when unknown."""
    return "—" if math.isnan(x) else f"{100 * x:+.1f} pp"


def _cells_table(analysis: Analysis) -> str:
    return html_table(
        ("cell", "seeds", "params", "FLOPs", "receptive field px", "test mean", "test CI",
         "val mean", "train acc", "train - val", "s/trial"),
        ((c.cell, c.n, human(c.param_count), human(c.flops),
          rf_text(c.receptive_field).replace("?", "—"), f"{c.test.mean:.4f}",
          ci_text(c.test, 1, ".4f"), f"{c.val.mean:.4f}",
          num_text(c.train_acc.mean, ".4f") or "—", _gap(c.gap), f"{c.train_seconds:.1f}")
         for c in sorted(analysis.cells, key=lambda c: (c.family, c.param_count))))


def _convergence_table(analysis: Analysis) -> str:
    def row(c: CellStats) -> tuple[object, ...]:
        d = c.convergence
        if d is None:
            return (c.cell, "—", "—", "—", "—", "—", "—", "—")

        def count(n: int | None) -> str:
            return "not recorded" if n is None else f"{n}/{d.seeds}"
        return (c.cell, count(d.converged), f"{d.median_epochs:g}", _gap(d.last_gain),
                "yes" if d.still_improving else "no", count(d.ran_full),
                count(d.schedule_limited), d.premature)
    return html_table(("cell", "seeds converged", "median epochs", "last-epoch gain",
                       "still improving", "ran all epochs", "schedule-limited",
                       "premature stops"), map(row, analysis.cells))


def _common_units_table(analysis: Analysis) -> str:
    """Each width or depth effect beside the same knob per doubling of parameters and of
    FLOPs: the knobs buy different amounts of size per step."""
    def row(e: Effect) -> tuple[object, ...]:
        same = analysis.along(e)
        cells = [f"{pp(x.estimate.mean)} ({ci_text(x.estimate)})" if (x := same.get(on)) else "—"
                 for on in SIZES]
        return (e.knob, where_text(e), f"{pp(e.estimate.mean)} ({ci_text(e.estimate)})", *cells)
    effects = sorted((*analysis.width, *analysis.depth), key=lambda e: not e.pooled)
    return html_table(("knob", "where", "per own step (doubling of width / added block)",
                       "per doubling of parameters", "per doubling of FLOPs"), map(row, effects))


def _steps_table(analysis: Analysis) -> str:
    return html_table(("at", "depths", "receptive field px", "gain", "95 % CI"),
                      ((("pooled " if st.pooled else "") + (at_text(st.at) or "—"),
                        f"{st.depths[0]}->{st.depths[1]}",
                        f"{rf_text(st.receptive_fields[0])}->{rf_text(st.receptive_fields[1])}",
                        pp(st.estimate.mean), ci_text(st.estimate)) for st in analysis.steps))


def _premature_table(analysis: Analysis) -> str:
    rule = f"<p>{markup('Rule: ' + PREMATURE_RULE + '. ' + SCHEDULE_RULE.capitalize())}.</p>"
    return rule + html_table(
        ("trial", "cell", "seed", "epochs", "limit", "test", "siblings' mean", "threshold",
         "longest sibling"),
        ((p.trial, p.cell, p.seed, p.epochs, p.limit, f"{p.test_accuracy:.4f}",
          f"{p.sibling_mean:.4f}", f"{p.threshold:.4f}", p.sibling_epochs)
         for p in analysis.premature))


def _sensitivity_table(analysis: Analysis) -> str:
    return html_table((f"estimate (without the {len(analysis.premature)} premature stops)", "at",
                       "all runs", "without premature stops"),
                      ((("pooled " if x.pooled else "") + x.estimate, at_text(x.at) or "—",
                        short_ci(x.all_runs), short_ci(x.without) if x.without else "—")
                       for x in analysis.sensitivity))


def _fits_table(analysis: Analysis) -> str:
    def row(f: ScalingFit) -> tuple[object, ...]:
        law, boot, lof = f.law, f.alpha_boot, f.lack_of_fit
        low, high = law.alpha_ci
        return (fit_scope(f), f.against, formula(f), law.form, f"{law.alpha:.3f}",
                f"[{low:.3f}, {high:.3f}]",
                "—" if math.isnan(boot.low) else f"[{boot.low:.3f}, {boot.high:.3f}]",
                f"{law.c:.3f}" if law.form == POWER_WITH_FLOOR else "—", f.n_cells,
                "—" if lof is None else f"F({lof.df_lack}, {lof.df_pure}) = {lof.f:.2f}, "
                                        f"p = {lof.p_value:.2g}")
    return html_table(("fit", "against", "law", "form", "alpha", "alpha CI (fit, cell means)",
                       f"alpha CI (bootstrap, {N_RESAMPLES} resamples)",
                       "floor c (of this budget and design)", "cells", "lack of fit"),
                      map(row, analysis.fits))


def _comparisons_table(analysis: Analysis) -> str:
    def row(c: Comparison) -> tuple[object, ...]:
        runner = (f"{c.runner_up} ({human(c.runner_up_size)}): "
                  f"{pp(c.runner_up_difference.mean)}, Holm p {p_text(c.runner_up_p_holm)}"
                  if c.runner_up and c.runner_up_difference else "—")
        return (c.dense, c.matched_on, human(c.dense_size), c.cnn, human(c.cnn_size),
                f"{pp(c.difference.mean)} ({ci_text(c.difference)})", p_text(c.p_value),
                p_text(c.p_holm), runner, "yes" if c.fragile else "no")
    unmatched = ((d, on, human(next(cell_size(c, on) for c in analysis.cells if c.cell == d)),
                  f"unmatched: no CNN within {analysis.match_tolerance:g}x", *("—",) * 6)
                 for d, on in analysis.unmatched)
    return html_table(("dense", "matched on", "size", "CNN", "size", "CNN - dense", "p",
                       "Holm p", "next-closest CNN", "conclusion changes"),
                      [*map(row, analysis.comparisons), *unmatched])


def _interactions_table(analysis: Analysis) -> str:
    return html_table(("at", "widths", "depths", "pp per doubling per block", "95 % CI"),
                      ((at_text(i.at) or "—", " ".join(map(str, i.widths)),
                        " ".join(map(str, i.depths)), pp(i.estimate.mean), ci_text(i.estimate))
                       for i in analysis.interactions))


def _sequential_table(analysis: Analysis) -> str:
    """A sequential grid's seeds per cell and why, and where each comparison stands;
    empty for a grid of a fixed number of seeds."""
    plan = analysis.sequential
    if plan is None:
        return ""
    rule = plan.rule
    settings = ", ".join(f"{k} {v}" for k, v in asdict(rule).items())
    summary = plan.summary()
    intro = markup(f"{summary[0].upper()}{summary[1:]}. Rule: {settings}. A comparison asks "
                   "for the seeds of its next look in both cells while it is open; its "
                   "interval is at the rule's confidence per look (docs/method.md, Sequential "
                   "seeds).")

    def why(cell: str) -> str:
        return "; ".join(f"{c.kind} {c.a} - {c.b}: {c.state} at {c.seeds} seeds"
                         for c in plan.why(cell)) or "the minimum every cell starts with"
    cells = html_table(("cell", "seeds", "why"),
                       ((cell, n, why(cell)) for cell, n in plan.seeds.items()))
    contrasts = html_table(
        ("comparison", "a", "b", "metric", "state", "seeds", "a - b", "interval"),
        ((c.kind, c.a, c.b, c.metric, c.state, c.seeds, _gap(c.difference.mean),
          "—" if math.isnan(c.difference.low)
          else f"[{pp(c.difference.low)}, {pp(c.difference.high)}]")
         for c in plan.contrasts))
    return f"<p>{intro}</p>{cells}{contrasts}"


def _against_table(analysis: Analysis) -> str:
    """Each shared cell, and then every conclusion the shared cells allow, here and in the
    study checked against; empty without one."""
    against = analysis.against
    if against is None:
        return ""

    def flags(c: Change) -> tuple[str, str, str, str]:
        return (p_text(c.p_holm), "yes" if c.changed else "no", "yes" if c.outside else "no",
                "yes" if c.zero_crossed else "no")

    def count(n: int | None) -> str:
        return "—" if n is None else str(n)
    cells = html_table(
        ("cell", "seeds", "test there", "test here", "here - there", "val here - there",
         "p (Holm)", "changed", "outside", "0 crossed", "median epochs there / here",
         "schedule-limited there / here"),
        ((c.cell, len(c.seeds), f"{c.test.base.mean:.4f}", f"{c.test.check.mean:.4f}",
          short_ci(c.test.change), short_ci(c.val.change), *flags(c.test),
          " / ".join(num_text(x, "g") or "—" for x in (c.base_epochs, c.check_epochs)),
          f"{count(c.base_limited)} / {count(c.check_limited)}") for c in against.cells))
    shifts = html_table(
        ("conclusion", "at", "there", "here", "here - there", "p (Holm)", "changed",
         "outside", "0 crossed"),
        ((s.estimate, ("pooled " if s.pooled else "") + (at_text(s.at) or "—"),
          short_ci(s.value.base), short_ci(s.value.check), short_ci(s.value.change),
          *flags(s.value)) for s in against.shifts))
    training = ("; ".join(f"{k} {a} there, {b} here" for k, a, b in against.training)
                or "the same training settings")
    intro = markup(
        f"The same cells and seeds in study {against.study} ({training}). Changed: the "
        "paired t-test of the change over the shared seeds, "
        f"Holm-adjusted over all {against.tests()} tests, rejects at 5 %. Outside "
        "(descriptive): the value here lies outside the 95 % interval there. 0 crossed "
        "(descriptive): whether the interval excludes 0 differs between the studies.")
    return f"<p>{intro}</p>{cells}{shifts}"


def _frontier_table(analysis: Analysis) -> str:
    return html_table(("training FLOPs", "cell", "epoch", "val accuracy"),
                      ((f"{p.compute:.3g}", p.cell, p.epoch, f"{p.val:.4f}")
                       for p in analysis.frontier))


TABLES = (
    ("Cells: accuracy and generalisation gap (train - validation at the best epoch)",
     _cells_table),
    ("Convergence", _convergence_table),
    ("Scaling-law fits (cell means; bootstrap over cells and seeds)", _fits_table),
    ("Width and depth effects per step and per doubling of parameters and FLOPs",
     _common_units_table),
    ("Depth steps and receptive fields", _steps_table),
    ("Width x depth interaction", _interactions_table),
    ("Premature stops", _premature_table),
    ("Sensitivity: every estimate without the premature stops", _sensitivity_table),
    ("CNN vs dense at matched parameters and FLOPs (paired t, Holm-adjusted)",
     _comparisons_table),
    ("Training-compute frontier", _frontier_table),
    ("Sequential seeds: seeds per cell and why, and every comparison", _sequential_table),
    ("Against another study: the same cells and seeds trained its way", _against_table),
)
