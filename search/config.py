"""How a model is trained, as plain data: the training settings a preset or a space sets.

Kept apart from :mod:`search.train` (TensorFlow) so that commands that only read or check
settings (``--help``, preset validation, ``list``, ``report``) start without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from search import validation

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "plateau")
STOPS = ("epochs", "converged")
AUGMENTS = ("none", "flip", "shift", "flip+shift")
SCALINGS = ("unit", "symmetric")


# Far beyond any sensible study, and small enough for TensorFlow's int64 step counters.
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 65_536


class ConfigError(ValueError):
    """A training setting is invalid; ``str(e)`` is a one-line message."""


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained; every field can be set by a preset or varied by a space.

    ``stop = "epochs"`` trains exactly ``epochs`` epochs and reports the last. ``stop =
    "converged"`` trains at most ``epochs`` epochs, stops once validation accuracy has not
    improved by more than ``min_delta`` for ``patience`` epochs, and restores the best
    epoch's weights (Keras' EarlyStopping): the net is measured at its best, not wherever
    a budget happened to end. ``stop_after`` is the share of the epoch limit a run must
    train before patience may end it (0.5: no stop in the first half of the schedule), so
    that a plateau early in a cosine schedule cannot end a run its siblings go on to win;
    the best epoch is still taken over all epochs run.

    ``label_smoothing`` moves that share of each target's probability from its class to
    all classes equally (the loss stops rewarding ever more confident outputs);
    ``erasing`` is the probability that a training image has a random rectangle replaced
    by noise (random erasing, Zhong et al. 2017). Both regularise training only: at 0 the
    loss and the input pipeline are the ones used before they existed.

    A field added later defaults to what training did before it existed (``stop_after``,
    ``label_smoothing`` and ``erasing`` at 0), so a trial stored without it trained as its
    default says: the analysis fills it in (:func:`with_defaults`), and one study's trials
    run by code from before and after a field was added keep one setting.
    """

    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    augment: str = "none"
    input_scaling: str = "unit"
    stop: str = "epochs"
    patience: int = 4
    min_delta: float = 0.0
    stop_after: float = 0.0
    label_smoothing: float = 0.0
    erasing: float = 0.0

    def __post_init__(self) -> None:
        for name, most in (("epochs", MAX_EPOCHS), ("batch_size", MAX_BATCH_SIZE),
                           ("patience", MAX_EPOCHS)):
            value = validation.int_between(name, getattr(self, name), ConfigError, 1, most)
            object.__setattr__(self, name, value)  # a NumPy int stored as the int it is
        validation.above("learning_rate", self.learning_rate, ConfigError, 0)
        validation.at_least("weight_decay", self.weight_decay, ConfigError, 0)
        validation.fraction("min_delta", self.min_delta, ConfigError, what="in [0, 1)")
        validation.between("stop_after", self.stop_after, ConfigError, 0, 1)
        validation.fraction("label_smoothing", self.label_smoothing, ConfigError)
        validation.between("erasing", self.erasing, ConfigError, 0, 1)
        for name, allowed in (("optimizer", OPTIMIZERS), ("lr_schedule", SCHEDULES),
                              ("stop", STOPS),
                              ("augment", AUGMENTS), ("input_scaling", SCALINGS)):
            validation.one_of(name, getattr(self, name), ConfigError, allowed)


def epochs_text(train: Mapping[str, Any] | None) -> str:
    """The epoch budget of stored training settings in words (a ``TrainConfig.__dict__``)."""
    if not train:
        return "epochs not recorded"
    if train.get("stop") == "converged":
        earliest = train.get("stop_after") or 0
        floor = f", no stop before {earliest:.0%} of them" if earliest else ""
        return (f"trained to convergence (patience {train.get('patience')}, min_delta "
                f"{train.get('min_delta')}, at most {train.get('epochs')} epochs{floor})")
    epochs = train.get("epochs")
    return f"{epochs} epoch{'' if epochs == 1 else 's'}"


TRAIN_FIELDS = frozenset(f.name for f in fields(TrainConfig))
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TrainConfig)}


def with_defaults(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A trial's stored training settings with each field added since at its default (what
    training did before the field existed): the v2 study's units, run before and after
    ``label_smoothing`` and ``erasing`` existed, are then one setting, not two strata."""
    return None if stored is None else {**DEFAULTS, **stored}


def split_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a trial's values into architecture fields and training fields."""
    arch = {k: v for k, v in values.items() if k not in TRAIN_FIELDS}
    train = {k: v for k, v in values.items() if k in TRAIN_FIELDS}
    return arch, train
