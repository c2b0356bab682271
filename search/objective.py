"""One trial: from an Optuna trial (or a claimed grid unit) to a stored, trained result.

Everything later steps read is stored as trial user attrs (through
:func:`storage.records.write`), so the storage stays the single source of truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import optuna
from optuna_integration import KerasPruningCallback

import spaces
from search.config import TrainConfig
from search.data import Splits
from search.presets import Cell, StudySpec, resolve
from search.train import StopOnSignal, TestEachEpoch, train
from spaces.space import cell_key
from storage import records as R


def _size(family: str, values: dict[str, Any], spec: StudySpec, data: Splits
          ) -> tuple[spaces.ArchSpec, TrainConfig, spaces.Cost]:
    arch, cfg = resolve(family, values, spec.train, data.input_shape, data.num_classes)
    return arch, cfg, spaces.cost(arch)


def grid_flops(spec: StudySpec, data: Splits) -> dict[str, int]:
    """Forward FLOPs per example of every grid cell (the progress line's cost model)."""
    return {c.key: _size(c.space.family, c.values, spec, data)[2].flops for c in spec.cells()}


class Objective:
    """Callable ``trial -> validation accuracy`` for both grid and search studies.

    ``on_epoch(trial_number, epoch)`` is called after every epoch (0-based), for progress;
    ``fit_verbose`` is Keras' ``fit`` verbosity (2: a line per epoch, for ``--verbose``).
    """

    def __init__(self, spec: StudySpec, data: Splits,
                 on_epoch: Callable[[int, int], None] | None = None,
                 fit_verbose: int = 0) -> None:
        self.spec = spec
        self.data = data
        self.cells: dict[str, Cell] = {c.key: c for c in spec.cells()}
        self.choices = spec.grid_choices()
        self.on_epoch = on_epoch
        self.fit_verbose = fit_verbose

    def _plan(self, trial: optuna.Trial) -> tuple[str, str, dict[str, Any], int]:
        """Family, cell key, all values and seed of this trial."""
        if self.spec.mode == "grid":
            cell = self.cells[trial.user_attrs[R.CELL]]
            # Record the enqueued values as Optuna params, so the dashboard can plot them.
            for name in cell.varying:
                trial.suggest_categorical(name, self.choices[name])
            return cell.space.family, cell.key, cell.values, int(trial.user_attrs[R.SEED])
        space = self.spec.space
        assert space is not None
        varying = space.suggest(trial)
        return space.family, cell_key(space.family, varying), space.values(varying), trial.number

    def __call__(self, trial: optuna.Trial) -> float:
        family, cell, values, seed = self._plan(trial)
        arch, cfg, size = _size(family, values, self.spec, self.data)
        R.write(trial, R.setup(cell=cell, seed=seed, arch=arch.to_dict(), train=cfg.__dict__,
                               param_count=size.params, flops=size.flops))
        over = self.spec.over_budget(size.params)
        if over:
            reason = f"not trained: {over}"
            R.write(trial, {R.PRUNE_REASON: reason})
            raise optuna.TrialPruned(reason)
        callbacks: list[keras.callbacks.Callback] = [
            KerasPruningCallback(trial, R.VAL_ACCURACY), StopOnSignal()]
        if self.on_epoch is not None:
            hook = self.on_epoch
            callbacks.append(keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: hook(trial.number, epoch)))
        tested = None
        if self.spec.test_curve:
            tested = TestEachEpoch(self.data.x_test, self.data.y_test)
            callbacks.append(tested)
        result = train(arch, self.data, cfg, seed, callbacks=callbacks,
                       verbose=self.fit_verbose)
        R.write(trial, R.measured(result, tested.curve if tested is not None else None))
        return result.val_accuracy
