"""Trials as plain records: the single source of truth every later step reads.

This module is the schema of what a trial stores. Every user-attr name is a constant
below, and :func:`write` is the one function that stores them, used by the objective, the
KerasTuner engine and the benchmarks (claims, engines.execution and the heartbeat write only a
reason or a mark; a kept model is linked by Optuna's own upload). Readers (console, analysis,
report, export) read through :func:`attrs` or :func:`to_record`, which also read trials
stored under older names. A new field is added here, once. A report can be made on
another machine from the same database.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import optuna

from compat.optuna import artifact_links

# What a trial is: set when it starts (a queued grid unit holds its cell and seed already).
CELL, SEED = "cell", "seed"
ARCH, TRAIN = "arch", "train"  # the ArchSpec and the TrainConfig, as JSON objects
FAMILY = "family"  # not stored: the ArchSpec's (read as an attr by attrs())
PARAM_COUNT, FLOPS = "param_count", "flops"  # parameters; forward FLOPs per example
ENGINE, HOST = "engine", "host"
OPTUNA = "optuna"  # ENGINE of trials Optuna sampled: the default, so not stored
# What it measured: set when training ends, accuracies of the reported epoch.
VAL_ACCURACY = "val_accuracy"  # not stored: the trial's value (read as an attr by attrs())
TEST_ACCURACY = "test_accuracy"
EPOCHS_RUN = "epochs_run"
TRAIN_SECONDS = "train_seconds"
BEST_EPOCH = "best_epoch"  # 1-based; the epoch whose weights were measured
CONVERGED = "converged"  # stopped by patience, not by the epoch limit
TRAIN_ACCURACY, TRAIN_LOSS = "train_accuracy", "train_loss"  # at the best epoch
EPOCH_SECONDS = "epoch_seconds"  # per epoch: training and validation, not the test
TEST_CURVE = "test_curve"  # per epoch test accuracy, only where the study asks for it
# Test accuracy on each class (0, 1, ...), what a cell's per-class intervals over seeds
# need; the full confusion counts of a kept model are in its SEEN_FILE (search.seen).
CLASS_ACCURACY = "class_accuracy"
# How the fit went, stored together as one JSON attr FIT: every attr is a line of a
# journal file (~110 bytes besides its value), and only analysis and reports read these.
FIT = "fit"
FIT_KEYS = (HOST, EPOCHS_RUN, TRAIN_SECONDS, BEST_EPOCH, CONVERGED, TRAIN_ACCURACY,
            TRAIN_LOSS, EPOCH_SECONDS, TEST_CURVE, CLASS_ACCURACY)
# A kept trial's files (storage.artifacts): its trained model and what that model did with
# the test images. Not attrs of ours: Optuna links each upload from the trial's system
# attrs, where its own tools and the dashboard find it, and the records read it there.
MODEL_FILE, SEEN_FILE = "model.keras", "seen.npz"
# KerasTuner's own bookkeeping (search/engines/keras_tuner.py): its trial id, tuner, and for a
# continued Hyperband round the parent trial and the epoch it continues from.
KT_TRIAL_ID, KT_TUNER = "kt_trial_id", "kt_tuner"
KT_PARENT_TRIAL_ID, KT_INITIAL_EPOCH = "kt_parent_trial_id", "kt_initial_epoch"
# Why it did not complete, or whose unit it repeats.
FAIL_REASON, PRUNE_REASON = "fail_reason", "prune_reason"
# When a trial failed by the heartbeat check was last seen alive (POSIX seconds): Optuna
# stamps the failure when the check runs, maybe hours after the worker stopped.
STOPPED_AT = "stopped_at"
DUPLICATE_OF = "duplicate_of"
FINAL_FAILURE = "final_failure"  # the unit failed for good (e.g. diverged): no retry
DROPPED = "dropped from the queue"  # a fail_reason: the user asked for fewer units

KEYS = frozenset({  # what write() stores
    CELL, SEED, ARCH, TRAIN, PARAM_COUNT, FLOPS, ENGINE, HOST, TEST_ACCURACY, *FIT_KEYS,
    KT_TRIAL_ID, KT_TUNER,
    KT_PARENT_TRIAL_ID, KT_INITIAL_EPOCH, FAIL_REASON, PRUNE_REASON, STOPPED_AT, DUPLICATE_OF,
    FINAL_FAILURE})
_JSON = (ARCH, TRAIN, FIT)  # stored as JSON text, read back as objects
_DEFAULTS = {ENGINE: OPTUNA}  # not stored; attrs() fills them in
# Trials stored before this schema: FAMILY, VAL_ACCURACY, ENGINE "optuna" and FIT_KEYS were
# attrs of their own (read as they are), and the epochs run were "epochs".
_LEGACY = {"epochs": EPOCHS_RUN}
# Metrics arrive as float32 (Keras) and are stored as float64: rounded to the 6 decimals
# float32 holds (~7 significant digits), an accuracy of 8,735 of 10,000 images is stored as
# 0.8735, not 0.8734999895095825; any count up to 10^6 images stays exact.
METRIC_DECIMALS = 6


def metric(value: float) -> float:
    """A float32 metric as it is stored: float64, rounded to ``METRIC_DECIMALS``."""
    return round(float(value), METRIC_DECIMALS)


# --------------------------------------------------------------------------- writing


class Attributed(Protocol):
    """A trial whose user attrs can be set: ``optuna.Trial``, or a ``FrozenTrial`` made
    with ``optuna.trial.create_trial`` before ``Study.add_trial`` stores it in one write."""

    @property
    def user_attrs(self) -> dict[str, Any]: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...


class Measured(Protocol):
    """What a training measured (``search.train.TrainResult``)."""

    val_accuracy: float
    test_accuracy: float
    epochs: int
    train_seconds: float
    best_epoch: int
    converged: bool
    train_accuracy: float
    train_loss: float
    epoch_seconds: Sequence[float]
    confusion: Sequence[Sequence[int]]  # test predictions by true and predicted class


def setup(*, cell: str, seed: int, arch: Mapping[str, Any], train: Mapping[str, Any],
          param_count: int, flops: int, engine: str = OPTUNA) -> dict[str, Any]:
    """What a trial is, stored when it starts (``arch`` is the ArchSpec's ``to_dict()``,
    which names the family)."""
    return {CELL: cell, SEED: seed, ARCH: dict(arch), TRAIN: dict(train),
            PARAM_COUNT: param_count, FLOPS: flops, ENGINE: engine}


def measured(result: Measured, test_curve: Sequence[float] | None = None) -> dict[str, Any]:
    """What a training measured, stored when it ends (its validation accuracy is the
    trial's value), with the host it ran on; ``test_curve`` where the study tests every
    epoch."""
    values = {
        TEST_ACCURACY: result.test_accuracy, HOST: platform.node(),
        EPOCHS_RUN: result.epochs, TRAIN_SECONDS: round(result.train_seconds, 3),
        BEST_EPOCH: result.best_epoch, CONVERGED: result.converged,
        TRAIN_ACCURACY: result.train_accuracy, TRAIN_LOSS: result.train_loss,
        EPOCH_SECONDS: list(result.epoch_seconds)}
    if test_curve is not None:
        values[TEST_CURVE] = list(test_curve)
    if result.confusion:
        values[CLASS_ACCURACY] = [metric(row[k] / max(sum(row), 1))
                                  for k, row in enumerate(result.confusion)]
    return values


def write(trial: Attributed, values: Mapping[str, Any]) -> None:
    """Store ``values`` (schema keys only) as ``trial``'s user attrs, in as few writes as
    the schema allows: ``FIT_KEYS`` go into one attr (merged with what it holds), defaults
    and values the trial already holds (a queued unit's cell and seed) are not written,
    and JSON objects are stored as compact JSON text."""
    _store(trial.user_attrs, values, trial.set_user_attr)


def write_by_id(storage: optuna.storages.BaseStorage, trial_id: int,
                values: Mapping[str, Any]) -> None:
    """:func:`write` for a trial this process holds no ``Trial`` of (another worker's: a
    stale or dropped unit), through the storage."""
    _store(storage.get_trial(trial_id).user_attrs, values,
           lambda key, value: storage.set_trial_user_attr(trial_id, key, value))


def _store(held: Mapping[str, Any], values: Mapping[str, Any],
           set_attr: Callable[[str, Any], None]) -> None:
    unknown = sorted(set(values) - KEYS)
    if unknown:
        raise KeyError(f"not stored by the trial schema (storage/records.py): "
                       f"{', '.join(unknown)}")
    out = {k: v for k, v in values.items()
           if k not in FIT_KEYS and not (k in _DEFAULTS and v == _DEFAULTS[k])}
    fit = {k: values[k] for k in FIT_KEYS if k in values}
    if fit:
        out[FIT] = {**(_decoded(held.get(FIT)) or {}), **fit}
    for key, value in out.items():
        value = json.dumps(value, separators=(",", ":")) if key in _JSON else value
        if held.get(key) != value:
            set_attr(key, value)


# --------------------------------------------------------------------------- reading


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def attrs(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """A trial's user attrs under the current names, one flat dict: FIT unpacked, JSON
    decoded, FAMILY and VAL_ACCURACY derived, defaults filled in, and the names of trials
    stored before mapped."""
    stored = dict(trial.user_attrs)
    flat: dict[str, Any] = {_LEGACY.get(k, k): v for k, v in stored.items() if k != FIT}
    flat.update(_decoded(stored.get(FIT)) or {})
    for key in (ARCH, TRAIN):
        if key in flat:
            flat[key] = _decoded(flat[key])
    if isinstance(flat.get(ARCH), dict):
        flat.setdefault(FAMILY, flat[ARCH].get("family"))
    if trial.state == optuna.trial.TrialState.COMPLETE and len(trial.values or ()) == 1:
        flat.setdefault(VAL_ACCURACY, trial.values[0])
    return {**_DEFAULTS, **flat}


def spread_fit(frame: Any) -> Any:
    """Optuna's ``trials_dataframe(multi_index=False)`` with FIT spread into a column per
    key, as trials stored before it grouped them have (the table ``show --csv`` writes)."""
    column = f"user_attrs_{FIT}"
    if column not in frame:
        return frame
    fits = [_decoded(v) if isinstance(v, str) else {} for v in frame.pop(column)]
    for key in FIT_KEYS:
        name = f"user_attrs_{key}"
        before = frame[name] if name in frame else [None] * len(fits)
        frame[name] = [fit.get(key, old) for fit, old in zip(fits, before, strict=True)]
    return frame


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
    engine: str = OPTUNA
    duplicate_of: int | None = None
    train: dict[str, Any] | None = None  # the TrainConfig the trial trained with
    best_epoch: int | None = None
    converged: bool | None = None
    train_accuracy: float | None = None
    train_loss: float | None = None
    epoch_seconds: tuple[float, ...] = ()
    test_curve: tuple[float, ...] = ()
    final_failure: bool = False  # failed for good: the same seed would fail again
    class_accuracy: tuple[float, ...] = ()  # test accuracy on each class
    model_artifact: str | None = None  # the Optuna artifact id of its kept model
    seen_artifact: str | None = None  # ... and of what that model did with the test split
    # Optuna's own clock: seconds from start to finish, and when it finished (POSIX
    # seconds); None until the trial finishes.
    wall_seconds: float | None = None
    finished_at: float | None = None

    @property
    def complete(self) -> bool:
        return self.state == "COMPLETE" and self.test_accuracy is not None


def to_record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    a = attrs(trial)
    links = artifact_links(trial)
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        family=a.get(FAMILY),
        cell=a.get(CELL),
        seed=a.get(SEED),
        arch=a.get(ARCH),
        param_count=a.get(PARAM_COUNT),
        flops=a.get(FLOPS),
        val_accuracy=a.get(VAL_ACCURACY),
        test_accuracy=a.get(TEST_ACCURACY),
        epochs=a.get(EPOCHS_RUN),
        train_seconds=a.get(TRAIN_SECONDS),
        val_curve=tuple(v for _, v in sorted(trial.intermediate_values.items())),
        params=dict(trial.params),
        # A stale-trial check may have written a reason just before the trial completed.
        fail_reason=None if trial.state.name == "COMPLETE" else a.get(FAIL_REASON),
        engine=a[ENGINE],
        duplicate_of=a.get(DUPLICATE_OF),
        train=a.get(TRAIN),
        best_epoch=a.get(BEST_EPOCH),
        converged=a.get(CONVERGED),
        train_accuracy=a.get(TRAIN_ACCURACY),
        train_loss=a.get(TRAIN_LOSS),
        epoch_seconds=tuple(a.get(EPOCH_SECONDS, ())),
        test_curve=tuple(a.get(TEST_CURVE, ())),
        final_failure=trial.state.name == "FAIL" and bool(a.get(FINAL_FAILURE)),
        class_accuracy=tuple(a.get(CLASS_ACCURACY) or ()),
        model_artifact=links.get(MODEL_FILE),
        seen_artifact=links.get(SEEN_FILE),
        **_clock(trial, a.get(STOPPED_AT)),
    )


def _clock(trial: optuna.trial.FrozenTrial, stopped_at: float | None) -> dict[str, Any]:
    """``wall_seconds`` and ``finished_at``: from Optuna's start and completion times, or up
    to when its worker was last seen alive for a trial the heartbeat check failed (as POSIX
    seconds, so that a change of the local clock, e.g. daylight saving, cannot enter)."""
    if trial.datetime_start is None or trial.datetime_complete is None:
        return {"wall_seconds": None, "finished_at": None}
    start, end = trial.datetime_start.timestamp(), trial.datetime_complete.timestamp()
    if stopped_at is not None:
        end = max(start, min(end, stopped_at))
    return {"wall_seconds": end - start, "finished_at": end}


def trial_records(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of the study, in trial-number order."""
    return [to_record(t) for t in study.get_trials(deepcopy=False)]
