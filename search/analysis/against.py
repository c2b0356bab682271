"""The same cells and seeds trained another way (e.g. a schedule twice as long: the schedule
check of docs/results.md): how each shared cell changes, paired by seed, and how every
conclusion the shared cells allow moves, made from exactly those cells and seeds under both
trainings.

A conclusion is an estimate (an effect, depth step or interaction, as :func:`analyze` makes
them) or the difference between the base's best shared cell (by validation) and another. It
*moved* when the checked study's value falls outside the base study's interval, and its
*verdict changed* when its sign is settled (the interval excludes 0) in one study and not in
the other, or settled both ways."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from search.analysis.cells import CellStats, best_cell, cell_stats
from search.analysis.estimates import Named, estimates_of, named_estimates
from search.stats import Interval, mean_ci
from storage import TrialRecord


@dataclass(frozen=True)
class CellChange:
    """One shared cell over its shared seeds: its test accuracy in the base study and in the
    checked one, the change (checked minus base, paired by seed), and how its runs ended
    there (median epochs run, schedule-limited runs; None where not recorded)."""

    cell: str
    seeds: tuple[int, ...]
    base: Interval
    check: Interval
    change: Interval
    base_epochs: float
    check_epochs: float
    base_limited: int | None
    check_limited: int | None


def _verdict(interval: Interval) -> int:
    """+1 / -1: the interval lies above / below 0; 0: it holds 0, or there is none."""
    if math.isnan(interval.low):
        return 0
    return 1 if interval.low > 0 else -1 if interval.high < 0 else 0


@dataclass(frozen=True)
class Shift:
    """One conclusion under both trainings: ``estimate`` names it (e.g. ``depth step
    1->2``, or ``A - B`` for two cells), ``at`` as the estimate's own; ``change`` is the
    checked minus the base value, paired by seed."""

    estimate: str
    at: dict[str, Any]
    pooled: bool
    base: Interval
    check: Interval
    change: Interval
    family: str = ""

    @property
    def moved(self) -> bool:
        """The checked value lies outside the base interval (never without one)."""
        return (not math.isnan(self.base.low)
                and not self.base.low <= self.check.mean <= self.base.high)

    @property
    def verdict_changed(self) -> bool:
        return _verdict(self.base) != _verdict(self.check)


@dataclass(frozen=True)
class Against:
    """A study's cells against the same cells and seeds of the ``study`` it checks.

    ``unshared`` names the checked study's cells the base lacks (or shares no seed with);
    ``best`` the best shared cell by mean validation accuracy, in the base and here."""

    study: str
    cells: tuple[CellChange, ...]
    shifts: tuple[Shift, ...]
    unshared: tuple[str, ...]
    best: tuple[str, str] | None

    def moved(self) -> list[Shift]:
        return [s for s in self.shifts if s.moved or s.verdict_changed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "what": "this study's cells against the same cells and seeds of the base study: "
                    "each cell's change (here minus base, paired by seed), and every "
                    "estimate and cell difference the shared cells allow, from exactly those "
                    "cells and seeds in both; moved: the value here lies outside the base "
                    "interval; verdict_changed: the sign is settled (the interval excludes 0) "
                    "in one study and not the other, or both ways",
            "cells": [asdict(c) for c in self.cells],
            "estimates": [asdict(s) | {"moved": s.moved, "verdict_changed": s.verdict_changed}
                          for s in self.shifts],
            "unshared_cells": list(self.unshared),
            "best_shared_cell": (None if self.best is None
                                 else {"base": self.best[0], "here": self.best[1]})}


def _change(base: dict[int, float], check: dict[int, float]) -> Interval:
    return mean_ci([check[s] - base[s] for s in sorted(base.keys() & check.keys())])


def _shift(name: str, base: Named, check: Named) -> Shift:
    return Shift(name, check.at, check.pooled, base.estimate, check.estimate,
                 _change(base.per_seed, check.per_seed), check.family)


def _differences(cells: dict[str, CellStats], best: str) -> dict[str, Named]:
    """``best - B`` for every other cell B, paired by seed: is the best cell still ahead?"""
    out = {}
    for a, b in ((best, other) for other in cells if other != best):
        x, y = cells[a].by_seed, cells[b].by_seed
        per_seed = {s: x[s] - y[s] for s in sorted(x.keys() & y.keys())}
        out[f"{a} - {b}"] = Named(f"{a} - {b}", {}, False, mean_ci(list(per_seed.values())),
                                  per_seed, "")
    return out


def _how_ended(cell: CellStats) -> tuple[float, int | None]:
    end = cell.convergence
    return (math.nan, None) if end is None else (end.median_epochs, end.schedule_limited)


def check_against(study: str, base: Iterable[TrialRecord], check: Iterable[TrialRecord]) -> Against:
    """``check``'s cells against the same cells and seeds of ``base`` (the records of the
    study named ``study``). Only (cell, seed) units complete in both count: each side's
    estimates are made from those alone, so a difference is the training's, not the grid's."""
    base, check = list(base), list(check)
    theirs = {c.cell: c for c in cell_stats(base)}
    seeds = {c.cell: set(c.seeds) & set(theirs[c.cell].seeds)
             for c in cell_stats(check) if c.cell in theirs}
    shared = {cell for cell, s in seeds.items() if s}

    def only_shared(records: list[TrialRecord]) -> dict[str, CellStats]:
        return {c.cell: c for c in cell_stats(r for r in records if r.cell in shared
                                              and r.seed in seeds[r.cell])}

    was, now = only_shared(base), only_shared(check)
    order = sorted(now, key=lambda cell: -was[cell].test.mean)

    def cell_change(cell: str) -> CellChange:
        (base_epochs, base_limited), (epochs, limited) = (_how_ended(was[cell]),
                                                          _how_ended(now[cell]))
        return CellChange(cell, now[cell].seeds, was[cell].test, now[cell].test,
                          _change(was[cell].by_seed, now[cell].by_seed), base_epochs, epochs,
                          base_limited, limited)

    cells = tuple(map(cell_change, order))
    best = ((best_cell(list(was.values())).cell, best_cell(list(now.values())).cell)
            if now else None)
    before = named_estimates(*estimates_of(list(was.values())))
    after = named_estimates(*estimates_of(list(now.values())))
    if best is not None:  # the base's best against each other cell, on both sides
        before |= _differences(was, best[0])
        after |= _differences(now, best[0])
    shifts = tuple(_shift(x.name, before[key], x) for key, x in after.items() if key in before)
    unshared = tuple(c.cell for c in cell_stats(check) if c.cell not in shared)
    return Against(study, cells, shifts, unshared, best)
