"""Cells: a cell's complete trials grouped over their seeds, with intervals, and the
grouping of cells by their settings that every estimate is made within."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import numpy as np

from search.analysis.runs import Convergence, convergence
from search.config import with_defaults
from search.receptive import receptive_field
from search.stats import Interval, mean_ci
from spaces import STUDIED, Axis, Family, declared
from storage import TrialRecord
from storage.records import DROPPED

NO_DATA = Interval(math.nan, math.nan, math.nan, 0)
SIZES = ("params", "flops")
# The arch field that names the family: an estimate's ``at`` holds it when the study has
# more than one studied family, so no estimate is read as another family's.
FAMILY = "family"


@dataclass(frozen=True)
class CellStats:
    """A cell's results over its seeds."""

    family: str
    cell: str
    arch: dict[str, Any]
    seeds: tuple[int, ...]
    param_count: int
    flops: int
    test: Interval
    val: Interval
    test_per_seed: tuple[float, ...]
    train_seconds: float
    trials: tuple[int, ...]
    train: dict[str, Any] | None = None  # training settings, shared by the cell's trials
    train_acc: Interval = NO_DATA  # training accuracy at the best epoch
    convergence: Convergence | None = None
    # Pixels one position of the last map sees (search.receptive); None without convs.
    receptive_field: int | None = None

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def by_seed(self) -> dict[int, float]:
        """Test accuracy keyed by seed, for pairing cells seed by seed."""
        return dict(zip(self.seeds, self.test_per_seed, strict=True))

    @property
    def gap(self) -> float:
        """Generalisation gap: mean train minus mean validation accuracy (NaN if unknown)."""
        return self.train_acc.mean - self.val.mean

    @property
    def settings(self) -> dict[str, Any]:
        """Arch and training values together (their names never collide), for grouping."""
        return {**self.arch, **(self.train or {})}


def cell_stats(records: Iterable[TrialRecord]) -> list[CellStats]:
    """Group complete trials by cell, in first-seen order."""
    groups: dict[str, list[TrialRecord]] = {}
    for r in records:
        if r.complete and r.cell is not None:
            groups.setdefault(r.cell, []).append(r)
    out = []
    for cell, rs in groups.items():
        rs = sorted(rs, key=lambda r: (r.seed if r.seed is not None else -1, r.number))
        first = rs[0]
        out.append(CellStats(
            family=first.family or "?",
            cell=cell,
            arch=first.arch or {},
            seeds=tuple(r.seed for r in rs),
            param_count=first.param_count or 0,
            flops=first.flops or 0,
            test=mean_ci([r.test_accuracy for r in rs]),
            val=mean_ci([r.val_accuracy for r in rs]),
            test_per_seed=tuple(r.test_accuracy for r in rs),
            train_seconds=float(np.mean([r.train_seconds or 0.0 for r in rs])),
            trials=tuple(r.number for r in rs),
            # A cell's trials share their settings (KerasTuner rounds of one architecture
            # are separate cells: their epochs are in the key).
            train=with_defaults(first.train),
            train_acc=mean_ci([r.train_accuracy for r in rs if r.train_accuracy is not None]),
            convergence=convergence(rs),
            receptive_field=receptive_field(first.arch),
        ))
    return out


def role(cell: CellStats) -> str | None:
    """The role its family declares (studied, baseline, reference); None when unknown."""
    family = declared(cell.family)
    return family.role if family else None


def families(cells: Iterable[CellStats], role: str) -> list[tuple[Family, list[CellStats]]]:
    """The registered families of ``role`` among the cells, in first-seen order, each with
    its cells."""
    found: dict[str, list[CellStats]] = {}
    for c in cells:
        family = declared(c.family)
        if family is not None and family.role == role:
            found.setdefault(c.family, []).append(c)
    return [(declared(name), mine) for name, mine in found.items()]  # type: ignore[misc]


def axes(family: str) -> tuple[Axis, Axis]:
    """The width and depth axes of a studied family (every effect, step and interaction is
    of one, so both are declared)."""
    declaration = declared(family)
    assert declaration and declaration.width and declaration.depth, family
    return declaration.width, declaration.depth


def axis_knob(family: str, axis: str) -> str | None:
    """The spec field ``family`` declares as its ``width`` or ``depth`` axis."""
    declaration = declared(family)
    found = declaration.axis(axis) if declaration else None
    return found.knob if found else None


class Estimate(Protocol):
    """An effect, step or interaction: made within ``at``, for one family."""

    family: str
    at: dict[str, Any]


E = TypeVar("E", bound=Estimate)


def per_studied(cells: Sequence[CellStats],
                estimate: Callable[[Family, list[CellStats]], list[E]]) -> list[E]:
    """``estimate`` for each studied family's cells, one family after another; with more
    than one studied family each estimate's ``at`` also names its family."""
    groups = families(cells, STUDIED)
    found = [x for family, mine in groups for x in estimate(family, mine)]
    if len(groups) < 2:
        return found
    return [replace(x, at={FAMILY: x.family, **x.at}) for x in found]  # type: ignore[type-var]


def best_cell(cells: Sequence[CellStats]) -> CellStats:
    """The cell with the highest mean validation accuracy (the test set never selects)."""
    return max(cells, key=lambda c: (c.val.mean, -c.param_count))


def settings_key(values: Any) -> str:
    """Settings as a text key (keys sorted): equal settings, equal keys."""
    return json.dumps(values, sort_keys=True, default=str)


def varying_settings(cells: Sequence[CellStats], skip: Iterable[str] = ()) -> list[str]:
    """Settings (arch or training) that differ between the cells, in first-seen order."""
    skipped = set(skip)
    keys = dict.fromkeys(k for c in cells for k in c.settings)
    return [k for k in keys if k not in skipped
            and len({settings_key(c.settings.get(k)) for c in cells}) > 1]


def _group_by(cells: Iterable[CellStats],
              setting: Callable[[CellStats], dict[str, Any]]) -> list[list[CellStats]]:
    """Cells with equal ``setting(cell)`` together, in first-seen order."""
    groups: dict[str, list[CellStats]] = {}
    for c in cells:
        groups.setdefault(settings_key(setting(c)), []).append(c)
    return list(groups.values())


def group_within(cells: Sequence[CellStats], held: Sequence[str]) -> list[list[CellStats]]:
    """Cells grouped by their values of ``held``."""
    return _group_by(cells, lambda c: {k: c.settings.get(k) for k in held})


def group_except(cells: Sequence[CellStats], skip: set[str]) -> list[list[CellStats]]:
    """Cells grouped by every setting but ``skip``."""
    return _group_by(cells, lambda c: {k: v for k, v in c.settings.items() if k not in skip})


def swept_train_keys(cells: Sequence[CellStats]) -> list[str]:
    """Training settings swept across the cells: never pooled over."""
    return [k for k in varying_settings(cells) if all(k not in c.arch for c in cells)]


def cell_size(cell: CellStats, against: str) -> int:
    """The cell's parameters (``params``) or forward FLOPs (``flops``)."""
    return cell.param_count if against == "params" else cell.flops


def incomplete_cells(records: Iterable[TrialRecord]) -> tuple[list[str], int]:
    """Cells with a (cell, seed) unit that is queued, running or failed, and the cell count.

    A unit is settled once it has a COMPLETE trial or was PRUNED by a pruner, so a search
    study's pruned trials do not count. A twin closed by the grid's claim (``duplicate_of``)
    settles nothing: its unit belongs to the trial it duplicates. A unit dropped from the
    queue (``run --drop-queue``) is no longer asked for, so it makes no cell incomplete.
    """
    units: dict[str, dict[Any, bool]] = {}
    for r in records:
        if r.cell is None or r.duplicate_of is not None or r.fail_reason == DROPPED:
            continue
        seeds = units.setdefault(r.cell, {})
        seeds[r.seed] = seeds.get(r.seed, False) or r.complete or r.state == "PRUNED"
    return [cell for cell, seeds in units.items() if not all(seeds.values())], len(units)
