"""Trials as plain records: the single source of truth every later step reads.

The user-attr names a trial stores are the constants below, used by every writer (the
objective, the KerasTuner engine, claims, the runner) and reader (console, analysis,
export), as Optuna keeps its own attribute keys: a new field is added here, once.
Analysis, reports and exports read these records and nothing else, so a report can be made
on another machine from the same database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import optuna

# What a trial is: set when it is queued or starts.
FAMILY, CELL, SEED = "family", "cell", "seed"
ARCH, TRAIN = "arch", "train"  # JSON: the ArchSpec and the TrainConfig it trained with
PARAM_COUNT, FLOPS = "param_count", "flops"  # parameters; forward FLOPs per example
ENGINE, HOST = "engine", "host"
# What it measured: set when training ends.
VAL_ACCURACY, TEST_ACCURACY = "val_accuracy", "test_accuracy"  # of the reported epoch
EPOCHS_RUN = "epochs_run"
BEST_EPOCH = "best_epoch"  # 1-based; the epoch whose weights were measured
CONVERGED = "converged"  # stopped by patience, not by the epoch limit
TRAIN_ACCURACY, TRAIN_LOSS = "train_accuracy", "train_loss"  # at the best epoch
TRAIN_SECONDS = "train_seconds"
EPOCH_SECONDS = "epoch_seconds"  # per epoch: training and validation, not the test
TEST_CURVE = "test_curve"  # per epoch test accuracy, only where the study asks for it
# Why it did not complete, or whose unit it repeats.
FAIL_REASON, PRUNE_REASON = "fail_reason", "prune_reason"
DUPLICATE_OF = "duplicate_of"
FINAL_FAILURE = "final_failure"  # the unit failed for good (e.g. diverged): no retry
DROPPED = "dropped from the queue"  # a fail_reason: the user asked for fewer units
# Metrics arrive as float32 (Keras) and are stored as float64: rounded to the 6 decimals
# float32 holds (~7 significant digits), an accuracy of 8,735 of 10,000 images is stored as
# 0.8735, not 0.8734999895095825; any count up to 10^6 images stays exact.
METRIC_DECIMALS = 6
# Before epochs_run existed, trials stored the same count as "epochs".
_LEGACY_EPOCHS = "epochs"


def metric(value: float) -> float:
    """A float32 metric as it is stored: float64, rounded to ``METRIC_DECIMALS``."""
    return round(float(value), METRIC_DECIMALS)


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
    epochs: int | None  # epochs run
    train_seconds: float | None
    val_curve: tuple[float, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    fail_reason: str | None = None
    engine: str = "optuna"
    duplicate_of: int | None = None
    train: dict[str, Any] | None = None  # the TrainConfig the trial trained with
    best_epoch: int | None = None
    converged: bool | None = None
    train_accuracy: float | None = None
    train_loss: float | None = None
    epoch_seconds: tuple[float, ...] = ()
    test_curve: tuple[float, ...] = ()

    @property
    def complete(self) -> bool:
        return self.state == "COMPLETE" and self.test_accuracy is not None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def to_record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    attrs = trial.user_attrs
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        family=attrs.get(FAMILY),
        cell=attrs.get(CELL),
        seed=attrs.get(SEED),
        arch=_json(attrs.get(ARCH)),
        param_count=attrs.get(PARAM_COUNT),
        flops=attrs.get(FLOPS),
        val_accuracy=attrs.get(VAL_ACCURACY),
        test_accuracy=attrs.get(TEST_ACCURACY),
        epochs=attrs.get(EPOCHS_RUN, attrs.get(_LEGACY_EPOCHS)),
        train_seconds=attrs.get(TRAIN_SECONDS),
        val_curve=tuple(v for _, v in sorted(trial.intermediate_values.items())),
        params=dict(trial.params),
        # A stale-trial check may have written a reason just before the trial completed.
        fail_reason=None if trial.state.name == "COMPLETE" else attrs.get(FAIL_REASON),
        engine=attrs.get(ENGINE, "optuna"),
        duplicate_of=attrs.get(DUPLICATE_OF),
        train=_json(attrs.get(TRAIN)),
        best_epoch=attrs.get(BEST_EPOCH),
        converged=attrs.get(CONVERGED),
        train_accuracy=attrs.get(TRAIN_ACCURACY),
        train_loss=attrs.get(TRAIN_LOSS),
        epoch_seconds=tuple(attrs.get(EPOCH_SECONDS, ())),
        test_curve=tuple(attrs.get(TEST_CURVE, ())),
    )


def trial_records(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of the study, in trial-number order."""
    return [to_record(t) for t in study.get_trials(deepcopy=False)]
