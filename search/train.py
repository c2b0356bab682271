"""Fit one model and measure it: train split to fit, validation to select, test once to report.

This module is the whole training path, readable top to bottom. It knows nothing of Optuna
or storage: callers pass Keras callbacks (e.g. a pruning callback) and get a TrainResult.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

import spaces
from compat.tensorflow import gradient_registry
from search import interrupt, seen
from search.config import TrainConfig
from search.data import Splits
from search.stats import confusion
from storage import records as R
from storage.records import MODEL_FILE, SEEN_FILE

LOSS = "sparse_categorical_crossentropy"  # integer labels, a softmax output
# "plateau": the learning rate is multiplied by this after half the stopping patience
# without improvement, so a net gets a lower-rate phase before patience runs out.
PLATEAU_FACTOR = 0.2


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the trial fails with this reason, the study goes on."""


# TensorFlow and Keras leave some 430k long-lived objects that every full collection walks
# (0.26 s a collection on the 2-vCPU VM; training_scope collects once per trial): frozen once
# here, after their import, a collection walks only what the trials themselves create.
gc.freeze()

# TensorFlow's gradient registry: name -> {"type": function, ...}; see _forget_custom_gradients.
_GRADIENTS: dict[str, Any] = gradient_registry()


class StopOnSignal(keras.callbacks.Callback):
    """Ends ``fit``, ``evaluate`` or ``predict`` at the next batch once a stop was
    requested (Ctrl-C)."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        interrupt.check()

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        interrupt.check()

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        interrupt.check()


@dataclass(frozen=True)
class TrainResult:
    """What one training measured; accuracies of the reported (best or last) epoch.

    ``train_accuracy`` and ``train_loss`` are Keras' running means over that epoch's
    batches (dropout and augmentation active), the usual side of a generalisation gap.
    """

    val_accuracy: float
    test_accuracy: float
    val_curve: tuple[float, ...]
    epochs: int  # epochs run
    train_seconds: float
    best_epoch: int  # 1-based: the epoch whose weights were measured
    converged: bool  # stopped by patience, not by running out of epochs
    train_accuracy: float
    train_loss: float
    epoch_seconds: tuple[float, ...] = ()
    # Test predictions by true class (rows) and predicted class (columns).
    confusion: tuple[tuple[int, ...], ...] = ()


class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels against one-hot targets smoothed by
    ``label_smoothing`` (Keras' CategoricalCrossentropy rule: ``(1 - s) * one_hot + s / k``).

    Keras' sparse loss has no smoothing; one-hot labels in the data would change every
    split and the accuracy metric, so the labels stay integers and are expanded here.
    """

    def __init__(self, label_smoothing: float) -> None:
        super().__init__(name="smoothed_sparse_crossentropy")
        self.label_smoothing = label_smoothing

    def call(self, y_true: Any, y_pred: Any) -> Any:
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        targets = keras.ops.one_hot(labels, keras.ops.shape(y_pred)[-1])
        return keras.losses.categorical_crossentropy(targets, y_pred,
                                                     label_smoothing=self.label_smoothing)


def loss(cfg: TrainConfig) -> str | keras.losses.Loss:
    """``cfg``'s training loss; without smoothing, exactly Keras' sparse cross-entropy."""
    return SmoothedSparseCrossentropy(cfg.label_smoothing) if cfg.label_smoothing else LOSS


def _with_input_pipeline(body: keras.Model, cfg: TrainConfig) -> keras.Model:
    """Prepend scaling and augmentation as layers: they run on-graph, only while training."""
    pre: list[keras.layers.Layer] = []
    if cfg.input_scaling == "symmetric":
        pre.append(keras.layers.Rescaling(2.0, offset=-1.0, name="to_symmetric"))
    if "flip" in cfg.augment:
        pre.append(keras.layers.RandomFlip("horizontal", name="augment_flip"))
    if "shift" in cfg.augment:
        pre.append(keras.layers.RandomTranslation(0.1, 0.1, name="augment_shift"))
    if cfg.erasing:
        # Noise clipped to the images' range after scaling; factor (p, p): Keras samples
        # each image's probability from that interval, so every image has exactly p.
        low = -1.0 if cfg.input_scaling == "symmetric" else 0.0
        pre.append(keras.layers.RandomErasing(factor=(cfg.erasing, cfg.erasing),
                                              value_range=(low, 1.0), name="augment_erasing"))
    if not pre:
        return body
    return keras.Sequential([keras.Input(body.input_shape[1:]), *pre, body], name=body.name)


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch: its training steps and validation (and, in the first, the
    graph tracing), not what callbacks after this one do at the epoch's end."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(round(time.perf_counter() - self._start, 3))


class TestEachEpoch(keras.callbacks.Callback):
    """Test accuracy after every epoch, for tabulated benchmarks: the table records what
    each fidelity gives on the test set too. Never read by a searcher; it runs after the
    epoch timer, so its time is not in ``epoch_seconds`` (it is in ``train_seconds``)."""

    def __init__(self, x: Any, y: Any) -> None:
        super().__init__()
        self.x, self.y = x, y
        self.curve: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        scores = self.model.evaluate(self.x, self.y, batch_size=512, verbose=0,
                                     return_dict=True)
        self.curve.append(R.metric(scores["accuracy"]))


class RoundMetrics(keras.callbacks.Callback):
    """Rounds each epoch's losses and accuracies in place, as they are stored
    (:func:`storage.records.metric`), before any later callback reads them: the history,
    early stopping and Optuna's pruning callback (the trial's intermediate values) all see
    the stored numbers. Keras hands every callback the same ``logs`` dict, and its own
    callbacks edit it too (ReduceLROnPlateau adds the learning rate); it must come first."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            if key.endswith(("accuracy", "loss")) and isinstance(value, float):
                logs[key] = R.metric(value)  # type: ignore[index]


class EarlyStoppingAfter(keras.callbacks.EarlyStopping):
    """Keras' early stopping that may not end a run before epoch ``earliest`` (1-based).

    Written here because Keras' own ``start_from_epoch`` also leaves the epochs before it out
    of the best-epoch search, so a net that peaks early would be restored to a worse epoch;
    here every epoch competes for "best", and only the stop waits. A run on a plateau since
    before ``earliest`` stops at ``earliest``.
    """

    def __init__(self, earliest: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.earliest = earliest

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        if self.stopped_epoch and epoch + 1 < self.earliest:
            self.stopped_epoch = 0
            self.model.stop_training = False


def early_stopping(cfg: TrainConfig) -> EarlyStoppingAfter | None:
    """``cfg``'s stopping rule on validation accuracy, restoring the best epoch (None: the
    run trains all its epochs)."""
    if cfg.stop != "converged":
        return None
    return EarlyStoppingAfter(
        math.ceil(cfg.stop_after * cfg.epochs), monitor="val_accuracy", mode="max",
        patience=cfg.patience, min_delta=cfg.min_delta, restore_best_weights=True)


def _schedule_callbacks(cfg: TrainConfig) -> tuple[list[keras.callbacks.Callback],
                                                    keras.callbacks.EarlyStopping | None]:
    """Plateau decay and early stopping, both watching validation accuracy."""
    callbacks: list[keras.callbacks.Callback] = []
    if cfg.lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_accuracy", mode="max", factor=PLATEAU_FACTOR,
            patience=max(1, cfg.patience // 2), min_delta=cfg.min_delta))
    stopper = early_stopping(cfg)
    if stopper is not None:
        callbacks.append(stopper)
    return callbacks, stopper


def optimizer(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    lr: Any = cfg.learning_rate
    if cfg.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=cfg.epochs * steps_per_epoch)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(lr)
    if cfg.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay)
    return keras.optimizers.Adam(lr)


def network(spec: spaces.ArchSpec, cfg: TrainConfig) -> keras.Model:
    """The model ``train`` fits, not compiled: architecture plus input pipeline."""
    return _with_input_pipeline(spaces.build(spec), cfg)


def compiled_model(spec: spaces.ArchSpec, cfg: TrainConfig, train_size: int) -> keras.Model:
    """The model ``train`` fits: architecture plus input pipeline, compiled for ``cfg``."""
    model = network(spec, cfg)
    model.compile(
        optimizer=optimizer(cfg, math.ceil(train_size / cfg.batch_size)),
        loss=loss(cfg),
        metrics=["accuracy"],
    )
    return model


def save_inference_model(model: keras.Model, spec: spaces.ArchSpec, cfg: TrainConfig,
                         path: Path) -> None:
    """Save ``model``'s weights in a fresh, uncompiled copy of its network: the file holds
    the architecture, the input pipeline (inactive outside training) and the weights, but
    no optimizer state (Adam's two moments would triple it) and no compile settings (so it
    loads in plain Keras, without this project's smoothed loss)."""
    copy = network(spec, cfg)
    for mine, trained in zip(copy.weights, model.weights, strict=True):
        mine.assign(trained)
    copy.save(path)


def _custom_gradient_names() -> set[str]:
    return {name for name in _GRADIENTS if name.startswith("CustomGradient-")}


def _forget_custom_gradients(keep: set[str]) -> None:
    """Drop the gradient functions TensorFlow registered while this model was traced.

    Every trace of Keras' train step goes through ``tf.custom_gradient`` in graph mode (the
    default strategy's ``all_reduce`` in the optimizer), which registers a gradient function
    in a process-wide registry and never removes it; its closure pins the whole traced graph,
    about 6 MB per trial, through ``clear_session`` (tensorflow#97697, fixed upstream after
    TF 2.21; tf-keras#898 purges the same entries). No public API removes them, so the
    registry's dict is edited here: the model is gone, nothing can ask for them again.
    Entries added by another thread meanwhile would go too: ``train`` is for one training
    at a time per process (as ``keras.backend.clear_session`` already requires).
    """
    for name in _custom_gradient_names() - keep:
        _GRADIENTS.pop(name, None)


@contextmanager
def training_scope() -> Iterator[None]:
    """One training's models: on leaving, their graphs, weights and traced gradient
    functions are dropped. A long study builds hundreds of models in one process, so
    memory stays flat."""
    gradients_before = _custom_gradient_names()
    try:
        yield
    finally:
        keras.backend.clear_session(free_memory=False)  # one collection, once all is dropped
        _forget_custom_gradients(gradients_before)
        gc.collect()


def check_finite(losses: Sequence[float]) -> None:
    """Raise TrainingDiverged at the first epoch whose training loss is NaN or infinite."""
    for epoch, loss in enumerate(losses, start=1):
        if not math.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss} in epoch {epoch}")


def tested(probabilities: np.ndarray, data: Splits
           ) -> tuple[float, tuple[tuple[int, ...], ...]]:
    """The test accuracy (as stored) and the counts by class of a model's predicted
    ``probabilities`` on the test split: the accuracy is the counts' trace over the total,
    what Keras' accuracy metric counts (argmax against the label)."""
    counts = confusion(data.y_test, probabilities.argmax(axis=-1), data.num_classes)
    return R.metric(sum(counts[c][c] for c in range(len(counts))) / len(data.y_test)), counts


def result_of(logs: Mapping[str, Sequence[float]], stopper: EarlyStoppingAfter | None,
              test_accuracy: float, train_seconds: float, epoch_seconds: Sequence[float],
              test_confusion: tuple[tuple[int, ...], ...] = ()) -> TrainResult:
    """The TrainResult of a run whose per-epoch ``loss``, ``accuracy`` and ``val_accuracy``
    are ``logs`` (rounded as stored), stopped and restored by ``stopper`` (if any)."""
    curve = tuple(float(v) for v in logs["val_accuracy"])
    # EarlyStopping restored the weights of its best epoch (0-based best_epoch).
    best = stopper.best_epoch if stopper is not None else len(curve) - 1
    return TrainResult(
        val_accuracy=curve[best],
        test_accuracy=test_accuracy,
        val_curve=curve,
        epochs=len(curve),
        train_seconds=train_seconds,
        best_epoch=best + 1,
        converged=stopper is not None and stopper.stopped_epoch > 0,
        train_accuracy=float(logs["accuracy"][best]),
        train_loss=float(logs["loss"][best]),
        epoch_seconds=tuple(epoch_seconds),
        confusion=test_confusion,
    )


def train(
    spec: spaces.ArchSpec,
    data: Splits,
    cfg: TrainConfig,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    keep_in: Path | None = None,
) -> TrainResult:
    """Train ``spec`` from scratch with ``seed``; raise TrainingDiverged on a non-finite loss.

    The caller's ``callbacks`` run after early stopping, so their ``on_train_end`` and the
    test pass see the restored best weights. The test predictions are counted by
    class (``TrainResult.confusion``); with the folder ``keep_in``, the measured model is
    saved there (:func:`save_inference_model`, ``storage.records.MODEL_FILE``) with what
    it did with the test images (``search.seen``, ``storage.records.SEEN_FILE``).
    """
    keras.utils.set_random_seed(seed)
    with training_scope():
        model = compiled_model(spec, cfg, len(data.x_train))
        schedule, stopper = _schedule_callbacks(cfg)
        timer = EpochTimer()
        start = time.perf_counter()
        history = model.fit(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            verbose=verbose,  # Keras: 2 prints one line per epoch
            callbacks=[RoundMetrics(), timer, keras.callbacks.TerminateOnNaN(), *schedule,
                       *callbacks],
        )
        train_seconds = time.perf_counter() - start
        check_finite(history.history["loss"])
        # One pass over the test split (predictions, not evaluate: the counts by class too).
        probabilities = model.predict(data.x_test, batch_size=512, verbose=0,
                                      callbacks=list(callbacks))
        accuracy, counts = tested(probabilities, data)
        if keep_in is not None:
            save_inference_model(model, spec, cfg, keep_in / MODEL_FILE)
            seen.save(seen.see(model, spec, data.x_test, data.y_test, probabilities),
                      keep_in / SEEN_FILE)
        return result_of(history.history, stopper, accuracy, train_seconds, timer.seconds,
                         counts)
