"""Inside the trained nets of the best cell and of the cells a user names: per-class test
accuracy and the confusion matrix from the counts every trial stored (no model needed),
and, from the cell's kept model, the test images it gets wrong, each block's feature maps
and its first filters.

That second part reads the cell's kept model (``search.kept``: its best seed by validation
accuracy that kept one) from the artifact folder and the study's test images through
``search.datasets`` (the official test split every trial was tested on). Both are read
only when the report is given the artifact folder and a model was kept, and only then is
Keras imported (``search.report.trained``). A model that is missing, corrupt or unreadable
by Keras, or test images that cannot be read, is one warning line; the rest is drawn.
"""

from __future__ import annotations

import functools
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import datasets
from search.analysis import Analysis, CellStats, ClassStats, best_cell, class_stats
from search.data import DataError, Splits, load_splits
from search.errors import ReportError
from search.kept import MODEL_FILE, fetch, kept_trial
from search.report import trained
from search.report.trained import Seen
from storage import TrialRecord
from storage.errors import ArtifactError

CELLS_NAMED = 6  # cells an error line lists when a named cell is not in the study


@dataclass(frozen=True)
class Look:
    """One cell looked inside: its classes' names, its per-class statistics (None without
    stored counts), the trial whose kept model was seen and what it did (None without)."""

    cell: CellStats
    labels: tuple[str, ...]
    classes: ClassStats | None
    model: TrialRecord | None = None
    seen: Seen | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``scaling.json``: per-class intervals, counts, the model seen."""
        classes = self.classes
        return {
            "cell": self.cell.cell,
            "labels": list(self.labels),
            "seeds": None if classes is None else list(classes.seeds),
            "per_class_test_accuracy": None if classes is None else [
                {"label": label, "mean": _number(a.mean),
                 "ci95": [_number(a.low), _number(a.high)], "n": a.n}
                for label, a in zip(self.labels, classes.accuracy, strict=True)],
            "confusion": None if classes is None else [list(r) for r in classes.confusion],
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
          names: Sequence[str] = (), artifacts: Path | None = None,
          data_dir: str | None = None) -> tuple[list[Look], list[str]]:
    """A :class:`Look` for the best cell and each named one, and the warning lines (one per
    model or dataset that could not be read). Without ``artifacts`` no model is read."""
    dataset = identity.get("dataset")
    cells = chosen(analysis, names)
    warnings: list[str] = []

    @functools.cache  # read once, for the first model that needs it
    def test_split() -> Splits | None:
        try:
            if not isinstance(dataset, str):
                raise DataError("the study does not record its dataset")
            return load_splits(dataset, data_dir=data_dir)
        except DataError as exc:
            warnings.append(f"test images not read, no misclassified examples or feature "
                            f"maps: {exc}")
            return None

    out = []
    for cell in cells:
        classes = class_stats(records, cell.cell)
        count = len(classes.confusion) if classes else int(cell.arch.get("num_classes", 0))
        model = kept_trial(records, cell.cell) if artifacts is not None else None
        seen = None if model is None or artifacts is None else _seen(
            artifacts, model, test_split, warnings.append)
        out.append(Look(cell, datasets.labels(str(dataset), count), classes,
                        model if seen else None, seen))
    return out, warnings


def _seen(artifacts: Path, model: TrialRecord, test_split: Callable[[], Splits | None],
          warn: Callable[[str], None]) -> Seen | None:
    """What ``model``'s kept model does with the test split, or None (and a warning)."""
    with tempfile.TemporaryDirectory(prefix="report-model-") as folder:
        try:
            path = fetch(artifacts, model, Path(folder) / MODEL_FILE)
        except ArtifactError as exc:
            warn(f"{exc}; its misclassified examples and feature maps are left out")
            return None
        split = test_split()
        if split is None:
            return None
        try:
            net = trained.load(path)
        except Exception as exc:  # Keras reports an unreadable archive in many ways
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            warn(f"the model of trial {model.number} ({model.cell}) cannot be loaded by "
                 f"Keras: {reason}; its misclassified examples and feature maps are left out")
            return None
    return trained.see(net, model.arch or {}, split.x_test, split.y_test)
