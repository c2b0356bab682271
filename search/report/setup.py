"""The Set-up: what was trained, how, when, where and with which software, stated before any
number of the report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import optuna

from search import datasets
from search.analysis import Analysis
from search.export import versions
from search.report.text import rule_text, seed_counts, seeds_text
from storage import TrialRecord
from storage.records import HOST, attrs

# Training settings the Set-up names besides the epoch rule, with their words.
TRAIN_SHOWN = {"optimizer": "optimizer", "learning_rate": "learning rate",
               "lr_schedule": "schedule", "batch_size": "batch size"}
TIME_FORMAT = "%Y-%m-%d %H:%M"


def training_images(identity: dict[str, object]) -> int | None:
    """Training images per epoch from a study identity: ``train_subset``, or the dataset's
    whole training split after its validation share (as its registration declares it)."""
    subset = identity.get("train_subset")
    if isinstance(subset, int) and subset > 0:
        return subset
    return datasets.train_images(str(identity.get("dataset")))


@dataclass(frozen=True)
class Setup:
    """What was trained, how, when, where and with which software: the budget and context
    every number of the report depends on, stated before any of them."""

    dataset: str | None
    training_images: int | None  # per epoch
    training_rule: str  # the epoch rule, e.g. "1 epoch" or "trained to convergence (...)"
    train: dict[str, list[Any]]  # TRAIN_SHOWN settings: the distinct values over the cells
    seeds_per_cell: list[int]  # the distinct seed counts, sorted
    cells_complete: int  # every seed settled
    cells: int
    trials_complete: int
    trials: int
    first_start: datetime | None  # of the first completed trial
    last_complete: datetime | None  # of the last completed trial
    hosts: dict[str, int]  # completed trials per recorded host, most first
    versions: dict[str, str]  # of the environment that wrote the report

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, times in ISO 8601 (storage time, as Optuna records it)."""
        return asdict(self) | {
            "first_start": self.first_start and self.first_start.isoformat(),
            "last_complete": self.last_complete and self.last_complete.isoformat()}

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) pairs, shared by the HTML section and the dashboard note."""
        data = self.dataset or "dataset not recorded"
        settings = [f"{word} {' / '.join(map(str, self.train[key]))}"
                    for key, word in TRAIN_SHOWN.items() if self.train[key]]
        when = ("not recorded" if self.first_start is None or self.last_complete is None else
                f"{self.first_start:{TIME_FORMAT}} (first start) to "
                f"{self.last_complete:{TIME_FORMAT}} (last completion)")
        hosts = ", ".join(f"{h} ({n} trials)" for h, n in self.hosts.items())
        software = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        return [
            ("data", f"{data}, " + (f"{self.training_images:,} training images per epoch"
                                     if self.training_images
                                     else "training images per epoch not recorded")),
            ("training", f"{self.training_rule}; "
                         f"{', '.join(settings) or 'settings not recorded'}"),
            ("seeds", f"{seeds_text(self.seeds_per_cell)} per cell"),
            ("cells and trials", f"{self.cells_complete} of {self.cells} cells complete, "
                                 f"{self.trials_complete} of {self.trials} trials complete"),
            ("completed trials ran", when),
            ("trained on", hosts or "hosts not recorded"),
            ("software", f"{software} (where this report was written)"),
        ]


def study_setup(trials: Sequence[optuna.trial.FrozenTrial], records: Sequence[TrialRecord],
                analysis: Analysis, dataset: str | None) -> Setup:
    """The Set-up of a study from its trials and their records (in the same order)."""
    done = [t for t, r in zip(trials, records, strict=True) if r.complete]
    starts = [t.datetime_start for t in done if t.datetime_start is not None]
    ends = [t.datetime_complete for t in done if t.datetime_complete is not None]
    hosts = Counter(str(h) for t in done if (h := attrs(t).get(HOST)))
    return Setup(
        dataset=dataset, training_images=analysis.images, training_rule=rule_text(analysis),
        train={k: list(dict.fromkeys(v for c in analysis.cells
                                     if (v := (c.train or {}).get(k)) is not None))
               for k in TRAIN_SHOWN},
        seeds_per_cell=seed_counts(analysis),
        cells_complete=analysis.n_cells - len(analysis.incomplete), cells=analysis.n_cells,
        trials_complete=len(done), trials=len(trials),
        first_start=min(starts, default=None), last_complete=max(ends, default=None),
        hosts=dict(hosts.most_common()), versions=versions())
