"""Inside the trained nets of the best cell and of the cells a user names: per-class test
accuracy over seeds from what every trial stored, and, from what the cell's kept model did
with the test images when its training ended (``search.seen``), its confusion matrix, the
images it gets wrong, each block's feature maps and its first filters.

That second part is read from the artifact folder (``search.kept``: the cell's best seed
by validation accuracy that kept a model), as NumPy arrays: no model is loaded and no
dataset file is read, so the report never imports TensorFlow. A record that is missing or
corrupt is one warning line; the rest is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import datasets
from search.analysis import Analysis, CellStats, ClassStats, best_cell, class_stats
from search.errors import ReportError
from search.kept import fetch_seen, kept_trial
from search.seen import Seen
from storage import TrialRecord
from storage.errors import ArtifactError

CELLS_NAMED = 6  # cells an error line lists when a named cell is not in the study


@dataclass(frozen=True)
class Look:
    """One cell looked inside: its classes' names, its per-class statistics (None without
    stored ones), the trial whose kept model was seen and what it did (None without)."""

    cell: CellStats
    labels: tuple[str, ...]
    classes: ClassStats | None
    model: TrialRecord | None = None
    seen: Seen | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``scaling.json``: per-class intervals, the model seen and its
        confusion counts."""
        classes = self.classes
        return {
            "cell": self.cell.cell,
            "labels": list(self.labels),
            "seeds": None if classes is None else list(classes.seeds),
            "per_class_test_accuracy": None if classes is None else [
                {"label": label, "mean": _number(a.mean),
                 "ci95": [_number(a.low), _number(a.high)], "n": a.n}
                for label, a in zip(self.labels, classes.accuracy, strict=True)],
            "confusion": None if self.seen is None else self.seen.confusion.tolist(),
            "model": None if self.model is None or self.seen is None else {
                "trial": self.model.number, "seed": self.model.seed,
                "test_accuracy_stored": self.model.test_accuracy,
                "test_accuracy_recomputed": self.seen.accuracy,
                "misclassified": self.seen.wrong, "test_images": self.seen.total},
        }


def _number(x: float) -> float | None:
    """A float for JSON: NaN (no interval from one seed) as null."""
    return x if math.isfinite(x) else None


def chosen(analysis: Analysis, names: Sequence[str]) -> list[CellStats]:
    """The best cell, then each named one once; a name that is no completed cell of the
    study is a ReportError (one line)."""
    by_name = {c.cell: c for c in analysis.cells}
    for name in names:
        if name not in by_name:
            some = ", ".join(list(by_name)[:CELLS_NAMED])
            more = " ..." if len(by_name) > CELLS_NAMED else ""
            raise ReportError(f"--cell {name!r} is no completed cell of the study (cells: "
                              f"{some}{more}; `show` lists them)")
    return [by_name[n] for n in dict.fromkeys([best_cell(analysis.cells).cell, *names])]


def looks(analysis: Analysis, records: Sequence[TrialRecord], identity: dict[str, Any],
          names: Sequence[str] = (), artifacts: Path | None = None
          ) -> tuple[list[Look], list[str]]:
    """A :class:`Look` for the best cell and each named one, and the warning lines (one per
    kept record that could not be read). Without ``artifacts`` no record is read."""
    dataset = identity.get("dataset")
    warnings: list[str] = []
    out = []
    for cell in chosen(analysis, names):
        classes = class_stats(records, cell.cell)
        count = len(classes.accuracy) if classes else int(cell.arch.get("num_classes", 0))
        model = kept_trial(records, cell.cell) if artifacts is not None else None
        seen = None
        if model is not None and artifacts is not None:
            try:
                seen = fetch_seen(artifacts, model)
            except ArtifactError as exc:
                warnings.append(f"{exc}; its misclassified examples and feature maps are "
                                "left out")
        out.append(Look(cell, datasets.labels(str(dataset), count), classes,
                        model if seen else None, seen))
    return out, warnings
