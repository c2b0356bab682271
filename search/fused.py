"""Seeds of one cell trained side by side in one Keras model: k trainings, one graph.

On a CPU a small net leaves most of each step to fixed overhead (Python, the step's
dispatch, tf.data); k members of one architecture in one model share that overhead, one
input and one output each. Nothing is shared between members but the step: the loss is the
sum of the members' losses, so each member's gradients are its own loss's, and Adam, AdamW
and SGD update every variable on its own gradient alone. Like :mod:`search.train`, this
knows nothing of Optuna or storage: :meth:`search.objective.Objective.fused` stores each
member as its own trial.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

import spaces
from search.config import TrainConfig
from search.data import Splits
from search.train import (
    EarlyStoppingAfter,
    EpochTimer,
    RoundMetrics,
    TrainingDiverged,
    TrainResult,
    check_finite,
    early_stopping,
    loss,
    network,
    optimizer,
    result_of,
    tested,
    training_scope,
)

# on_epoch(member index, epoch (0-based), its validation accuracy), after each epoch in
# which the member is still counted.
MemberEpoch = Callable[[int, int, float], None]
# What train() reads of each epoch's logs, and Keras' name for it on a member's output.
_MEASURED = {"loss": "{}_loss", "accuracy": "{}_accuracy", "val_accuracy": "val_{}_accuracy"}


def fusable(cfg: TrainConfig) -> bool:
    """Whether runs under ``cfg`` can be fused: not under a plateau schedule, which lowers
    one run's learning rate when its own validation accuracy stalls (members share one
    optimizer, so one learning rate; a cosine schedule is the same for all)."""
    return cfg.lr_schedule != "plateau"


def member_order(seed: int, epoch: int, size: int) -> np.ndarray:
    """The order in which the member trained with ``seed`` sees the ``size`` training
    images in ``epoch`` (0-based): its own permutation, a new one every epoch."""
    return np.random.default_rng([seed, epoch]).permutation(size)


def fused_model(arch: spaces.ArchSpec, cfg: TrainConfig, seeds: Sequence[int],
                train_size: int) -> tuple[keras.Model, list[keras.Model]]:
    """The compiled fused model and its members (``member0``, ...), one per seed.

    Member i is built right after ``keras.utils.set_random_seed(seeds[i])``, as ``train``
    builds its model: its initial weights (and its dropout and augmentation seeds) are the
    ones ``train(arch, data, cfg, seeds[i])`` starts from. The optimizer is ``train``'s,
    with its schedule over ``cfg.epochs`` epochs of ``train_size`` images.
    """
    members = []
    for i, seed in enumerate(seeds):
        keras.utils.set_random_seed(seed)
        member = network(arch, cfg)
        member.name = f"member{i}"
        members.append(member)
    inputs = [keras.Input(m.input_shape[1:], name=f"{m.name}_input") for m in members]
    model = keras.Model(inputs, [m(x) for m, x in zip(members, inputs, strict=True)],
                        name="fused")
    model.compile(optimizer=optimizer(cfg, math.ceil(train_size / cfg.batch_size)),
                  loss={m.name: loss(cfg) for m in members},
                  metrics={m.name: ["accuracy"] for m in members})
    return model, members


def epoch_batches(x: tf.Tensor, y: tf.Tensor, orders: Sequence[np.ndarray],
                  batch_size: int) -> tf.data.Dataset:
    """One epoch of fused batches: member m's batch b holds the images
    ``orders[m][b * batch_size:(b + 1) * batch_size]``, gathered on-graph from ``x``
    and ``y`` (one copy of the data for all members, as Keras' own array adapter does)."""
    members = range(len(orders))

    def gather(index: tf.Tensor) -> tuple[tuple[tf.Tensor, ...], tuple[tf.Tensor, ...]]:
        return (tuple(tf.gather(x, index[:, m]) for m in members),
                tuple(tf.gather(y, index[:, m]) for m in members))

    index = tf.data.Dataset.from_tensor_slices(np.stack(orders, axis=1)).batch(batch_size)
    return index.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _replicated(x: np.ndarray, y: np.ndarray, members: int, batch_size: int
                ) -> tf.data.Dataset:
    """The same batches for every member (validation)."""
    return (tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
            .map(lambda a, b: ((a,) * members, (b,) * members)).prefetch(tf.data.AUTOTUNE))


@dataclass
class _Member:
    """One member's own run: its per-epoch logs, its stopping rule and its share of time."""

    net: keras.Model
    stopper: EarlyStoppingAfter | None
    logs: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in _MEASURED})
    train_seconds: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)
    diverged: TrainingDiverged | None = None

    def __post_init__(self) -> None:
        if self.stopper is not None:
            self.stopper.set_model(self.net)  # restores this member's weights only
            self.stopper.on_train_begin()

    @property
    def counted(self) -> bool:
        stopped = self.stopper is not None and self.stopper.stopped_epoch > 0
        return not stopped and self.diverged is None

    def end_epoch(self, epoch: int, logs: dict[str, float], seconds: float,
                  epoch_seconds: float) -> None:
        """Record the epoch and apply ``train``'s rules: divergence, then early stopping."""
        for key, name in _MEASURED.items():
            self.logs[key].append(float(logs[name.format(self.net.name)]))
        self.train_seconds += seconds
        self.epoch_seconds.append(round(epoch_seconds, 3))
        try:
            check_finite(self.logs["loss"])
        except TrainingDiverged as exc:
            self.diverged = exc
            return
        if self.stopper is not None:
            self.stopper.on_epoch_end(epoch, {"val_accuracy": self.logs["val_accuracy"][-1]})

    def result(self, test_accuracy: float, confusion: tuple[tuple[int, ...], ...]
               ) -> TrainResult | TrainingDiverged:
        if self.diverged is not None:
            return self.diverged
        return result_of(self.logs, self.stopper, test_accuracy, self.train_seconds,
                         self.epoch_seconds, confusion)


def train_fused(
    arch: spaces.ArchSpec,
    cfg: TrainConfig,
    data: Splits,
    seeds: Sequence[int],
    callbacks: Sequence[keras.callbacks.Callback] = (),
    on_epoch: MemberEpoch | None = None,
    verbose: int = 0,
) -> list[TrainResult | TrainingDiverged]:
    """Train ``arch`` once per seed, all in one model; per seed what ``train`` returns.

    Each member has its own initial weights (:func:`fused_model`) and its own batch order
    (:func:`member_order`), and ``train``'s rules apply to each alone: its validation
    accuracy per epoch, its early stopping (``cfg.stop``, ``stop_after``, ``patience``,
    ``min_delta``; :class:`search.train.EarlyStoppingAfter` itself, watching the member),
    its best epoch's weights restored before its test evaluation, and a non-finite loss
    ends it with the TrainingDiverged ``train`` raises, returned in its place. A member that
    stopped is no longer counted; training ends when none is counted or the epochs run out.
    Until then a stopped member's net still steps with the others (dropping it would mean
    a new graph), but its result is its best epoch's: its weights are restored to it
    before the test. A member's seconds are the wall time of the epochs it was counted in,
    each shared equally among the members counted then, so the members' seconds add up to
    the fused run's.

    Not bit-for-bit ``train(arch, data, cfg, seed)``: the initial weights are the same,
    but ``train`` leaves shuffling to Keras (``tf.random.shuffle`` in its array adapter,
    drawn from TensorFlow's global seed and op counters), which one fit of several
    members cannot replay per member; a member's order is a NumPy permutation of (seed,
    epoch) instead, an equally valid draw, so its run differs from the first batch on.

    ``callbacks`` run on the fused model (e.g. ``StopOnSignal``; one ``fit`` per epoch, so
    their ``on_train_begin``/``end`` run every epoch). A ``cfg`` that is not
    :func:`fusable` is refused (ValueError).
    """
    if not fusable(cfg):
        raise ValueError("a plateau schedule cannot be fused: members share one learning rate")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"fused training needs distinct seeds, got {list(seeds)}")
    with training_scope():
        model, nets = fused_model(arch, cfg, seeds, len(data.x_train))
        members = [_Member(net, early_stopping(cfg)) for net in nets]
        x, y = tf.convert_to_tensor(data.x_train), tf.convert_to_tensor(data.y_train)
        validation = _replicated(data.x_val, data.y_val, len(members), cfg.batch_size)
        timer = EpochTimer()
        for epoch in range(cfg.epochs):
            counted = [(i, m) for i, m in enumerate(members) if m.counted]
            if not counted:
                break
            start = time.perf_counter()
            orders = [member_order(seed, epoch, len(data.x_train)) for seed in seeds]
            logs = model.fit(epoch_batches(x, y, orders, cfg.batch_size),
                             validation_data=validation, initial_epoch=epoch,
                             epochs=epoch + 1, shuffle=False, verbose=verbose,
                             callbacks=[RoundMetrics(), timer, *callbacks]).history
            seconds = time.perf_counter() - start
            for i, member in counted:
                member.end_epoch(epoch, {k: v[-1] for k, v in logs.items()},
                                 seconds / len(counted), timer.seconds[-1] / len(counted))
                if on_epoch is not None:
                    on_epoch(i, epoch, member.logs["val_accuracy"][-1])
        for member in members:
            if member.stopper is not None and member.diverged is None:
                member.stopper.on_train_end()  # its best epoch's weights
        outputs = model.predict([data.x_test] * len(members), batch_size=512, verbose=0,
                                callbacks=list(callbacks))
        return [m.result(*tested(probabilities, data))
                for m, probabilities in zip(members, outputs, strict=True)]
