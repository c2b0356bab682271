"""The same cells and seeds trained another way (e.g. a schedule twice as long: the schedule
check of docs/results.md): how each shared cell changes, paired by seed, and how every
conclusion the shared cells allow moves, made from exactly those cells and seeds under both
trainings.

A conclusion is an estimate (an effect, depth step or interaction, as :func:`analyze` makes
them) or the difference between the base's best shared cell (by validation) and another.
Each cell's change and each conclusion's change is a paired t-test over the shared seeds,
Holm-adjusted over all of them: *changed* means that test rejects at 5 %. Two descriptive
flags go beside it: *outside* (the value here lies outside the base's 95 % interval) and
*zero_crossed* (whether the interval excludes 0 differs between the studies); neither is a
test, and with few seeds either can flip on a small shift."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from search.analysis.cells import CellStats, best_cell, cell_stats, settings_key
from search.analysis.compare import SIGNIFICANCE
from search.analysis.estimates import Named, estimates_of, named_estimates
from search.stats import Interval, holm, mean_ci, paired_t
from storage import TrialRecord


class AgainstError(ValueError):
    """The two studies cannot be set against each other (one line for the user)."""


@dataclass(frozen=True)
class Change:
    """A value paired by seed in both studies: ``change`` is here minus there, ``p`` its
    paired t-test (NaN: fewer than 2 seeds, or no spread), ``p_holm`` adjusted over every
    cell and conclusion of the comparison."""

    base: Interval
    check: Interval
    change: Interval
    p: float
    p_holm: float = math.nan

    @property
    def changed(self) -> bool:
        return self.p_holm < SIGNIFICANCE

    @property
    def outside(self) -> bool:
        """The value here lies outside the base's interval (descriptive; never without
        an interval or a value)."""
        return (not math.isnan(self.base.low) and not math.isnan(self.check.mean)
                and not self.base.low <= self.check.mean <= self.base.high)

    @property
    def zero_crossed(self) -> bool:
        """Whether the interval excludes 0 (and on which side) differs between the studies."""
        return _side(self.base) != _side(self.check)


def _side(interval: Interval) -> int:
    """+1 / -1: the interval lies above / below 0; 0: it holds 0, or there is none."""
    if math.isnan(interval.low):
        return 0
    return 1 if interval.low > 0 else -1 if interval.high < 0 else 0


@dataclass(frozen=True)
class CellChange:
    """One shared cell over its shared seeds: its test accuracy (``test``) and validation
    accuracy (``val``) in both studies, and how its runs ended there (median epochs run,
    schedule-limited runs; NaN / None where not recorded)."""

    cell: str
    seeds: tuple[int, ...]
    test: Change
    val: Change
    base_epochs: float
    check_epochs: float
    base_limited: int | None
    check_limited: int | None


@dataclass(frozen=True)
class Shift:
    """One conclusion in both studies: ``estimate`` names it (e.g. ``depth step 1->2``, or
    ``A - B`` for two cells), ``at`` as the estimate's own."""

    estimate: str
    at: dict[str, Any]
    pooled: bool
    value: Change
    family: str = ""


@dataclass(frozen=True)
class Against:
    """A study's cells against the same cells and seeds of the ``study`` it checks.

    ``training`` lists the training settings that differ, as (setting, there, here);
    ``unshared`` the checked study's cells the base lacks or shares no seed of; ``unmatched``
    the base's conclusions with no counterpart here (e.g. when the cells here differ in a
    training setting among themselves); ``best`` the best shared cell by mean validation
    accuracy, there and here."""

    study: str
    cells: tuple[CellChange, ...]
    shifts: tuple[Shift, ...]
    training: tuple[tuple[str, str, str], ...]
    unshared: tuple[str, ...]
    unmatched: tuple[str, ...]
    best: tuple[str, str]

    def changed(self) -> list[Shift]:
        return [s for s in self.shifts if s.value.changed]

    def tests(self) -> int:
        """How many paired tests the Holm adjustment ran over."""
        return sum(not math.isnan(c.p) for c in self.changes())

    def changes(self) -> list[Change]:
        return [*(c.test for c in self.cells), *(s.value for s in self.shifts)]

    def to_dict(self) -> dict[str, Any]:
        def change(c: Change) -> dict[str, Any]:
            return asdict(c) | {"changed": c.changed, "outside": c.outside,
                                "zero_crossed": c.zero_crossed}
        return {
            "study": self.study,
            "what": "this study's cells against the same cells and seeds of the base study: "
                    "each cell's change (here minus there, paired by seed), and every "
                    "estimate, and the base's best shared cell minus each other, from exactly "
                    "the shared (cell, seed) units on both sides; changed: the paired t-test "
                    f"of the change, Holm-adjusted over all {self.tests()} tests, rejects at "
                    "5 %; outside (descriptive): the value here lies outside the base's 95 % "
                    "interval; zero_crossed (descriptive): whether the interval excludes 0 "
                    "differs between the studies",
            "training_differences": [{"setting": k, "there": a, "here": b}
                                     for k, a, b in self.training],
            "cells": [asdict(c) | {"test": change(c.test), "val": change(c.val)}
                      for c in self.cells],
            "estimates": [asdict(s) | {"value": change(s.value)} for s in self.shifts],
            "unshared_cells": list(self.unshared),
            "unmatched_estimates": list(self.unmatched),
            "best_shared_cell": {"base": self.best[0], "here": self.best[1]}}


def _change(base: dict[int, float], check: dict[int, float]) -> Change:
    seeds = sorted(base.keys() & check.keys())
    there, here = [base[s] for s in seeds], [check[s] for s in seeds]
    diff, _, p = paired_t(here, there)
    return Change(mean_ci(there), mean_ci(here), diff, p)


def _by_seed(records: Iterable[TrialRecord], field: str) -> dict[int, float]:
    return {r.seed: getattr(r, field) for r in records if r.seed is not None}


def _differences(cells: dict[str, CellStats], best: str) -> dict[str, Named]:
    """``best - B`` for every other cell B sharing a seed with it, paired by seed."""
    out = {}
    for other in cells:
        x, y = cells[best].by_seed, cells[other].by_seed
        per_seed = {s: x[s] - y[s] for s in sorted(x.keys() & y.keys())}
        if other != best and per_seed:
            name = f"{best} - {other}"
            out[name] = Named(name, {}, False, mean_ci(list(per_seed.values())), per_seed, "")
    return out


def _conclusions(cells: dict[str, CellStats], best: str) -> dict[str, Named]:
    """Every estimate the cells allow, but a pooled one that pools a single group (the
    unpooled estimate beside it, under a second name), and the best cell's differences."""
    found = named_estimates(*estimates_of(list(cells.values())))

    def groups(pooled: Named) -> int:
        return sum(not x.pooled and x.name == pooled.name
                   and all(x.at.get(k) == v for k, v in pooled.at.items())
                   for x in found.values())
    return {key: x for key, x in found.items()
            if not (x.pooled and groups(x) == 1)} | _differences(cells, best)


def _training(was: dict[str, CellStats], now: dict[str, CellStats]
              ) -> tuple[tuple[str, str, str], ...]:
    """The training settings whose values differ between the two sides' shared cells."""
    def values(cells: dict[str, CellStats], key: str) -> str:
        return ", ".join(sorted({settings_key((c.train or {}).get(key))
                                 for c in cells.values()}))
    keys = sorted({k for c in (*was.values(), *now.values()) for k in (c.train or {})})
    return tuple((k, values(was, k), values(now, k)) for k in keys
                 if values(was, k) != values(now, k))


def _one_per_unit(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """The complete trials, one per (cell, seed): the first by trial number (a repeated
    seed would otherwise count twice in a mean and once in a pairing)."""
    first: dict[tuple[str, int], TrialRecord] = {}
    for r in sorted((r for r in records if r.complete and r.cell is not None
                     and r.seed is not None), key=lambda r: r.number):
        first.setdefault((r.cell, r.seed), r)  # type: ignore[arg-type]
    return list(first.values())


def check_against(study: str, base: Iterable[TrialRecord], check: Iterable[TrialRecord]
                  ) -> Against:
    """``check``'s cells against the same cells and seeds of ``base`` (the records of the
    study named ``study``). Only (cell, seed) units complete in both count, one trial each:
    each side's estimates are made from those alone, so a difference is the training's,
    not the grid's. Raises :class:`AgainstError` when no unit is shared or a shared cell
    builds another net there."""
    base, check = _one_per_unit(base), _one_per_unit(check)
    units = {(r.cell, r.seed) for r in base} & {(r.cell, r.seed) for r in check}
    if not units:
        raise AgainstError(f"no (cell, seed) unit is complete in both this study and "
                           f"{study!r}: nothing to set against")
    was = [r for r in base if (r.cell, r.seed) in units]
    now = [r for r in check if (r.cell, r.seed) in units]
    archs = {r.cell: r.arch for r in was}
    if odd := sorted({r.cell for r in now if r.arch != archs[r.cell]}):  # type: ignore[index]
        raise AgainstError(f"cell {odd[0]} builds another net in {study!r} (its arch "
                           "differs): the two studies' cells are not the same")
    there, here = ({c.cell: c for c in cell_stats(rs)} for rs in (was, now))
    best = (best_cell(list(there.values())).cell, best_cell(list(here.values())).cell)
    order = sorted(here, key=lambda cell: -there[cell].test.mean)

    def cell_change(cell: str) -> CellChange:
        a = [r for r in was if r.cell == cell]
        b = [r for r in now if r.cell == cell]
        ended = [(math.nan, None) if c.convergence is None
                 else (c.convergence.median_epochs, c.convergence.schedule_limited)
                 for c in (there[cell], here[cell])]
        return CellChange(cell, here[cell].seeds,
                          _change(_by_seed(a, "test_accuracy"), _by_seed(b, "test_accuracy")),
                          _change(_by_seed(a, "val_accuracy"), _by_seed(b, "val_accuracy")),
                          ended[0][0], ended[1][0], ended[0][1], ended[1][1])

    before, after = _conclusions(there, best[0]), _conclusions(here, best[0])
    cells = [cell_change(cell) for cell in order]
    shifts = [Shift(x.name, x.at, x.pooled,
                    _change(before[key].per_seed, x.per_seed), x.family)
              for key, x in after.items() if key in before]
    adjusted = iter(holm([c.test.p for c in cells] + [s.value.p for s in shifts]))
    cells = [replace(c, test=replace(c.test, p_holm=next(adjusted))) for c in cells]
    shifts = [replace(s, value=replace(s.value, p_holm=next(adjusted))) for s in shifts]
    return Against(
        study, tuple(cells), tuple(shifts), _training(there, here),
        unshared=tuple(c for c in dict.fromkeys(r.cell for r in check) if c not in here),
        unmatched=tuple(x.name for key, x in before.items() if key not in after),
        best=best)
