"""Numbers as words: intervals, effects, depth steps, fits and comparisons each as one
phrase, shared by the headline, the captions and the tables."""

from __future__ import annotations

import math
from collections.abc import Sequence

from search.analysis import (
    SIGNIFICANCE,
    SIZES,
    Analysis,
    CellStats,
    DepthStep,
    Effect,
    Interaction,
    ScalingFit,
    axes,
)
from search.config import epochs_text
from search.stats import POWER_WITH_FLOOR, Interval
from spaces.cost import human
from spaces.family import step_words

PER_SIZE_TEXT = {"params": "per doubling of parameters", "flops": "per doubling of FLOPs"}
SIZE_SYMBOL = {"params": "N", "flops": "F"}


def pp(x: float) -> str:
    """A fraction as signed percentage points, e.g. ``+2.1 pp``."""
    return f"{100 * x:+.1f} pp"


def ci_text(interval: Interval, scale: float = 100, fmt: str = "+.1f") -> str:
    """``95 % CI [a, b], n seeds``, or why there is no interval."""
    if interval.n < 2 or math.isnan(interval.low):
        return f"{interval.n} seed, no CI"
    return (f"95 % CI [{scale * interval.low:{fmt}}, {scale * interval.high:{fmt}}], "
            f"{interval.n} seeds")


def at_text(at: dict[str, object]) -> str:
    """Settings as words, e.g. ``head gap, depth 2``."""
    return ", ".join(f"{k} {v}" for k, v in at.items())


def where_text(effect: Effect) -> str:
    """Where an effect holds: ``at ...`` or ``pooled over ... at ...``."""
    if effect.pooled:
        over = " and ".join(f"{k}s" for k in effect.pooled_over)
        return ("pooled" + (f" over {over}" if over else "")
                + (f" at {at_text(effect.at)}" if effect.at else ""))
    return f"at {at_text(effect.at)}" if effect.at else effect.family


def effect_text(effect: Effect) -> str:
    """E.g. ``+2.1 pp per doubling of width at depth 2 (95 % CI [+1.6, +2.6], 3 seeds)``;
    per doubling of a size: ``+1.6 pp per doubling of parameters along width ...``."""
    step = (f"per {step_words(effect.knob, effect.step)}" if effect.against is None
            else f"{PER_SIZE_TEXT[effect.against]} along {effect.knob}")
    return f"{pp(effect.estimate.mean)} {step} {where_text(effect)} ({ci_text(effect.estimate)})"


def short_ci(interval: Interval) -> str:
    """``+1.6 pp [+1.4, +1.8]`` or the mean alone without an interval."""
    if interval.n < 2 or math.isnan(interval.low):
        return f"{pp(interval.mean)} (no CI)"
    return f"{pp(interval.mean)} [{100 * interval.low:+.1f}, {100 * interval.high:+.1f}]"


def effect_line(analysis: Analysis, effect: Effect) -> str:
    """A pooled effect with, side by side, the same knob per doubling of parameters and of
    FLOPs (in the same setting), each with its interval."""
    along = analysis.along(effect)
    same = [along[on] for on in SIZES if on in along]
    return effect_text(effect) + "".join(
        f"; {PER_SIZE_TEXT[e.against or '']} {short_ci(e.estimate)}" for e in same)


def rf_text(pixels: int | None) -> str:
    """A receptive field in pixels, ``?`` when unknown."""
    return "?" if pixels is None else str(pixels)


def steps_text(steps: Sequence[DepthStep]) -> str:
    """Pooled depth steps of one setting, e.g. ``at head gap, mean over widths: 1->2
    (receptive field 8->18 px) +10.1 pp [+6.0, +14.2], ... (3 seeds)``."""
    first = steps[0]
    over = " and ".join(f"{k}s" for k in first.pooled_over)
    where = (f"at {at_text(first.at)}" if first.at else first.family) + (
        f", mean over {over}" if over else "")
    parts = [f"{a}->{b} (receptive field {rf_text(ra)}->{rf_text(rb)} px) {short_ci(st.estimate)}"
             for st in steps for (a, b), (ra, rb) in [(st.depths, st.receptive_fields)]]
    counts = sorted({st.estimate.n for st in steps})
    if counts[-1] < 2:  # one seed: no interval to name
        return f"{where}: {', '.join(parts)} (1 seed)"
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"{where}: {', '.join(parts)} (95 % CI, {n} seeds)"


def interaction_text(i: Interaction) -> str:
    """E.g. ``+0.3 pp per doubling per block at head gap (95 % CI [...], 3 seeds)``."""
    where = f" at {at_text(i.at)}" if i.at else ""
    wide, deep = axes(i.family)
    return (f"{pp(i.estimate.mean)} per {wide.words} per {deep.words}{where} "
            f"({ci_text(i.estimate)})")


def fit_scope(fit: ScalingFit) -> str:
    """The family and the settings a fit was made within."""
    return fit.family + (f" at {at_text(fit.at)}" if fit.at else "")


def formula(fit: ScalingFit) -> str:
    """The fitted law as plain text, e.g. ``err = 299·N^-0.861 + 0.270``; HTML raises the
    exponent (:func:`markup`)."""
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
    return f"{fit_scope(fit)}: {formula(fit)}{shape}, {ci}{check}"


def p_text(p: float) -> str:
    """A p-value to 3 significant digits, ``—`` without a test."""
    return "—" if math.isnan(p) else f"{p:.3g}"


def cell_text(c: CellStats) -> str:
    """A cell with its parameters and mean test accuracy."""
    return f"{c.cell} ({human(c.param_count)} params, test {100 * c.test.mean:.1f} %)"


def rule_text(analysis: Analysis) -> str:
    """The epoch rule of every training setting the cells used, e.g. ``1 epoch``."""
    return " / ".join(dict.fromkeys(epochs_text(c.train) for c in analysis.cells))


def seeds_text(counts: Sequence[int]) -> str:
    """``3 seed(s)`` or ``2-3 seeds`` from the sorted seed counts of the cells."""
    return f"{counts[0]} seed(s)" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} seeds"


def seed_counts(analysis: Analysis) -> list[int]:
    """The distinct seed counts of the cells, sorted."""
    return sorted({c.n for c in analysis.cells})


def num_text(x: float, fmt: str = ".6f") -> str:
    """A number for a table or CSV cell; empty for NaN."""
    return "" if math.isnan(x) else f"{x:{fmt}}"
