"""The scaling report: Plotly figures with captions that state the numbers, in one offline page.

``write_report`` reads the study's stored records only (through :mod:`search.analysis`),
writes ``report.html`` (Plotly's JavaScript inlined once, so it opens without a network),
``scaling.json`` and ``cells.csv``, and saves the scaling figures and a note into the study
so optuna-dashboard shows the same answer. The note never holds the storage URL. The page,
the JSON and the note open with the Set-up (data, training rule, seeds, dates, hosts,
versions), so no number is read without its budget.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import optuna_dashboard
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import hex_to_rgb, qualitative

from search.analysis import (
    CNN,
    DERIVED_FIELDS,
    NEVER_POOLED,
    PREMATURE_RULE,
    SCHEDULE_RULE,
    SCHEDULE_TAIL,
    SIGNIFICANCE,
    SIZES,
    Analysis,
    CellStats,
    Comparison,
    DepthStep,
    Effect,
    Interaction,
    ScalingFit,
    analyze,
    best_cell,
    group_except,
    varying_settings,
)
from search.config import epochs_text
from search.errors import ReportError
from search.export import versions
from search.files import unlink_if_link, write_atomically
from search.stats import N_RESAMPLES, POWER_WITH_FLOOR, Interval
from spaces.cost import human
from storage import ReadOnlyStorageError, TrialRecord
from storage.records import HOST, to_record
from storage.studies import IDENTITY

STEP_TEXT = {"width": "per doubling of width", "depth": "per added block"}
PER_SIZE_TEXT = {"params": "per doubling of parameters", "flops": "per doubling of FLOPs"}
PALETTE = qualitative.Plotly
SIZE_SYMBOL = {"params": "N", "flops": "F"}
SIZE_LABEL = {"params": "parameters", "flops": "forward FLOPs per example"}
PNG_OPTS = {"width": 960, "height": 540, "scale": 2}
ERROR_SINK = "js-errors"  # the page writes any JavaScript error here, so a test can see it
# Training images per epoch with the whole training split, i.e. after carving out the
# validation split (search/data.py); a study's ``train_subset`` replaces it.
FULL_TRAIN_IMAGES = {"fashion_mnist": 50_000, "cifar10": 45_000}
FRONTIER_SHOWN = 6  # cells of the compute frontier named in the headline
# Training settings the Set-up names besides the epoch rule, with their words.
TRAIN_SHOWN = {"optimizer": "optimizer", "learning_rate": "learning rate",
               "lr_schedule": "schedule", "batch_size": "batch size"}
TIME_FORMAT = "%Y-%m-%d %H:%M"
# Hover lines naming a point from its customdata: (cell, seeds averaged) or (cell, seed).
MEAN_POINT = "%{customdata[0]}, mean of %{customdata[1]} seed(s)"
SEED_POINT = "%{customdata[0]}, seed %{customdata[1]}"
FRONTIER_HOVER = ("epoch %{customdata[2]}", "compute %{x:.3s}", "val %{y:.4f}")
POWER = re.compile(r"\^(-?)(\d+(?:\.\d+)?)")  # an exponent in plain text: N^-0.861


@dataclass(frozen=True)
class Figure:
    """One figure of the report; ``key`` is its HTML id and PNG name."""

    key: str
    title: str
    caption: str
    figure: go.Figure
    scaling: bool = True  # ours (saved to the dashboard, PNG); False for Optuna's own plots
    slot: int = 0  # its fixed place among the report's own figures, from 1

    @property
    def dashboard_id(self) -> str:
        """The graph-object id, numbered so that sorting the ids gives the report's order;
        the number is the figure's fixed slot, so a re-run overwrites, never duplicates."""
        return f"{self.slot:02d}-{self.key}"


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    scaling_json: Path
    cells_csv: Path
    figures: tuple[str, ...]
    pngs: tuple[Path, ...] = ()
    headline: tuple[str, ...] = ()  # what the CLI prints, without analysing twice
    in_dashboard: bool = False  # the figures and note were saved into the study


# --------------------------------------------------------------------------- text


def _pp(x: float) -> str:
    return f"{100 * x:+.1f} pp"


def _ci(interval: Interval, scale: float = 100, fmt: str = "+.1f") -> str:
    """``95 % CI [a, b], n seeds``, or why there is no interval."""
    if interval.n < 2 or math.isnan(interval.low):
        return f"{interval.n} seed, no CI"
    return (f"95 % CI [{scale * interval.low:{fmt}}, {scale * interval.high:{fmt}}], "
            f"{interval.n} seeds")


def _values(at: dict[str, object]) -> str:
    return ", ".join(f"{k} {v}" for k, v in at.items())


def _where(effect: Effect) -> str:
    if effect.pooled:
        over = " and ".join(f"{k}s" for k in effect.pooled_over)
        return ("pooled" + (f" over {over}" if over else "")
                + (f" at {_values(effect.at)}" if effect.at else ""))
    return f"at {_values(effect.at)}" if effect.at else "cnn"


def effect_text(effect: Effect) -> str:
    """E.g. ``+2.1 pp per doubling of width at depth 2 (95 % CI [+1.6, +2.6], 3 seeds)``;
    per doubling of a size: ``+1.6 pp per doubling of parameters along width ...``."""
    step = (STEP_TEXT[effect.knob] if effect.against is None
            else f"{PER_SIZE_TEXT[effect.against]} along {effect.knob}")
    return f"{_pp(effect.estimate.mean)} {step} {_where(effect)} ({_ci(effect.estimate)})"


def _short_ci(interval: Interval) -> str:
    """``+1.6 pp [+1.4, +1.8]`` or the mean alone without an interval."""
    if interval.n < 2 or math.isnan(interval.low):
        return f"{_pp(interval.mean)} (no CI)"
    return f"{_pp(interval.mean)} [{100 * interval.low:+.1f}, {100 * interval.high:+.1f}]"


def effect_line(analysis: Analysis, effect: Effect) -> str:
    """A pooled effect with, side by side, the same knob per doubling of parameters and of
    FLOPs (in the same setting), each with its interval."""
    same = [e for on in SIZES for e in analysis.pooled(effect.knob, on) if e.at == effect.at]
    return effect_text(effect) + "".join(
        f"; {PER_SIZE_TEXT[e.against or '']} {_short_ci(e.estimate)}" for e in same)


def _rf(pixels: int | None) -> str:
    return "?" if pixels is None else str(pixels)


def steps_text(steps: Sequence[DepthStep]) -> str:
    """Pooled depth steps of one setting, e.g. ``at head gap, mean over widths: 1->2
    (receptive field 8->18 px) +10.1 pp [+6.0, +14.2], ... (3 seeds)``."""
    first = steps[0]
    over = " and ".join(f"{k}s" for k in first.pooled_over)
    where = (f"at {_values(first.at)}" if first.at else "cnn") + (
        f", mean over {over}" if over else "")
    parts = [f"{a}->{b} (receptive field {_rf(ra)}->{_rf(rb)} px) {_short_ci(st.estimate)}"
             for st in steps for (a, b), (ra, rb) in [(st.depths, st.receptive_fields)]]
    return f"{where}: {', '.join(parts)} (95 % CI, {first.estimate.n} seeds)"


def step_groups(analysis: Analysis) -> list[list[DepthStep]]:
    """The pooled depth steps, one list per setting (e.g. per head)."""
    groups: dict[str, list[DepthStep]] = {}
    for st in analysis.steps:
        if st.pooled:
            groups.setdefault(json.dumps(st.at, sort_keys=True, default=str), []).append(st)
    return list(groups.values())


# The sensitivity line's short names; every other estimate is in scaling.json and the table.
SENSITIVITY_SHOWN = {"width per doubling of width": "width/doubling",
                     "depth per added block": "depth/block",
                     "width per doubling of params": "width/param doubling",
                     "depth per doubling of params": "depth/param doubling",
                     "width x depth interaction (per doubling of width per block)":
                         "interaction"}


def sensitivity_text(analysis: Analysis) -> str:
    """One line: per setting (e.g. head), the pooled effects per own step and per doubling
    of parameters and the interaction without the premature stops, each beside its value
    with every run (the rest: scaling.json's sensitivity block and the report's table)."""
    n = len(analysis.premature)
    if not n:
        return "sensitivity: no premature stop flagged, every estimate uses every run"
    groups: dict[str, list[str]] = {}
    for x in analysis.sensitivity:
        if x.pooled and x.estimate in SENSITIVITY_SHOWN:
            without = _short_ci(x.without).replace(" pp", "") if x.without else "none"
            groups.setdefault(_values(x.at) or "cnn", []).append(
                f"{SENSITIVITY_SHOWN[x.estimate]} {without} "
                f"(all {_short_ci(x.all_runs).replace(' pp', '')})")
    return (f"sensitivity without the {n} premature stop(s) (pp, 95 % CI; all: with every "
            "run): "
            + "; ".join(f"{where}: {', '.join(parts)}" for where, parts in groups.items()))


def interaction_text(i: Interaction) -> str:
    """E.g. ``+0.3 pp per doubling per block at head gap (95 % CI [...], 3 seeds)``."""
    where = f" at {_values(i.at)}" if i.at else ""
    return (f"{_pp(i.estimate.mean)} per doubling of width per added block{where} "
            f"({_ci(i.estimate)})")


def _fit_scope(fit: ScalingFit) -> str:
    return fit.family + (f" at {_values(fit.at)}" if fit.at else "")


def formula(fit: ScalingFit) -> str:
    """The fitted law as plain text, e.g. ``err = 299·N^-0.861 + 0.270``; HTML raises the
    exponent (:func:`_markup`)."""
    n, law = SIZE_SYMBOL[fit.against], fit.law
    text = f"err = {law.a:.3g}·{n}^-{law.alpha:.3f}"
    return text + (f" + {law.c:.3f}" if law.form == POWER_WITH_FLOOR else "")


def fit_text(fit: ScalingFit) -> str:
    """The law fitted to cell means, with the exponent's bootstrap interval."""
    law = fit.law
    shape = (f" (floor of this training budget and design ± {law.c_se:.3f})"
             if law.form == POWER_WITH_FLOOR
             else ", a straight log-log line (no floor identified)")
    boot = fit.alpha_boot
    low, high = law.alpha_ci
    ci = (f"alpha 95 % CI [{boot.low:.3f}, {boot.high:.3f}] over {boot.n_resamples} "
          f"resamples of {fit.n_cells} cells and their seeds" if not math.isnan(boot.low)
          else f"alpha 95 % CI [{low:.3f}, {high:.3f}] from the fit to cell means only (no "
               f"bootstrap interval: {boot.failed} of {boot.n_resamples} resamples of "
               f"{fit.n_cells} cells drew too few sizes to fit)")
    lof = fit.lack_of_fit
    check = "" if lof is None else f", lack-of-fit p = {lof.p_value:.2g}" + (
        ": the cells scatter about the law more than their seeds do, so it summarises them "
        "only roughly" if lof.p_value < SIGNIFICANCE else "")
    return f"{_fit_scope(fit)}: {formula(fit)}{shape}, {ci}{check}"


def _p(p: float) -> str:
    return "—" if math.isnan(p) else f"{p:.3g}"


def comparison_text(c: Comparison) -> str:
    p = (f", paired t p = {c.p_value:.3g}, Holm {c.p_holm:.3g}"
         if not math.isnan(c.p_value) else "")
    fragile = f"; the next-closest {c.runner_up} changes the conclusion" if c.fragile else ""
    return (f"{c.cnn} ({human(c.cnn_size)} {c.matched_on}) - {c.dense} "
            f"({human(c.dense_size)}): {_pp(c.difference.mean)} ({_ci(c.difference)}{p})"
            f"{fragile}")


def comparisons_summary(analysis: Analysis, matched_on: str) -> str | None:
    """How many dense cells have a CNN within the tolerance, how many distinct CNN cells
    those pairs use, how many matched CNNs beat / trail their dense cell after Holm, and how
    many conclusions hang on the choice of match."""
    mine = [c for c in analysis.comparisons if c.matched_on == matched_on]
    unmatched = [d for d, on in analysis.unmatched if on == matched_on]
    if not mine and not unmatched:
        return None
    better = sum(c.p_holm < 0.05 and c.difference.mean > 0 for c in mine)
    worse = sum(c.p_holm < 0.05 and c.difference.mean < 0 for c in mine)
    fragile = sum(c.fragile for c in mine)
    distinct = len({c.cnn for c in mine})
    cross = [f"between {x.below} ({human(x.sizes[0])}) and {x.above} ({human(x.sizes[1])})"
             for x in analysis.crossovers if x.matched_on == matched_on]
    return (f"cnn vs dense matched on {matched_on} (closest by ratio, only within "
            f"{analysis.match_tolerance:g}x): {len(mine)} of {len(mine) + len(unmatched)} "
            f"dense cells matched ({len(unmatched)} unmatched), using {distinct} distinct CNN "
            f"cell(s); the CNN is better in {better}, worse in {worse} (paired t, Holm over "
            f"{len(analysis.comparisons)} tests, 5 %); {fragile} conclusion(s) change with "
            "the next-closest CNN; "
            + (f"crossover {'; '.join(cross)}" if cross else
               "no crossover claimed (none bracketed by a significantly worse and a "
               "significantly better pair)"))


def _cell_text(c: CellStats) -> str:
    return f"{c.cell} ({human(c.param_count)} params, test {100 * c.test.mean:.1f} %)"


def training_images(identity: dict[str, object]) -> int | None:
    """Training images per epoch from a study identity: ``train_subset`` or the split."""
    subset = identity.get("train_subset")
    if isinstance(subset, int) and subset > 0:
        return subset
    return FULL_TRAIN_IMAGES.get(str(identity.get("dataset")))


def _rule_text(analysis: Analysis) -> str:
    """The epoch rule of every training setting the cells used, e.g. ``1 epoch``."""
    return " / ".join(dict.fromkeys(epochs_text(c.train) for c in analysis.cells))


def _seeds_text(counts: Sequence[int]) -> str:
    """``3 seed(s)`` or ``2-3 seeds`` from the sorted seed counts of the cells."""
    return f"{counts[0]} seed(s)" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} seeds"


def _seed_counts(analysis: Analysis) -> list[int]:
    return sorted({c.n for c in analysis.cells})


def runs_text(analysis: Analysis) -> str | None:
    """E.g. ``117 runs: 28 ran all 30 epochs, 35 schedule-limited (best epoch after 80 % of
    the epoch limit; cnn head gap 27 of 48, ...), 13 premature stop(s) flagged``."""
    runs = analysis.runs()
    parts = []
    if runs["ran_full"] is not None and runs["epoch_limits"]:
        limits = "/".join(map(str, runs["epoch_limits"]))
        parts.append(f"{runs['ran_full']} ran all {limits} epochs")
    if runs["schedule_limited"] is not None:
        by = [f"{name} {v['schedule_limited']} of {v['runs']}" for name, v in runs["by"].items()
              if v["schedule_limited"] is not None]
        parts.append(f"{runs['schedule_limited']} schedule-limited (best epoch after "
                     f"{100 * SCHEDULE_TAIL:.0f} % of the epoch limit"
                     + (f"; {', '.join(by)}" if len(by) > 1 else "") + ")")
    if not parts:
        return None
    parts.append(f"{runs['premature']} premature stop(s) flagged")
    return f"{runs['runs']} runs: " + ", ".join(parts)


def budget_text(analysis: Analysis, images: str | None = None) -> str:
    """E.g. ``50,000 training images, trained to convergence (...), 3 seeds; 117 runs: 28
    ran all 30 epochs, ...``."""
    images = images or (f"{analysis.images:,} training images" if analysis.images
                        else "training images not recorded")
    text = f"{images}, {_rule_text(analysis)}, {_seeds_text(_seed_counts(analysis))}"
    runs = runs_text(analysis)
    return text + (f"; {runs}" if runs else "")


def convergence_text(analysis: Analysis) -> str:
    """How many cells had a seed stopped by the epoch limit, and how many a schedule-limited
    seed (best epoch in the last fifth of the schedule)."""
    cells = analysis.cells
    unknown = sum(c.convergence is None or c.convergence.converged is None for c in cells)
    limited = sum(bool(c.convergence and c.convergence.schedule_limited) for c in cells)
    text = (f"{len(analysis.not_converged())} of {len(cells)} cells not converged (a seed "
            f"ran to the epoch limit), {limited} with a schedule-limited seed (best epoch in "
            "the last fifth of the schedule)")
    return text + (f", {unknown} without a convergence record" if unknown else "")


def frontier_text(analysis: Analysis) -> str | None:
    """The cells along the compute frontier, each from the compute where it takes over."""
    firsts: dict[str, float] = {}
    for p in analysis.frontier:
        firsts.setdefault(p.cell, p.compute)
    if not firsts:
        return None
    unit = "training FLOPs" if analysis.images else "training FLOPs per image"
    shown = [f"{cell} from {x:.2g}" for cell, x in list(firsts.items())[-FRONTIER_SHOWN:]]
    more = len(firsts) - len(shown)
    return (f"compute frontier ({unit}, best validation accuracy at each budget): "
            + (f"{more} cheaper cell(s), then " if more else "") + ", ".join(shown))


def headline_fits(analysis: Analysis, against: str = "params") -> list[ScalingFit]:
    """Per family the fits made within every setting never pooled over (e.g. per head), or
    the whole family's where it has none."""
    out = []
    for family in dict.fromkeys(f.family for f in analysis.fits):
        mine = [f for f in analysis.fits if f.family == family and f.against == against]
        split = {k for f in mine for k in f.by if k in NEVER_POOLED}
        by = next((f.by for f in mine if split <= set(f.by)), None)
        out += [f for f in mine if f.by == by]
    return out


def headline(analysis: Analysis, budget: str | None = None) -> list[str]:
    """The lines the CLI prints after ``report`` and a ``scaling`` run; the first two name
    the training budget (``budget`` describes the images, e.g. "50,000 training images")
    and how many cells had not converged."""
    if not analysis.cells:
        return ["no completed trial yet"]
    best = best_cell(analysis.cells)
    lines = [f"budget: {budget_text(analysis, budget)}",
             f"convergence: {convergence_text(analysis)}",
             f"best cell (by validation): {_cell_text(best)}, {_ci(best.test, fmt='.1f')}"]
    lines += [f"{knob} effect: {effect_line(analysis, e)}"
              for knob in ("width", "depth") for e in analysis.pooled(knob)]
    lines += [f"depth steps {steps_text(g)}" for g in step_groups(analysis)]
    lines += [f"width x depth interaction: {interaction_text(i)}" for i in analysis.interactions]
    lines.append(sensitivity_text(analysis))
    lines += [f"scaling law vs params, {fit_text(f)}" for f in headline_fits(analysis)]
    lines += [text for on in ("params", "flops") if (text := comparisons_summary(analysis, on))]
    if text := frontier_text(analysis):
        lines.append(text)
    if analysis.incomplete:
        lines.append(f"{len(analysis.incomplete)} of {analysis.n_cells} cells incomplete "
                     "(queued, running or failed seeds)")
    return lines


# --------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class Setup:
    """What was trained, how, when, where and with which software: the budget and context
    every number of the report depends on, stated before any of them."""

    dataset: str | None
    training_images: int | None  # per epoch
    training_rule: str  # the epoch rule, e.g. "1 epoch" or "trained to convergence (...)"
    train: dict[str, list[Any]]  # TRAIN_SHOWN settings: the distinct values over the cells
    seeds_per_cell: list[int]  # the distinct seed counts, sorted
    cells_complete: int  # every seed settled
    cells: int
    trials_complete: int
    trials: int
    first_start: datetime | None  # of the first completed trial
    last_complete: datetime | None  # of the last completed trial
    hosts: dict[str, int]  # completed trials per recorded host, most first
    versions: dict[str, str]  # of the environment that wrote the report

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, times in ISO 8601 (storage time, as Optuna records it)."""
        return asdict(self) | {
            "first_start": self.first_start and self.first_start.isoformat(),
            "last_complete": self.last_complete and self.last_complete.isoformat()}

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) pairs, shared by the HTML section and the dashboard note."""
        data = self.dataset or "dataset not recorded"
        settings = [f"{word} {' / '.join(map(str, self.train[key]))}"
                    for key, word in TRAIN_SHOWN.items() if self.train[key]]
        when = ("not recorded" if self.first_start is None or self.last_complete is None else
                f"{self.first_start:{TIME_FORMAT}} (first start) to "
                f"{self.last_complete:{TIME_FORMAT}} (last completion)")
        hosts = ", ".join(f"{h} ({n} trials)" for h, n in self.hosts.items())
        software = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        return [
            ("data", f"{data}, " + (f"{self.training_images:,} training images per epoch"
                                     if self.training_images
                                     else "training images per epoch not recorded")),
            ("training", f"{self.training_rule}; "
                         f"{', '.join(settings) or 'settings not recorded'}"),
            ("seeds", f"{_seeds_text(self.seeds_per_cell)} per cell"),
            ("cells and trials", f"{self.cells_complete} of {self.cells} cells complete, "
                                 f"{self.trials_complete} of {self.trials} trials complete"),
            ("completed trials ran", when),
            ("trained on", hosts or "hosts not recorded"),
            ("software", f"{software} (where this report was written)"),
        ]


def study_setup(trials: Sequence[optuna.trial.FrozenTrial], records: Sequence[TrialRecord],
                analysis: Analysis, dataset: str | None) -> Setup:
    """The Set-up of a study from its trials and their records (in the same order)."""
    done = [t for t, r in zip(trials, records, strict=True) if r.complete]
    starts = [t.datetime_start for t in done if t.datetime_start is not None]
    ends = [t.datetime_complete for t in done if t.datetime_complete is not None]
    hosts = Counter(str(h) for t in done if (h := t.user_attrs.get(HOST)))
    return Setup(
        dataset=dataset, training_images=analysis.images, training_rule=_rule_text(analysis),
        train={k: list(dict.fromkeys(v for c in analysis.cells
                                     if (v := (c.train or {}).get(k)) is not None))
               for k in TRAIN_SHOWN},
        seeds_per_cell=_seed_counts(analysis),
        cells_complete=analysis.n_cells - len(analysis.incomplete), cells=analysis.n_cells,
        trials_complete=len(done), trials=len(trials),
        first_start=min(starts, default=None), last_complete=max(ends, default=None),
        hosts=dict(hosts.most_common()), versions=versions())


# --------------------------------------------------------------------------- figures


def _rgba(color: str, alpha: float) -> str:
    r, g, b = hex_to_rgb(color)
    return f"rgba({r},{g},{b},{alpha})"


def _layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white",
                      height=460, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def _hover(point: str, data: Iterable[Sequence[object]], *values: str) -> dict[str, Any]:
    """Scatter arguments whose hover names each point by its ``customdata`` (``point``:
    MEAN_POINT or SEED_POINT, extra fields after those two), then ``values``."""
    return {"customdata": [list(d) for d in data],
            "hovertemplate": "<br>".join((point, *values)) + "<extra></extra>"}


def _bounds(interval: Interval) -> tuple[float, float]:
    """CI bounds for a band, collapsed onto the mean where one seed gives none."""
    if math.isnan(interval.low):
        return interval.mean, interval.mean
    return interval.low, interval.high


def _knob_figure(analysis: Analysis, knob: str) -> Figure | None:
    """Accuracy against one knob, a line with a CI band per fixed value of the others."""
    effects = analysis.width if knob == "width" else analysis.depth
    lines = [e for e in effects if not e.pooled]
    if not lines:
        return None
    fig = go.Figure()
    for i, e in enumerate(lines):
        cells = sorted((c for c in analysis.cells if c.family == CNN and knob in c.arch
                        and all(c.settings.get(k) == v for k, v in e.at.items())),
                       key=lambda c: c.arch[knob])
        x = [c.arch[knob] for c in cells]
        low, high = zip(*(_bounds(c.test) for c in cells), strict=True)
        color, name = PALETTE[i % len(PALETTE)], _where(e).removeprefix("at ")
        fig.add_trace(go.Scatter(x=x + x[::-1], y=list(high) + list(low[::-1]), fill="toself",
                                 mode="lines", fillcolor=_rgba(color, 0.18), line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup=name))
        seeds = [(c, s, acc) for c in cells for s, acc in zip(c.seeds, c.test_per_seed,
                                                               strict=True)]
        fig.add_trace(go.Scatter(x=[c.arch[knob] for c, _, _ in seeds],
                                 y=[acc for _, _, acc in seeds], mode="markers",
                                 marker={"color": color, "size": 5, "opacity": 0.5},
                                 showlegend=False, legendgroup=name, name=f"{name}, seeds",
                                 **_hover(SEED_POINT, ((c.cell, s) for c, s, _ in seeds),
                                          "test %{y:.4f}")))
        fig.add_trace(go.Scatter(x=x, y=[c.test.mean for c in cells], mode="lines+markers",
                                 name=name, legendgroup=name, line={"color": color},
                                 **_hover(MEAN_POINT, ((c.cell, c.n) for c in cells),
                                          "test %{y:.4f}")))
    levels = sorted({c.arch[knob] for c in analysis.cells if knob in c.arch})
    if knob == "width":
        fig.update_xaxes(type="log", tickvals=levels, ticktext=[str(v) for v in levels])
    else:
        fig.update_xaxes(tickvals=levels)
    title = f"Test accuracy vs {knob}"
    _layout(fig, title, f"{knob} ({'log scale' if knob == 'width' else 'conv-pool blocks'})",
            "test accuracy (mean, 95 % CI band)")
    pooled = [effect_text(e) for e in effects if e.pooled]
    caption = ("Mean test accuracy over seeds with 95 % CI bands, dots for single seeds: "
               + "; ".join([*pooled, *(effect_text(e) for e in lines)]) + ".")
    return Figure(f"accuracy-vs-{knob}", title, caption, fig)


def _heatmap(analysis: Analysis) -> Figure | None:
    """Width x depth grid of mean test accuracy for the largest group of CNN cells that
    share every other setting (e.g. one head); only for a grid (one cell per pair)."""
    grid = [c for c in analysis.cells if c.family == CNN and {"width", "depth"} <= c.arch.keys()]
    if not grid:
        return None
    others = {"width", "depth", *DERIVED_FIELDS}
    cnn = max(group_except(grid, others), key=len)
    by = {(c.arch["width"], c.arch["depth"]): c for c in cnn}
    widths, depths = sorted({w for w, _ in by}), sorted({d for _, d in by})
    if len(by) != len(cnn) or len(widths) < 2 or len(depths) < 2:
        return None
    z = [[by[(w, d)].test.mean if (w, d) in by else None for w in widths] for d in depths]
    text = [[_heat_label(by.get((w, d))) for w in widths] for d in depths]
    fig = go.Figure(go.Heatmap(z=z, x=[str(w) for w in widths], y=[str(d) for d in depths],
                               text=text, texttemplate="%{text}", colorscale="Viridis",
                               colorbar={"title": {"text": "test acc"}},
                               hovertemplate="width %{x}, depth %{y}<br>%{text}<extra></extra>"))
    shared = {k: cnn[0].settings.get(k) for k in varying_settings(grid, others)}
    title = "Mean test accuracy per width x depth cell" + (f" at {_values(shared)}"
                                                           if shared else "")
    _layout(fig, title, "width", "depth")
    best, worst = max(cnn, key=lambda c: c.test.mean), min(cnn, key=lambda c: c.test.mean)
    missing = len(widths) * len(depths) - len(by)
    caption = (f"Mean test accuracy (± 95 % CI half-width) of {len(by)} CNN cells: highest "
               f"{_cell_text(best)}, lowest {_cell_text(worst)}"
               + (f"; {missing} cells without a completed trial are blank." if missing else "."))
    return Figure("accuracy-heatmap", title, caption, fig)


def _heat_label(cell: CellStats | None) -> str:
    if cell is None:
        return ""
    if math.isnan(cell.test.low):
        return f"{cell.test.mean:.3f}"
    return f"{cell.test.mean:.3f}<br>±{cell.test.half_width:.3f}"


def _size(cell: CellStats, against: str) -> int:
    return cell.param_count if against == "params" else cell.flops


def _size_figure(analysis: Analysis, against: str) -> Figure | None:
    """Test error against size on log-log axes, every family with its fitted law."""
    fig = go.Figure()
    families = list(dict.fromkeys(c.family for c in analysis.cells))
    for i, family in enumerate(families):
        cells = sorted((c for c in analysis.cells if c.family == family and _size(c, against)),
                       key=lambda c: _size(c, against))
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(
            x=[_size(c, against) for c in cells], y=[1 - c.test.mean for c in cells],
            error_y={"type": "data", "array": [0 if math.isnan(c.test.low) else
                                                c.test.half_width for c in cells]},
            mode="markers", name=family, marker={"color": color, "size": 9},
            **_hover(MEAN_POINT, ((c.cell, c.n) for c in cells),
                     f"%{{x:.3s}} {SIZE_LABEL[against]}", "error %{y:.4f}")))
        for fit in (f for f in analysis.fits if f.family == family and f.against == against
                    and not f.by):
            xs = np.geomspace(*fit.x_range, 60)
            fig.add_trace(go.Scatter(x=xs.tolist(), y=fit.law.predict(xs).tolist(),
                                     mode="lines", line={"color": color, "dash": "dash"},
                                     name=f"{_fit_scope(fit)} fit (alpha {fit.law.alpha:.3f})",
                                     hoverinfo="skip"))
    if not fig.data:
        return None
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    title = f"Test error vs {SIZE_LABEL[against]}"
    _layout(fig, title, f"{SIZE_LABEL[against]} (log)", "test error = 1 - accuracy (log)")
    fits = [fit_text(f) for f in analysis.fits if f.against == against and not f.by]
    parts = fits or ["no family has the 3 sizes a fit needs"]
    if summary := comparisons_summary(analysis, against):
        parts.append(summary)
    caption = (f"Mean test error per cell (95 % CI bars) with laws fitted to cell means: "
               f"{'; '.join(parts)}. Per-depth fits and every comparison are in the tables.")
    return Figure(f"error-vs-{against}", title, caption, fig)


def pareto_front(cells: Sequence[CellStats]) -> list[CellStats]:
    """Cells more accurate (mean test) than every cell with at most as many parameters."""
    front: list[CellStats] = []
    for c in sorted(cells, key=lambda c: (c.param_count, -c.test.mean)):
        if not front or c.test.mean > front[-1].test.mean:
            front.append(c)
    return front


def _pareto_figure(analysis: Analysis) -> Figure:
    front = pareto_front(analysis.cells)
    fig = go.Figure()
    for i, family in enumerate(dict.fromkeys(c.family for c in analysis.cells)):
        cells = [c for c in analysis.cells if c.family == family]
        fig.add_trace(go.Scatter(x=[c.param_count for c in cells],
                                 y=[c.test.mean for c in cells], mode="markers", name=family,
                                 marker={"color": PALETTE[i % len(PALETTE)], "size": 9},
                                 **_hover(MEAN_POINT, ((c.cell, c.n) for c in cells),
                                          "%{x:.3s} parameters", "test %{y:.4f}")))
    fig.add_trace(go.Scatter(x=[c.param_count for c in front], y=[c.test.mean for c in front],
                             mode="lines", line={"shape": "hv", "color": "black"},
                             name="Pareto front", hoverinfo="skip"))
    fig.update_xaxes(type="log")
    title = "Pareto front: test accuracy vs parameters"
    _layout(fig, title, "parameters (log)", "mean test accuracy")
    caption = (f"{len(front)} of {len(analysis.cells)} cells are Pareto-optimal (no smaller "
               f"cell is as accurate), from {_cell_text(front[0])} to {_cell_text(front[-1])}.")
    return Figure("pareto-front", title, caption, fig)


def _curves_figure(analysis: Analysis, records: Sequence[TrialRecord]) -> Figure | None:
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
                                 **_hover(MEAN_POINT, [(cell, len(curves))] * epochs,
                                          "epoch %{x}", "val %{y:.4f}")))
        finals.append(f"{cell} {mean[-1]:.3f} after {epochs} epoch(s)")
    if not fig.data:
        return None
    title = "Validation accuracy per epoch"
    _layout(fig, title, "epoch", "validation accuracy (mean over seeds)")
    fig.update_xaxes(dtick=1)
    caption = ("Mean validation accuracy per epoch over seeds for the best and the smallest "
               f"cell of each family: {'; '.join(finals)}.")
    return Figure("validation-curves", title, caption, fig)


def _frontier_figure(analysis: Analysis) -> Figure | None:
    """Validation accuracy against training compute: every cell's curve, and the envelope
    of the best (cell, epoch) at each budget."""
    if not analysis.frontier:
        return None
    fig = go.Figure()
    families = list(dict.fromkeys(c.family for c in analysis.curves))
    for curve in analysis.curves:
        color = PALETTE[families.index(curve.family) % len(PALETTE)]
        fig.add_trace(go.Scatter(x=list(curve.compute), y=list(curve.val), mode="lines",
                                 line={"color": _rgba(color, 0.35), "width": 1},
                                 name=curve.family, legendgroup=curve.family,
                                 showlegend=curve is next(c for c in analysis.curves
                                                          if c.family == curve.family),
                                 **_hover(MEAN_POINT, ((curve.cell, curve.seeds, e) for e in
                                                       range(1, len(curve.val) + 1)),
                                          *FRONTIER_HOVER)))
    front, seeds = analysis.frontier, {c.cell: c.seeds for c in analysis.curves}
    fig.add_trace(go.Scatter(x=[p.compute for p in front], y=[p.val for p in front],
                             mode="lines+markers", line={"shape": "hv", "color": "black"},
                             name="frontier",
                             **_hover(MEAN_POINT, ((p.cell, seeds[p.cell], p.epoch)
                                                   for p in front), *FRONTIER_HOVER)))
    fig.update_xaxes(type="log")
    unit = "training FLOPs" if analysis.images else "training FLOPs per training image"
    title = "Validation accuracy vs training compute"
    _layout(fig, title, f"{unit} (3 x forward FLOPs x images x epochs, log)",
            "validation accuracy (mean over seeds)")
    caption = (f"Each line is a cell's mean validation curve over its seeds (as far as every "
               f"seed trained); the black steps are the best cell and epoch at each budget. "
               f"{frontier_text(analysis)}.")
    return Figure("compute-frontier", title, caption, fig)


def scaling_figures(analysis: Analysis, records: Sequence[TrialRecord]) -> list[Figure]:
    """The report's own figures, skipping those the study has no data for."""
    if not analysis.cells:
        return []
    made = [_knob_figure(analysis, "width"), _knob_figure(analysis, "depth"),
            _heatmap(analysis), _size_figure(analysis, "params"),
            _size_figure(analysis, "flops"), _pareto_figure(analysis),
            _curves_figure(analysis, records), _frontier_figure(analysis)]
    return [replace(f, slot=slot) for slot, f in enumerate(made, start=1) if f is not None]


def optuna_figures(study: optuna.Study) -> list[Figure]:
    """Optuna's history, importances (PED-ANOVA: deterministic, needs no scikit-learn)
    and parallel coordinates."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return []
    best = study.best_trial
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(importances.items())[:3])
    chosen = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in best.params.items())
    return [
        Figure("optimization-history", "Optimization history",
               f"Validation accuracy of {len(complete)} complete trials; the best, "
               f"{best.value:.4f}, came at trial {best.number}.",
               optuna.visualization.plot_optimization_history(study), scaling=False),
        Figure("param-importances", "Parameter importances",
               f"PED-ANOVA importance of each parameter for validation accuracy; the largest: "
               f"{top}.",
               optuna.visualization.plot_param_importances(study, evaluator=evaluator),
               scaling=False),
        Figure("parallel-coordinate", "Parallel coordinates",
               f"Each line is one of {len(complete)} complete trials, coloured by validation "
               f"accuracy; the best used {chosen}.",
               optuna.visualization.plot_parallel_coordinate(study), scaling=False),
    ]


# --------------------------------------------------------------------------- files


def _markup(text: str) -> str:
    """Escaped HTML with exponents raised, ``N^-0.861`` as N<sup>&minus;0.861</sup>: the page
    reads as a formula while the CLI and scaling.json keep the plain text."""
    return POWER.sub(lambda m: f"<sup>{'&minus;' if m[1] else ''}{m[2]}</sup>", html.escape(text))


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table; every value is escaped (:func:`_markup`)."""
    head = "".join(f"<th>{_markup(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_markup(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _gap(x: float) -> str:
    return "—" if math.isnan(x) else f"{100 * x:+.1f} pp"


def _cells_table(analysis: Analysis) -> str:
    return _table(
        ("cell", "seeds", "params", "FLOPs", "receptive field px", "test mean", "test CI",
         "val mean", "train acc", "train - val", "s/trial"),
        ((c.cell, c.n, human(c.param_count), human(c.flops), _rf(c.receptive_field).replace(
            "?", "—"), f"{c.test.mean:.4f}",
          _ci(c.test, 1, ".4f"), f"{c.val.mean:.4f}", _num(c.train_acc.mean, ".4f") or "—",
          _gap(c.gap), f"{c.train_seconds:.1f}")
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
    return _table(("cell", "seeds converged", "median epochs", "last-epoch gain",
                   "still improving", "ran all epochs", "schedule-limited",
                   "premature stops"), map(row, analysis.cells))


def _common_units_table(analysis: Analysis) -> str:
    """Each width or depth effect beside the same knob per doubling of parameters and of
    FLOPs: the knobs buy different amounts of size per step."""
    def row(e: Effect) -> tuple[object, ...]:
        same = {x.against: x for x in analysis.per_size if x.knob == e.knob
                and x.at == e.at and x.pooled == e.pooled}
        cells = [f"{_pp(x.estimate.mean)} ({_ci(x.estimate)})" if (x := same.get(on)) else "—"
                 for on in SIZES]
        return (e.knob, _where(e), f"{_pp(e.estimate.mean)} ({_ci(e.estimate)})", *cells)
    effects = sorted((*analysis.width, *analysis.depth), key=lambda e: not e.pooled)
    return _table(("knob", "where", "per own step (doubling of width / added block)",
                   "per doubling of parameters", "per doubling of FLOPs"), map(row, effects))


def _steps_table(analysis: Analysis) -> str:
    return _table(("at", "depths", "receptive field px", "gain", "95 % CI"),
                  ((("pooled " if st.pooled else "") + (_values(st.at) or "—"),
                    f"{st.depths[0]}->{st.depths[1]}",
                    f"{_rf(st.receptive_fields[0])}->{_rf(st.receptive_fields[1])}",
                    _pp(st.estimate.mean), _ci(st.estimate)) for st in analysis.steps))


def _premature_table(analysis: Analysis) -> str:
    rule = f"<p>{_markup('Rule: ' + PREMATURE_RULE + '. ' + SCHEDULE_RULE.capitalize())}.</p>"
    return rule + _table(
        ("trial", "cell", "seed", "epochs", "limit", "test", "siblings' mean", "threshold",
         "longest sibling"),
        ((p.trial, p.cell, p.seed, p.epochs, p.limit, f"{p.test_accuracy:.4f}",
          f"{p.sibling_mean:.4f}", f"{p.threshold:.4f}", p.sibling_epochs)
         for p in analysis.premature))


def _sensitivity_table(analysis: Analysis) -> str:
    return _table((f"estimate (without the {len(analysis.premature)} premature stops)", "at",
                   "all runs", "without premature stops"),
                  ((("pooled " if x.pooled else "") + x.estimate, _values(x.at) or "—",
                    _short_ci(x.all_runs), _short_ci(x.without) if x.without else "—")
                   for x in analysis.sensitivity))


def _fits_table(analysis: Analysis) -> str:
    def row(f: ScalingFit) -> tuple[object, ...]:
        law, boot, lof = f.law, f.alpha_boot, f.lack_of_fit
        low, high = law.alpha_ci
        return (_fit_scope(f), f.against, formula(f), law.form, f"{law.alpha:.3f}",
                f"[{low:.3f}, {high:.3f}]",
                "—" if math.isnan(boot.low) else f"[{boot.low:.3f}, {boot.high:.3f}]",
                f"{law.c:.3f}" if law.form == POWER_WITH_FLOOR else "—", f.n_cells,
                "—" if lof is None else f"F({lof.df_lack}, {lof.df_pure}) = {lof.f:.2f}, "
                                        f"p = {lof.p_value:.2g}")
    return _table(("fit", "against", "law", "form", "alpha", "alpha CI (fit, cell means)",
                   f"alpha CI (bootstrap, {N_RESAMPLES} resamples)",
                   "floor c (of this budget and design)", "cells", "lack of fit"),
                  map(row, analysis.fits))


def _comparisons_table(analysis: Analysis) -> str:
    def row(c: Comparison) -> tuple[object, ...]:
        runner = (f"{c.runner_up} ({human(c.runner_up_size)}): "
                  f"{_pp(c.runner_up_difference.mean)}, Holm p {_p(c.runner_up_p_holm)}"
                  if c.runner_up and c.runner_up_difference else "—")
        return (c.dense, c.matched_on, human(c.dense_size), c.cnn, human(c.cnn_size),
                f"{_pp(c.difference.mean)} ({_ci(c.difference)})", _p(c.p_value),
                _p(c.p_holm), runner, "yes" if c.fragile else "no")
    unmatched = ((d, on, human(next(_size(c, on) for c in analysis.cells if c.cell == d)),
                  f"unmatched: no CNN within {analysis.match_tolerance:g}x", *("—",) * 6)
                 for d, on in analysis.unmatched)
    return _table(("dense", "matched on", "size", "CNN", "size", "CNN - dense", "p",
                   "Holm p", "next-closest CNN", "conclusion changes"),
                  [*map(row, analysis.comparisons), *unmatched])


def _interactions_table(analysis: Analysis) -> str:
    return _table(("at", "widths", "depths", "pp per doubling per block", "95 % CI"),
                  ((_values(i.at) or "—", " ".join(map(str, i.widths)),
                    " ".join(map(str, i.depths)), _pp(i.estimate.mean), _ci(i.estimate))
                   for i in analysis.interactions))


def _frontier_table(analysis: Analysis) -> str:
    return _table(("training FLOPs", "cell", "epoch", "val accuracy"),
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
)


def _page(title: str, analysis: Analysis, setup: Setup, figures: Sequence[Figure],
          lines: Sequence[str]) -> str:
    """One self-contained page: the Set-up first, then the headline, figures and tables;
    Plotly's JavaScript is inlined with the first figure."""
    sections = []
    for i, f in enumerate(figures):
        div = pio.to_html(f.figure, full_html=False, include_plotlyjs=i == 0, div_id=f.key,
                          default_height="460px", config={"displaylogo": False})
        sections.append(f"<section><h2>{_markup(f.title)}</h2>{div}"
                        f"<p class='caption'>{_markup(f.caption)}</p></section>")
    facts = "".join(f"<li><b>{_markup(label)}</b>: {_markup(text)}</li>"
                    for label, text in setup.lines())
    items = "".join(f"<li>{_markup(line)}</li>" for line in lines)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}
.caption{{color:#333;font-size:0.95em}} table{{border-collapse:collapse;font-size:0.9em}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}} #{ERROR_SINK}{{color:#b00}}</style>
<script>window.addEventListener("error", function (e) {{
  document.getElementById("{ERROR_SINK}").textContent += "JavaScript error: " + e.message + "\\n";
}});</script></head>
<body><h1>{html.escape(title)}</h1><pre id="{ERROR_SINK}"></pre>
<section id="setup"><h2>Set-up</h2><ul>{facts}</ul></section>
<ul>{items}</ul>
{"".join(sections)}
{"".join(f"<section><h2>{_markup(t)}</h2>{table(analysis)}</section>"
         for t, table in TABLES)}
</body></html>
"""


def _cells_csv(analysis: Analysis) -> str:
    incomplete = set(analysis.incomplete)
    fields = ("head", "width", "depth", "units", "layers")
    with io.StringIO(newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["family", "cell", *fields, "n", "seeds", "param_count", "flops",
                    "receptive_field", "test_mean", "test_std", "test_ci_low",
                    "test_ci_high", "val_mean", "val_std", "val_ci_low", "val_ci_high",
                    "train_acc_mean", "generalisation_gap", "seeds_converged",
                    "median_epochs", "last_epoch_gain", "still_improving", "seeds_ran_full",
                    "seeds_schedule_limited", "premature_stops", "train_seconds",
                    "incomplete"])
        for c in analysis.cells:
            d = c.convergence
            w.writerow([c.family, c.cell, *(c.arch.get(k, "") for k in fields), c.n,
                        " ".join(map(str, c.seeds)), c.param_count, c.flops,
                        "" if c.receptive_field is None else c.receptive_field,
                        *(_num(v) for i in (c.test, c.val) for v in (i.mean, i.std, i.low,
                                                                       i.high)),
                        _num(c.train_acc.mean), _num(c.gap),
                        "" if d is None or d.converged is None else d.converged,
                        "" if d is None else d.median_epochs,
                        "" if d is None else _num(d.last_gain),
                        "" if d is None else d.still_improving,
                        *("" if d is None or (v := getattr(d, k)) is None else v
                          for k in ("ran_full", "schedule_limited", "premature")),
                        f"{c.train_seconds:.2f}", c.cell in incomplete])
        return fh.getvalue()


def _num(x: float, fmt: str = ".6f") -> str:
    return "" if math.isnan(x) else f"{x:{fmt}}"


def note(study_name: str, analysis: Analysis, setup: Setup, budget: str | None = None) -> str:
    """Markdown for the dashboard's study note: the Set-up (budget, versions), headline
    numbers and the best architecture."""
    lines = [f"# Scaling report: {study_name}", "", "## Set-up", "",
             *(f"- **{label}**: {text}" for label, text in setup.lines()), "",
             "## Headline", "", *(f"- {h}" for h in headline(analysis, budget))]
    if analysis.cells:
        best = best_cell(analysis.cells)
        lines += ["", f"## Best architecture: `{best.cell}`", "", "```json",
                  json.dumps(best.arch, indent=2), "```"]
    lines += ["", "The scaling figures are saved with this study (graph objects below)."]
    return "\n".join(lines)


def write_pngs(figures: Sequence[Figure], folder: Path) -> tuple[Path, ...]:
    """Static PNGs through kaleido, which drives the system Chromium (found on PATH or
    ``BROWSER_PATH``); one browser session renders them all."""
    import kaleido  # starts nothing at import, but only the docs path needs it

    folder.mkdir(parents=True, exist_ok=True)
    paths = tuple(folder / f"{f.key}.png" for f in figures)
    for path in paths:
        unlink_if_link(path)
    try:
        kaleido.write_fig_from_object_sync(
            [{"fig": f.figure, "path": p, "opts": PNG_OPTS} for f, p in zip(figures, paths,
                                                                           strict=True)])
    except Exception as exc:  # kaleido reports a missing or failing browser in many ways
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReportError(f"cannot write PNGs (kaleido needs Chromium, e.g. "
                          f"apt-get install chromium): {reason}") from None
    return paths


def _save_to_dashboard(study: optuna.Study, figures: Sequence[Figure], text: str) -> None:
    """Save the figures and the note into the study for optuna-dashboard, skipping each one
    stored exactly so already.

    Every save appends to a journal file (one report appended 213 KB of figures to the
    definitive study's journal), so a report re-made from an unchanged study, e.g. by
    someone exploring a published journal, leaves the file as it was. optuna-dashboard has
    no public reader for what it saved: its private helpers, and the study's storage handle
    its own save functions use, are read here.
    """
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects
    from optuna_dashboard._note import get_note_from_system_attrs

    stored = study._storage.get_study_system_attrs(study._study_id)
    saved = get_plotly_graph_objects(stored)
    for f in figures:
        if saved.get(f.dashboard_id) != f.figure.to_json():
            optuna_dashboard.save_plotly_graph_object(study, f.figure,
                                                      graph_object_id=f.dashboard_id)
    if get_note_from_system_attrs(stored, None)["body"] != text:
        optuna_dashboard.save_note(study, text)


def write_report(study: optuna.Study, out: Path, *, png: bool = False,
                 dashboard: bool = True, budget: str | None = None) -> ReportPaths:
    """Write report.html, scaling.json and cells.csv into ``out`` (PNGs in ``out/figures``
    when ``png``); with ``dashboard``, save the scaling figures and a note into the study.

    The training images per epoch come from the study identity (``train_subset`` or the
    dataset's training split) and scale the compute frontier; ``budget`` overrides how the
    headline describes them.
    """
    trials = study.get_trials(deepcopy=False)  # fetched once: records and Set-up share them
    records = [to_record(t) for t in trials]
    identity = json.loads(study.user_attrs.get(IDENTITY, "{}"))
    analysis = analyze(records, images=training_images(identity))
    if not analysis.cells:
        raise ReportError(f"study {study.study_name!r} has no completed trial to report")
    setup = study_setup(trials, records, analysis, identity.get("dataset"))
    figures = scaling_figures(analysis, records)
    if identity.get("mode") == "search":
        figures += optuna_figures(study)
    lines = headline(analysis, budget)
    paths = ReportPaths(out / "report.html", out / "scaling.json", out / "cells.csv",
                        tuple(f.key for f in figures), headline=tuple(lines))
    try:
        out.mkdir(parents=True, exist_ok=True)
        # Replaced whole, never written through a link someone left at one of these names.
        write_atomically(paths.html, _page(f"Scaling report: {study.study_name}", analysis,
                                           setup, figures, lines))
        write_atomically(paths.scaling_json, json.dumps(
            {"study": study.study_name, "setup": setup.to_dict(), "headline": lines,
             "budget": budget_text(analysis, budget), **analysis.to_dict()},
            indent=2) + "\n")
        write_atomically(paths.cells_csv, _cells_csv(analysis))
    except OSError as exc:
        raise ReportError(f"cannot write to {out}: {exc.strerror}") from None
    ours = [f for f in figures if f.scaling]
    if dashboard:
        try:
            _save_to_dashboard(study, ours, note(study.study_name, analysis, setup, budget))
            paths = replace(paths, in_dashboard=True)
        except (ReadOnlyStorageError, PermissionError):
            pass  # a published, read-only store: the files are the report
    if png:
        return replace(paths, pngs=write_pngs(ours, out / "figures"))
    return paths
