"""Trials as plain records: the single source of truth every later step reads.

Analysis, reports and exports read these records and nothing else, so a report can be made
on another machine from the same database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import optuna


@dataclass(frozen=True)
class TrialRecord:
    """One trial's stored facts; missing attributes (e.g. a failed trial's) are None."""

    number: int
    state: str
    family: str | None
    cell: str | None
    seed: int | None
    arch: dict[str, Any] | None
    param_count: int | None
    flops: int | None
    val_accuracy: float | None
    test_accuracy: float | None
    epochs: int | None
    train_seconds: float | None
    val_curve: tuple[float, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    fail_reason: str | None = None
    engine: str = "optuna"
    duplicate_of: int | None = None
    train: dict[str, Any] | None = None  # the TrainConfig the trial trained with

    @property
    def complete(self) -> bool:
        return self.state == "COMPLETE" and self.test_accuracy is not None


def to_record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    attrs = trial.user_attrs
    arch, train = attrs.get("arch"), attrs.get("train")
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        family=attrs.get("family"),
        cell=attrs.get("cell"),
        seed=attrs.get("seed"),
        arch=json.loads(arch) if isinstance(arch, str) else arch,
        param_count=attrs.get("param_count"),
        flops=attrs.get("flops"),
        val_accuracy=attrs.get("val_accuracy"),
        test_accuracy=attrs.get("test_accuracy"),
        epochs=attrs.get("epochs"),
        train_seconds=attrs.get("train_seconds"),
        val_curve=tuple(v for _, v in sorted(trial.intermediate_values.items())),
        params=dict(trial.params),
        fail_reason=attrs.get("fail_reason"),
        engine=attrs.get("engine", "optuna"),
        duplicate_of=attrs.get("duplicate_of"),
        train=json.loads(train) if isinstance(train, str) else train,
    )


def trial_records(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of the study, in trial-number order."""
    return [to_record(t) for t in study.get_trials(deepcopy=False)]
