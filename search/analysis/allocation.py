"""Sequential seeds: which (cell, seed) units a grid should train next so that every open
comparison gets decided, and which comparisons are settled already.

A fixed number of seeds per cell overspends on cells whose ranking is clear after a few
seeds and underspends where a conclusion hangs on them. Here every cell starts with the
seeds of the rule's first look and a comparison asks for more only while it is open.

**The comparisons** are the ones the analysis reports: each step between neighbouring
values of a studied family's width and of its depth (everything else held, as
:func:`search.analysis.group_except` groups them; larger minus smaller), each CNN against
its matched dense cell (:func:`search.analysis.compare_cnn_dense`: the closest CNN by
parameters and by FLOPs, within the tolerance; CNN minus dense), all on test accuracy, and
the best cell against the runner-up by mean validation accuracy, on validation accuracy
(validation selects; the test set never does).

**The rule.** A comparison of cells A and B is a paired difference: seed ``s`` of A minus
seed ``s`` of B, for the seeds 0, 1, 2, ... in that order (the grid's seeds), as the
analysis pairs cells that share a seed's data order and initialisation. It is looked at
when the two cells have the seed counts of ``Rule.looks`` in common (default 3, 4, 5 and 6;
the last is the per-cell cap). At the look with ``n`` seeds it takes the Student-t
interval of the mean difference (``n - 1`` degrees of freedom) at confidence ``1 - a``, one
``a`` for every look (:meth:`Rule.per_look`, below). The first look whose interval excludes
0 decides the sign (:data:`GREATER`: A > B, :data:`LESS`: A < B); the first whose interval
lies strictly inside ``(-margin, margin)`` decides :data:`EQUIVALENT` (so a null comparison
can stop too; ``margin`` 0 never decides it). A look before the cap that decides nothing
may stop the comparison as :data:`FUTILE`: when the ``futility`` interval (a t-interval at
35 % by default) lies inside the half-width that the cap's interval would have at the
current spread, and that half-width is at least the margin, the cap's interval would most
likely still contain 0 and not fit the margin, so more seeds would be spent on nothing.
Undecided at the cap, a comparison is :data:`CAPPED`; before the first look,
:data:`PENDING`; otherwise :data:`OPEN`, and it asks for the seeds up to its next look in
*both* cells: a paired difference gains a replicate only when both cells have that seed,
so seeding one cell (the one with the larger standard error, say) would buy nothing for
this comparison. A comparison's state is a function of its own seed sequence only: seeds
that other comparisons added to its cells after it stopped change nothing.

**Why the error rate holds.** A decision is wrong (a sign where the true difference is 0 or
of the other sign; equivalence where it lies outside the margin) only if the interval of
the look that made it misses the true difference, so the rate is at most the chance that
*some* look's interval misses it, counting every look up to the cap as though nothing
stopped. Each seed's difference is a fresh draw and the seed order is fixed in advance,
so the look with ``n`` seeds always sees the same first ``n`` differences however the
allocation got there (other comparisons sharing a cell may have added its seeds). For
independent normal differences, every look's (mean - true difference) / standard error
is a t-statistic of the centred differences, whose joint law over the looks depends on
neither the true difference nor the spread: the chance that some look misses is one
number per set of looks and ``a``. :data:`CALIBRATED` holds the ``a`` that makes it
``alpha``, measured once offline (no simulation at plan time); for looks or an ``alpha``
it lacks, or with ``bonferroni``, ``a = alpha / len(looks)`` and the union bound proves the
rate without a table, at the price of wider intervals (looks share seeds, so the union
bound counts the same misses several times over). Misses are as likely on either side and
no simulated sequence missed on both, so a wrong sign has at most about ``alpha / 2``. A
futility stop decides nothing and only removes later looks, so it cannot raise the rate;
it costs power. This assumes per-seed differences independent and normal; the simulation
in ``tests/search/analysis/test_allocation.py`` measures the rate (also under heavy tails)
and the trainings (docs/method.md, "Sequential seeds"). It is per comparison: across the
comparisons of a study, Holm in the report still applies. The best cell and its runner-up
are chosen by the data, so that pair's rate holds for the pair only, not for the choice.

Deterministic given the records (cells, comparisons and units sorted), so concurrent
workers that read the same study ask for the same units and the grid's claims dedupe them.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from search.analysis.cells import CellStats, cell_stats, families, group_except
from search.analysis.compare import MATCH_TOLERANCE, compare_cnn_dense
from search.stats import Interval
from spaces import STUDIED
from storage import TrialRecord

GREATER, LESS, EQUIVALENT = "greater", "less", "equivalent"  # decided
OPEN, PENDING = "open", "pending"  # still asking for seeds
CAPPED, FUTILE = "capped", "futile"  # stopped undecided
DECIDED = frozenset({GREATER, LESS, EQUIVALENT})
_STATE = f"<U{len(EQUIVALENT)}"  # decide's states as fixed-width text: fast to compare
TEST, VAL = "test_accuracy", "val_accuracy"  # the metrics compared (TrialRecord fields)
BEST = "best vs runner-up"

# (looks, alpha) -> the two-sided miss rate ``a`` of every look's interval at which, for
# independent normal differences, some look's interval misses the true difference with
# probability alpha: the alpha-quantile of the smallest two-sided t-test p-value over the
# looks in 10**7 simulated sequences (seed 0), rounded down to 3 digits. Printed by
#   .venv/bin/python -c "from tests.search.analysis.test_allocation import calibrate;
#   print(calibrate(range(3, 7), 0.05, 10**7))"
# as 0.018712 (3..8: 0.014347, 3..10: 0.012002, 2..6: 0.014075; the union bound's
# alpha / len(looks) would be 0.0125, 0.0083, 0.00625, 0.01), and checked against fresh
# draws by that test file.
CALIBRATED: dict[tuple[tuple[int, ...], float], float] = {
    ((3, 4, 5, 6), 0.05): 0.0187,
    ((3, 4, 5, 6, 7, 8), 0.05): 0.0143,
    ((3, 4, 5, 6, 7, 8, 9, 10), 0.05): 0.0120,
    ((2, 3, 4, 5, 6), 0.05): 0.0140,
}


class RuleError(ValueError):
    """A sequential-seeds rule that cannot work (e.g. looks that do not increase)."""


def _t(level: float, seeds: int) -> np.ndarray:
    """Student-t quantile ``level`` for each number of seeds 0..``seeds`` (n - 1 degrees of
    freedom; NaN below 2 seeds)."""
    return np.asarray(_quantiles(level, seeds))


@functools.cache  # a plan asks for the same few rows once per comparison
def _quantiles(level: float, seeds: int) -> tuple[float, ...]:
    from scipy import stats

    dof = np.arange(seeds + 1) - 1.0
    dof[dof < 1] = np.nan
    return tuple(stats.t.ppf(level, dof).tolist())


@dataclass(frozen=True)
class Rule:
    """When a comparison is decided: the common seed counts at which it is looked at
    (``looks``, increasing: the first is every cell's minimum, the last the per-cell cap),
    the error rate ``alpha`` per comparison, the equivalence ``margin`` (accuracy as a
    fraction: 0.005 is 0.5 pp), the confidence of the ``futility`` interval (None: no
    futility stop) and ``bonferroni`` (split alpha over the looks by the union bound even
    where :data:`CALIBRATED` has a level). Defaults: looks at 3, 4, 5 and 6 seeds, 5 %,
    0.5 pp, 35 %, calibrated."""

    looks: tuple[int, ...] = (3, 4, 5, 6)
    alpha: float = 0.05
    margin: float = 0.005
    futility: float | None = 0.35
    bonferroni: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.looks, tuple | list | range) or not all(
                isinstance(n, int) and not isinstance(n, bool) for n in self.looks):
            raise RuleError(f"looks must be whole numbers of seeds, not {self.looks!r}")
        object.__setattr__(self, "looks", tuple(self.looks))  # a range or list reads the same
        if not self.looks:
            raise RuleError("looks must name at least one seed count")
        if self.looks[0] < 2:
            raise RuleError(f"the first look needs at least 2 seeds (an interval needs 2), "
                            f"not {self.looks[0]}")
        if any(b <= a for a, b in itertools.pairwise(self.looks)):
            raise RuleError(f"looks must increase, not {self.looks}")
        if self.futility is False:  # TOML has no null: `futility = false` is "no stop"
            object.__setattr__(self, "futility", None)
        for name in ("alpha", "margin", "futility"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | None):
                raise RuleError(f"{name} must be a number, not {value!r}")
        if not 0 < self.alpha < 1:
            raise RuleError(f"alpha must lie between 0 and 1, not {self.alpha!r}")
        if not self.margin >= 0 or not math.isfinite(self.margin):
            raise RuleError(f"margin must be a finite accuracy >= 0, not {self.margin!r}")
        if self.futility is not None and not 0 < self.futility < 1:
            raise RuleError(f"futility must be a confidence between 0 and 1 (or None, "
                            f"false in a preset), not {self.futility!r}")
        if not isinstance(self.bonferroni, bool):
            raise RuleError(f"bonferroni must be True or False, not {self.bonferroni!r}")

    @property
    def minimum(self) -> int:
        """The seeds every cell starts with: the first look's."""
        return self.looks[0]

    @property
    def cap(self) -> int:
        """The most seeds a comparison asks for: the last look's."""
        return self.looks[-1]

    def per_look(self) -> float:
        """``a``, the two-sided miss rate of every look's interval: calibrated (some look
        misses with probability ``alpha``) where :data:`CALIBRATED` has these looks and
        alpha, else ``alpha / len(looks)`` (the union bound)."""
        calibrated = None if self.bonferroni else CALIBRATED.get((self.looks, self.alpha))
        return calibrated or self.alpha / len(self.looks)

    def quantiles(self) -> np.ndarray:
        """The t quantile of a look's interval (confidence ``1 - per_look()``), indexed by
        seeds 0..cap."""
        return _t(1 - self.per_look() / 2, self.cap)

    def fixed_seeds(self) -> int:
        """Seeds per cell of the fixed design whose one interval, at confidence
        ``1 - alpha``, is no wider than this rule's narrowest (at the cap): the fixed
        design that reaches the same intervals at the same error rate."""
        from scipy import stats

        narrowest = self.quantiles()[self.cap] / math.sqrt(self.cap)
        n = 2
        while stats.t.ppf(1 - self.alpha / 2, n - 1) / math.sqrt(n) > narrowest:
            n += 1
        return n


def _running(d: np.ndarray, looks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each row's first ``n`` values for each ``n`` in
    ``looks``, in one pass (Welford's update: stable for tiny spreads, exactly 0 for equal
    values)."""
    mean, m2, means, sds = np.zeros(len(d)), np.zeros(len(d)), [], []
    for k in range(1, looks[-1] + 1):
        step = d[:, k - 1] - mean
        mean = mean + step / k
        m2 = m2 + step * (d[:, k - 1] - mean)
        if k in looks:
            means.append(mean)
            sds.append(np.sqrt(m2 / (k - 1)))
    return np.stack(means, axis=1), np.stack(sds, axis=1)


def decide(differences: np.ndarray, rule: Rule) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray, np.ndarray]:
    """The rule applied to rows of paired differences in seed order (all rows as long;
    seeds past the cap are not looked at): per row its state, the seeds of the look that
    stopped it (else of the latest look; before the first look, the seeds there are) and
    that look's mean and half-width (before the first look: the mean so far, NaN).
    Vectorised, so the simulation runs the very code the planner runs."""
    d = np.asarray(differences, dtype=float)[:, :rule.cap]
    rows, seen = d.shape
    n = np.asarray([k for k in rule.looks if k <= seen])
    if not n.size:
        mean = d.mean(axis=1) if seen else np.full(rows, math.nan)
        return (np.full(rows, PENDING, dtype=_STATE), np.full(rows, seen), mean,
                np.full(rows, math.nan))
    mean, sd = _running(d, n)
    q = rule.quantiles()
    half = q[n] * sd / np.sqrt(n)
    low, high = mean - half, mean + half
    sign = (low > 0) | (high < 0)
    decided = sign | ((low > -rule.margin) & (high < rule.margin))
    stop = decided.copy()
    if rule.futility is not None:
        # The half-width the cap's interval would have at this spread, and how far from 0
        # the difference plausibly lies: when that is inside it and the margin cannot be
        # reached either, more seeds are unlikely to decide anything.
        reach = q[rule.cap] * sd / math.sqrt(rule.cap)
        far = np.abs(mean) + _t((1 + rule.futility) / 2, rule.cap)[n] * sd / np.sqrt(n)
        stop |= (far < reach) & (reach >= rule.margin) & (n < rule.cap)
    look = np.where(stop.any(axis=1), stop.argmax(axis=1), n.size - 1)
    at = np.arange(rows)
    m, h, made = mean[at, look], half[at, look], decided[at, look]
    states = np.full(rows, CAPPED if n[-1] == rule.cap else OPEN, dtype=_STATE)
    states[stop[at, look] & ~made] = FUTILE
    states[made] = np.where(sign[at, look][made], np.where(m[made] > 0, GREATER, LESS),
                            EQUIVALENT)
    return states, n[look], m, h


@dataclass(frozen=True)
class Contrast:
    """One comparison: ``a`` minus ``b`` (cell keys) on ``metric``, what it is (``kind``,
    e.g. ``width step``), its state, the common seeds of the look that stopped it (decided or
    futile; else of the latest look) and the difference there, at the rule's confidence
    per look."""

    kind: str
    a: str
    b: str
    metric: str
    state: str
    seeds: int
    difference: Interval

    @property
    def decided(self) -> bool:
        return self.state in DECIDED


@dataclass(frozen=True)
class Allocation:
    """Where every comparison stands and the (cell, seed) units to train now, lowest seed
    first; none left means every comparison is decided, capped or futile."""

    rule: Rule
    contrasts: tuple[Contrast, ...]
    units: tuple[tuple[str, int], ...]

    @property
    def open(self) -> list[Contrast]:
        return [c for c in self.contrasts if c.state in (OPEN, PENDING)]


def _steps(cells: Sequence[CellStats]) -> list[tuple[str, str, str]]:
    """(kind, larger, smaller) for neighbouring values of each studied family's width and
    depth, every other setting held."""
    out = []
    for family, mine in families(cells, STUDIED):
        for axis in (family.width, family.depth):
            if axis is None:
                continue
            on = [c for c in mine if axis.knob in c.arch]
            for group in group_except(on, {axis.knob, *family.derived}):
                ordered = sorted(group, key=lambda c: c.arch[axis.knob])
                out += [(f"{axis.knob} step", hi.cell, lo.cell)
                        for lo, hi in itertools.pairwise(ordered)]
    return out


def _pairs(cells: Sequence[CellStats], tolerance: float) -> list[tuple[str, str, str, str]]:
    """(kind, a, b, metric) of every comparison, each once."""
    found = [(kind, a, b, TEST) for kind, a, b in _steps(cells)]
    found += [("cnn vs dense", c.cnn, c.dense, TEST)
              for c in compare_cnn_dense(cells, tolerance)]
    ranked = sorted(cells, key=lambda c: (-c.val.mean, c.param_count, c.cell))
    if len(ranked) >= 2:
        found.append((BEST, ranked[0].cell, ranked[1].cell, VAL))
    return sorted(set(found))


def _prefix(values: dict[int, float], limit: int) -> list[float]:
    """The values of seeds 0, 1, 2, ... up to the first missing one (at most ``limit``)."""
    out = []
    while len(out) < limit and len(out) in values:
        out.append(values[len(out)])
    return out


def plan_seeds(records: Iterable[TrialRecord], rule: Rule | None = None,
               cells: Iterable[str] = (), tolerance: float = MATCH_TOLERANCE) -> Allocation:
    """Each comparison's state under ``rule`` (default :class:`Rule`) from the complete
    trials among ``records``, and the units to train now: the first ``minimum`` seeds of
    every cell (those of the records and of ``cells``, the grid's cell keys) and, for each
    open comparison, the seeds up to its next look in both its cells. Units are left out once
    complete, not once queued or running: the grid's claims dedupe those."""
    rule = rule or Rule()
    records = [r for r in records if r.complete and r.cell is not None and r.seed is not None
               and r.duplicate_of is None]
    values: dict[str, dict[str, dict[int, float]]] = {TEST: {}, VAL: {}}
    for r in sorted(records, key=lambda r: -r.number):  # the first trial of a unit wins
        for metric, by_cell in values.items():
            value = getattr(r, metric)
            if value is not None:
                by_cell.setdefault(r.cell, {})[r.seed] = value  # type: ignore[index]
    stats = cell_stats(records)
    done = {(r.cell, r.seed) for r in records}
    wanted = {(cell, seed) for cell in {*cells, *(c.cell for c in stats)}
              for seed in range(rule.minimum)}
    contrasts = []
    for kind, a, b, metric in _pairs(stats, tolerance):
        va, vb = values[metric].get(a, {}), values[metric].get(b, {})
        n = min(len(_prefix(va, rule.cap)), len(_prefix(vb, rule.cap)))
        diffs = np.asarray([[va[s] - vb[s] for s in range(n)]]).reshape(1, n)
        state, seeds, mean, half = (x[0] for x in decide(diffs, rule))
        contrasts.append(Contrast(kind, a, b, metric, str(state), int(seeds), Interval(
            float(mean), float(mean - half), float(mean + half), int(seeds))))
        if state == OPEN:
            upto = next(k for k in rule.looks if k > n)
            wanted |= {(cell, seed) for cell in (a, b) for seed in range(n, upto)}
    units = sorted(wanted - done, key=lambda u: (u[1], u[0]))
    return Allocation(rule, tuple(contrasts), tuple(units))
