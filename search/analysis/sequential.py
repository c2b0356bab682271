"""A sequential grid's seeds as a study holds them: its rule (stored in the study's
identity), the units it asks for now and where each comparison stands, read from the
stored records through :func:`search.analysis.plan_seeds`.

The grid engine queues :attr:`SeedPlan.units`; the report shows the rest. Both call
:func:`seed_plan`, so what the grid trained and what the report says about why are one
computation. A unit whose trial failed for good (``TrialRecord.final_failure``: the same
seed would fail again) is never asked for again: a comparison that needs it stops undecided
as :data:`STALLED`, which, like a futility stop, decides nothing and so cannot raise the
error rate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from search.analysis.allocation import (
    CAPPED,
    DECIDED,
    EQUIVALENT,
    FUTILE,
    OPEN,
    PENDING,
    Allocation,
    Contrast,
    Rule,
    RuleError,
    plan_seeds,
)
from search.analysis.compare import MATCH_TOLERANCE
from storage import TrialRecord

KEY = "sequential"  # the study identity's key for the rule (absent: a fixed-seed study)
STALLED = "stalled"  # stopped undecided: the next seed of one of its cells failed for good
CellSeed = tuple[str, int]  # a unit: (cell key, seed)


def rule_of(table: Mapping[str, Any]) -> Rule:
    """The rule a preset's ``[sequential]`` table (or a study identity's) sets; its settings
    are :class:`Rule`'s fields, any not given at their defaults. A bad table is one
    :class:`RuleError` line."""
    if not isinstance(table, Mapping):
        raise RuleError(f"must be a table of rule settings (e.g. alpha = 0.05), not {table!r}")
    known = [f.name for f in fields(Rule)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise RuleError(f"unknown setting(s) {', '.join(map(str, unknown))} "
                        f"(known: {', '.join(known)})")
    return Rule(**table)


def study_rule(identity: Mapping[str, Any]) -> Rule | None:
    """The rule of a sequential study, None for a fixed-seed one."""
    table = identity.get(KEY)
    return None if table is None else rule_of(table)


@dataclass(frozen=True)
class SeedPlan:
    """Where a sequential grid stands. ``allocation`` is the planner's answer; ``contrasts``
    its comparisons with :data:`STALLED` for an open one whose next seed failed for good;
    ``units`` what to train now (the allocation's, less units failed for good); ``seeds``
    the complete seeds of every cell of the grid; ``failed`` the units failed for good."""

    allocation: Allocation
    contrasts: tuple[Contrast, ...]
    units: tuple[CellSeed, ...]
    seeds: Mapping[str, int]
    failed: tuple[CellSeed, ...]

    @property
    def rule(self) -> Rule:
        return self.allocation.rule

    @property
    def trainings(self) -> int:
        """Complete (cell, seed) units: the trainings the rule spent."""
        return sum(self.seeds.values())

    @property
    def fixed(self) -> int:
        """Trainings of the fixed design that gives every cell the cap's seeds."""
        return len(self.seeds) * self.rule.cap

    def count(self, *states: str) -> int:
        return sum(c.state in states for c in self.contrasts)

    def why(self, cell: str) -> list[Contrast]:
        """The comparisons that asked for the cell's last seed: those of its comparisons
        that looked at the most seeds, when that is more than the minimum (else none: the
        cell has the seeds every cell starts with)."""
        mine = [c for c in self.contrasts if cell in (c.a, c.b)]
        most = max((c.seeds for c in mine), default=0)
        return [c for c in mine if c.seeds == most] if most > self.rule.minimum else []

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``scaling.json``'s ``sequential`` block."""
        return {
            "rule": asdict(self.rule),
            "what": "every cell starts with the rule's first look's seeds; a comparison "
                    "(width or depth step, CNN vs matched dense, best vs runner-up) asks for "
                    "the seeds of its next look in both cells while it is open; `seeds` is "
                    "the common seeds of the look that stopped it (else the latest), "
                    "`difference` a minus b there at the rule's confidence per look; "
                    f"{STALLED}: open, but a seed it needs failed for good (docs/method.md, "
                    "Sequential seeds)",
            "trainings": self.trainings,
            "fixed_design": {"seeds_per_cell": self.rule.cap, "trainings": self.fixed},
            "seeds_per_cell": dict(self.seeds),
            "counts": {state: self.count(state) for state in
                       (*sorted(DECIDED), CAPPED, FUTILE, STALLED, OPEN, PENDING)},
            "contrasts": [asdict(c) for c in self.contrasts],
            "asks_for": [list(u) for u in self.units],
            "failed_for_good": [list(u) for u in self.failed],
        }

    def summary(self) -> str:
        """One line: what the rule spent and how the comparisons ended."""
        rest = [f"{n} {state}" for state in (FUTILE, STALLED) if (n := self.count(state))]
        if still := self.count(OPEN, PENDING):
            rest.append(f"{still} still open")
        return (f"sequential seeds: {self.trainings} trainings ({self.fixed} with "
                f"{self.rule.cap} seeds per cell); {self.count(*DECIDED)} of "
                f"{len(self.contrasts)} comparisons decided, {self.count(EQUIVALENT)} "
                f"equivalent, {self.count(CAPPED)} capped" + "".join(f", {r}" for r in rest))


def seed_plan(records: Iterable[TrialRecord], rule: Rule, cells: Iterable[str] = (),
              tolerance: float = MATCH_TOLERANCE) -> SeedPlan:
    """:func:`plan_seeds` on ``records`` for a grid of ``cells`` (besides the records'
    own), less the units that failed for good."""
    records = list(records)
    done = {(r.cell, r.seed) for r in records if r.complete and r.duplicate_of is None}
    failed = {(r.cell, r.seed) for r in records if r.final_failure} - done
    grid = {*cells, *(r.cell for r in records if r.cell is not None)}
    allocation = plan_seeds(records, rule, cells=sorted(grid), tolerance=tolerance)
    # Cells whose next seed failed for good: the planner still asks for it (it cannot
    # know), so a comparison of such a cell could never reach its next look.
    stuck = {cell for cell, seed in allocation.units if (cell, seed) in failed}
    contrasts = tuple(replace(c, state=STALLED) if c.state in (OPEN, PENDING)
                      and {c.a, c.b} & stuck else c for c in allocation.contrasts)
    per_cell = Counter(cell for cell, _ in done)
    seeds = {cell: per_cell[cell] for cell in sorted(grid)}
    return SeedPlan(allocation, contrasts, tuple(u for u in allocation.units if u not in failed),
                    seeds, tuple(sorted(failed, key=lambda u: (u[1], u[0]))))
