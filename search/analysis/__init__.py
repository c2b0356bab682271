"""Statistics over stored trial records: cells with confidence intervals, effects, fits,
comparisons, convergence and a training-compute frontier.

Reads only :class:`storage.TrialRecord` values, so it works on any machine that can open
the storage, and on a study that is still running (incomplete cells are reported as such).
The generic statistics live in :mod:`search.stats`; this package decides what is a unit.

The seed is the unit of replication for effects: a grid trains every cell with the same
seeds, so each seed yields one estimate of an effect (a slope, an interaction, a
CNN-minus-dense difference) and the interval is a Student-t interval over those per-seed
estimates. This pairs cells that share a seed's data order and initialisation stream, and
with few seeds it is honestly wide (2 seeds give 1 degree of freedom). For scaling laws
the cell is the unit: the law is fitted to cell means and its exponent's interval comes
from resampling whole cells (and seeds within them). Nothing is pooled over a swept
training setting (e.g. two learning rates): every estimate is made within one setting.

The rooms, in the order the data flows: ``runs`` (how each run ended), ``cells`` (seeds
grouped into cells, cells grouped by settings), ``effects`` (knob effects, depth steps,
interactions), ``fits`` (scaling laws), ``compare`` (CNN vs dense), ``compute`` (curves,
frontier, and the worker time spent against the best validation), ``estimates`` (every
estimate without the premature stops) and ``result`` (:class:`Analysis` and
:func:`analyze`); ``against`` sets a study's cells against the same cells and seeds of
another (e.g. a schedule twice as long); ``classes`` gives a cell's per-class test accuracy
and confusion counts; ``allocation`` plans sequential seeds for a grid (:func:`plan_seeds`)
and ``sequential`` reads a sequential study's rule, plan and what it spent
(:func:`seed_plan`). Import from this package, not from the rooms.

What a family means is read from its declaration (:func:`spaces.declared`): its role
(studied families get effects and are compared with the baseline), its width and depth
axes, derived fields and the settings never pooled over. No room tests a family's name.
"""

from search.analysis.against import (
    Against,
    AgainstError,
    CellChange,
    Change,
    Shift,
    check_against,
)
from search.analysis.allocation import Allocation, Contrast, Rule, RuleError, plan_seeds
from search.analysis.cells import (
    FAMILY,
    NO_DATA,
    SIZES,
    CellStats,
    axes,
    axis_knob,
    best_cell,
    cell_size,
    cell_stats,
    families,
    group_except,
    incomplete_cells,
    per_studied,
    role,
    varying_settings,
)
from search.analysis.classes import ClassStats, class_stats
from search.analysis.compare import (
    MATCH_TOLERANCE,
    SIGNIFICANCE,
    Comparison,
    Crossover,
    compare_cnn_dense,
    crossovers,
    unmatched_dense,
)
from search.analysis.compute import (
    TRAIN_FLOPS_FACTOR,
    ComputeCurve,
    FrontierPoint,
    SpentPoint,
    best_at,
    compute_curves,
    compute_frontier,
    spent_curve,
    worker_seconds,
)
from search.analysis.effects import (
    DepthStep,
    Effect,
    Interaction,
    depth_effects,
    depth_steps,
    knob_effects,
    size_effects,
    width_depth_interactions,
    width_effects,
)
from search.analysis.estimates import (
    Sensitivity,
    effect_name,
    interaction_name,
    sensitivity,
)
from search.analysis.fits import ScalingFit, fit_cells, scaling_fits
from search.analysis.result import Analysis, analyze
from search.analysis.runs import (
    PREMATURE_RULE,
    SCHEDULE_RULE,
    SCHEDULE_TAIL,
    Convergence,
    PrematureStop,
    convergence,
    epoch_limit,
    premature_stops,
    ran_full,
    schedule_limited,
)
from search.analysis.sequential import STALLED, SeedPlan, rule_of, seed_plan, study_rule
from search.stats import Interval, mean_ci

__all__ = [
    "FAMILY", "MATCH_TOLERANCE", "NO_DATA", "PREMATURE_RULE", "SCHEDULE_RULE", "SCHEDULE_TAIL",
    "SIGNIFICANCE", "SIZES", "STALLED", "TRAIN_FLOPS_FACTOR", "Against", "AgainstError",
    "Allocation", "Analysis", "CellChange", "CellStats", "Change", "ClassStats", "Comparison",
    "ComputeCurve", "Contrast", "Convergence", "Crossover", "DepthStep", "Effect", "FrontierPoint",
    "Interaction", "Interval", "PrematureStop", "Rule", "RuleError", "ScalingFit", "SeedPlan",
    "Sensitivity", "Shift", "SpentPoint", "analyze", "axes", "axis_knob", "best_at", "best_cell",
    "cell_size", "cell_stats", "check_against", "class_stats", "compare_cnn_dense",
    "compute_curves", "compute_frontier", "convergence", "crossovers", "depth_effects",
    "depth_steps", "effect_name", "epoch_limit", "families", "fit_cells", "group_except",
    "incomplete_cells", "interaction_name", "knob_effects", "mean_ci", "per_studied", "plan_seeds",
    "premature_stops", "ran_full", "role", "rule_of", "scaling_fits", "schedule_limited",
    "seed_plan", "sensitivity", "size_effects", "spent_curve", "study_rule", "unmatched_dense",
    "varying_settings", "width_depth_interactions", "width_effects", "worker_seconds",
]
