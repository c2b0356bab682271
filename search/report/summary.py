"""The headline: the lines the CLI prints after ``report`` and a ``scaling`` run, which also
open the page, scaling.json and the dashboard note (budget first, then the answers)."""

from __future__ import annotations

import json
import math

from search.analysis import (
    SCHEDULE_TAIL,
    Against,
    Analysis,
    CellChange,
    DepthStep,
    ScalingFit,
    axes,
    best_cell,
    effect_name,
    families,
    interaction_name,
)
from search.report.text import (
    at_text,
    cell_text,
    ci_text,
    effect_line,
    fit_text,
    interaction_text,
    pp,
    rule_text,
    seed_counts,
    seeds_text,
    short_ci,
    steps_text,
)
from spaces import BASELINE, STUDIED, declared
from spaces.cost import human

FRONTIER_SHOWN = 6  # cells of the compute frontier named in the headline
HEADLINE_CELLS = 6  # cells an against line names one by one


def step_groups(analysis: Analysis) -> list[list[DepthStep]]:
    """The pooled depth steps, one list per setting (e.g. per head)."""
    groups: dict[str, list[DepthStep]] = {}
    for st in analysis.steps:
        if st.pooled:
            groups.setdefault(json.dumps(st.at, sort_keys=True, default=str), []).append(st)
    return list(groups.values())


def sensitivity_shown(family: str) -> dict[str, str]:
    """The estimates of a studied family the sensitivity line names, by full name, with
    their short names (``width/doubling``, ``depth/param doubling``, ``interaction``);
    every other estimate is in scaling.json and the table."""
    shown = {effect_name(a.knob, a.step, against): f"{a.knob}/{short}"
             for a in axes(family) for against, short in ((None, a.step),
                                                           ("params", "param doubling"))}
    return shown | {interaction_name(family): "interaction"}


def sensitivity_text(analysis: Analysis) -> str:
    """One line: per setting (e.g. head), the pooled effects per own step and per doubling
    of parameters and the interaction without the premature stops, each beside its value
    with every run (the rest: scaling.json's sensitivity block and the report's table)."""
    n = len(analysis.premature)
    if not n:
        return "sensitivity: no premature stop flagged, every estimate uses every run"
    groups: dict[str, list[str]] = {}
    for x in analysis.sensitivity:
        if x.pooled and (short := sensitivity_shown(x.family).get(x.estimate)):
            without = short_ci(x.without).replace(" pp", "") if x.without else "none"
            groups.setdefault(at_text(x.at) or x.family, []).append(
                f"{short} {without} "
                f"(all {short_ci(x.all_runs).replace(' pp', '')})")
    return (f"sensitivity without the {n} premature stop(s) (pp, 95 % CI; all: with every "
            "run): "
            + "; ".join(f"{where}: {', '.join(parts)}" for where, parts in groups.items()))


def comparisons_summary(analysis: Analysis, matched_on: str) -> str | None:
    """How many dense cells have a CNN within the tolerance, how many distinct CNN cells
    those pairs use, how many matched CNNs beat / trail their dense cell after Holm, and how
    many conclusions hang on the choice of match (the studied families are the "CNN" side,
    the baseline the "dense" one, named as they are registered)."""
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
    sides = " vs ".join(" / ".join(f.name for f, _ in families(analysis.cells, r))
                        for r in (STUDIED, BASELINE))
    return (f"{sides} matched on {matched_on} (closest by ratio, only within "
            f"{analysis.match_tolerance:g}x): {len(mine)} of {len(mine) + len(unmatched)} "
            f"dense cells matched ({len(unmatched)} unmatched), using {distinct} distinct CNN "
            f"cell(s); the CNN is better in {better}, worse in {worse} (paired t, Holm over "
            f"{len(analysis.comparisons)} tests, 5 %); {fragile} conclusion(s) change with "
            "the next-closest CNN; "
            + (f"crossover {'; '.join(cross)}" if cross else
               "no crossover claimed (none bracketed by a significantly worse and a "
               "significantly better pair)"))


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
    text = f"{images}, {rule_text(analysis)}, {seeds_text(seed_counts(analysis))}"
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


def hours_text(hours: float) -> str:
    """Worker time as words: minutes under an hour, else hours (``45 worker-min``,
    ``2.9 worker-h``)."""
    return f"{60 * hours:.0f} worker-min" if hours < 1 else f"{hours:.1f} worker-h"


def worker_time_text(analysis: Analysis) -> str | None:
    """E.g. ``worker time: 1.7 worker-h over 15 finished trials (10 complete, 4 pruned, 1
    failed; complete: training seconds, others: start to finish); the best trial by
    validation, 12 (0.9307), finished after 1.5 worker-h``."""
    spent = analysis.worker_time()
    if spent is None:
        return None
    order = ("COMPLETE", "PRUNED", "FAIL")  # then any other, as found
    states = ", ".join(f"{n} {state.lower().replace('fail', 'failed')}" for state, n in
                       sorted(spent["by_state"].items(),
                              key=lambda x: order.index(x[0]) if x[0] in order else 3))
    best = ("" if spent["best_trial"] is None else
            f"; the best trial by validation, {spent['best_trial']} "
            f"({spent['best_val']:.4f}), finished after {hours_text(spent['best_after_hours'])}")
    trials = "trial" if spent["trials"] == 1 else "trials"
    return (f"worker time: {hours_text(spent['hours'])} over {spent['trials']} finished "
            f"{trials} ({states}; complete: training seconds, others: start to finish){best}")


def headline_fits(analysis: Analysis, against: str = "params") -> list[ScalingFit]:
    """Per family the fits made within every setting never pooled over (e.g. per head), or
    the whole family's where it has none."""
    out = []
    for family in dict.fromkeys(f.family for f in analysis.fits):
        mine = [f for f in analysis.fits if f.family == family and f.against == against]
        declaration = declared(family)
        never = declaration.never_pooled if declaration else frozenset()
        split = {k for f in mine for k in f.by if k in never}
        by = next((f.by for f in mine if split <= set(f.by)), None)
        out += [f for f in mine if f.by == by]
    return out


def _strength(c: CellChange) -> float:
    """How clearly a cell changed: |mean| over its interval's half-width (inf with no
    spread, 0 with no change, -1 with one seed: no interval, nothing clear)."""
    change = c.test.change
    if change.n < 2:
        return -1.0
    if change.half_width == 0:
        return math.inf if change.mean else 0.0
    return abs(change.mean) / change.half_width


def against_text(against: Against) -> str:
    """E.g. ``against scaling-v2 (epochs 30 -> 60; the same 4 cells and their 3 seed(s)):
    test accuracy here minus there cnn:... +0.4 pp [...], ...; best shared cell by
    validation ... there, ... here; changed (paired t over seeds, Holm over 12 tests, 5 %):
    ...``. Beyond :data:`HEADLINE_CELLS` cells it gives the mean change and the clearest
    ones; every conclusion and both descriptive flags: the table and scaling.json."""
    cells = against.cells
    if len(cells) <= HEADLINE_CELLS:
        changes = ", ".join(f"{c.cell} {short_ci(c.test.change)}" for c in cells)
    else:
        means = [c.test.change.mean for c in cells]
        clearest = sorted(cells, key=_strength, reverse=True)[:3]
        changes = (f"{pp(sum(means) / len(means))} on average over the cells (from "
                   f"{pp(min(means))} to {pp(max(means))}), the clearest "
                   + ", ".join(f"{c.cell} {short_ci(c.test.change)}" for c in clearest))
    changed = [f"{c.cell} {pp(c.test.change.mean)}" for c in cells if c.test.changed]
    changed += [f"{s.estimate}{f' at {at_text(s.at)}' if s.at else ''} "
                f"{pp(s.value.base.mean)} -> {pp(s.value.check.mean)}"
                for s in against.changed()]
    training = "; ".join(f"{k} {a} -> {b}" for k, a, b in against.training)
    seeds = sorted({len(c.seeds) for c in cells})
    return (f"against {against.study} ({training or 'the same training settings'}; the "
            f"same {len(cells)} cells and their {seeds_text(seeds)}): test accuracy here minus "
            f"there {changes}; best shared cell by validation: {against.best[0]} there, "
            f"{against.best[1]} here; changed (paired t over seeds, Holm over "
            f"{against.tests()} tests, 5 %): {', '.join(changed) or 'none'}"
            + (f"; {len(against.unshared)} cell(s) not shared (the cell or its seeds "
               "missing there)" if against.unshared else "")
            + (f"; {len(against.unmatched)} conclusion(s) there without a counterpart here"
               if against.unmatched else ""))


def headline(analysis: Analysis, budget: str | None = None) -> list[str]:
    """The lines the CLI prints after ``report`` and a ``scaling`` run; the first two name
    the training budget (``budget`` describes the images, e.g. "50,000 training images")
    and how many cells had not converged; a sequential grid's third says what its rule
    spent and decided."""
    if not analysis.cells:
        return ["no completed trial yet"]
    best = best_cell(analysis.cells)
    lines = [f"budget: {budget_text(analysis, budget)}",
             f"convergence: {convergence_text(analysis)}",
             *([analysis.sequential.summary()] if analysis.sequential else []),
             f"best cell (by validation): {cell_text(best)}, {ci_text(best.test, fmt='.1f')}"]
    lines += [f"{knob} effect: {effect_line(analysis, e)}"
              for knob in ("width", "depth") for e in analysis.pooled(knob)]
    lines += [f"depth steps {steps_text(g)}" for g in step_groups(analysis)]
    lines += [f"width x depth interaction: {interaction_text(i)}" for i in analysis.interactions]
    lines.append(sensitivity_text(analysis))
    lines += [f"scaling law vs params, {fit_text(f)}" for f in headline_fits(analysis)]
    lines += [text for on in ("params", "flops") if (text := comparisons_summary(analysis, on))]
    if text := frontier_text(analysis):
        lines.append(text)
    if text := worker_time_text(analysis):
        lines.append(text)
    if analysis.against is not None:
        lines.append(against_text(analysis.against))
    if analysis.incomplete:
        lines.append(f"{len(analysis.incomplete)} of {analysis.n_cells} cells incomplete "
                     "(queued, running or failed seeds)")
    return lines
