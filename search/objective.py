"""One trial: from an Optuna trial (or a claimed grid unit) to a stored, trained result.

Everything later steps read is stored as trial user attrs (through
:func:`storage.records.write`), so the storage stays the single source of truth.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import keras
import optuna
from optuna.artifacts import FileSystemArtifactStore
from optuna_integration import KerasPruningCallback

import spaces
from search import interrupt
from search.config import TrainConfig
from search.data import Splits
from search.fused import fusable, train_fused
from search.presets import Cell, StudySpec, resolve
from search.train import StopOnSignal, TestEachEpoch, TrainingDiverged, train
from spaces.space import cell_key
from storage import artifacts
from storage import records as R


def _size(family: str, values: dict[str, Any], spec: StudySpec, data: Splits
          ) -> tuple[spaces.ArchSpec, TrainConfig, spaces.Cost]:
    arch, cfg = resolve(family, values, spec.train, data.input_shape, data.num_classes)
    return arch, cfg, spaces.cost(arch)


def grid_flops(spec: StudySpec, data: Splits) -> dict[str, int]:
    """Forward FLOPs per example of every grid cell (the progress line's cost model)."""
    return {c.key: _size(c.space.family, c.values, spec, data)[2].flops for c in spec.cells()}


class _Started(NamedTuple):
    """A trial as stored when it starts: what to train, with which seed, or why not."""

    arch: spaces.ArchSpec
    cfg: TrainConfig
    seed: int
    pruned: str | None  # the prune reason of an architecture over the parameter budget


class Objective:
    """Callable ``trial -> validation accuracy`` for both grid and search studies.

    ``on_epoch(trial_number, epoch)`` is called after every epoch (0-based), for progress;
    ``fit_verbose`` is Keras' ``fit`` verbosity (2: a line per epoch, for ``--verbose``).
    A trial's trained model goes to the artifact ``store`` when the spec's ``keep_models``
    policy keeps it (:func:`storage.artifacts.keep`); without a store none is kept.
    """

    def __init__(self, spec: StudySpec, data: Splits,
                 on_epoch: Callable[[int, int], None] | None = None,
                 fit_verbose: int = 0, store: FileSystemArtifactStore | None = None) -> None:
        self.spec = spec
        self.data = data
        self.store = store if spec.keep_models != "none" else None
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

    def _start(self, trial: optuna.Trial) -> _Started:
        """Plan ``trial`` and store what it is (and a prune reason if over budget)."""
        family, cell, values, seed = self._plan(trial)
        arch, cfg, size = _size(family, values, self.spec, self.data)
        R.write(trial, R.setup(cell=cell, seed=seed, arch=arch.to_dict(), train=cfg.__dict__,
                               param_count=size.params, flops=size.flops))
        over = self.spec.over_budget(size.params)
        reason = f"not trained: {over}" if over else None
        if reason:
            R.write(trial, {R.PRUNE_REASON: reason})
        return _Started(arch, cfg, seed, reason)

    def __call__(self, trial: optuna.Trial) -> float:
        arch, cfg, seed, pruned = self._start(trial)
        if pruned:
            raise optuna.TrialPruned(pruned)
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
        store = self.store
        with tempfile.TemporaryDirectory(prefix="trial-model-") as folder:
            result = train(arch, self.data, cfg, seed, callbacks=callbacks,
                           verbose=self.fit_verbose,
                           keep_in=None if store is None else Path(folder))
            R.write(trial, R.measured(result, tested.curve if tested is not None else None))
            if store is not None:
                with interrupt.shielded():  # the upload and its id are stored together
                    artifacts.keep(trial, Path(folder), result.val_accuracy, self.spec.keep_models,
                                   store, by_cell=self.spec.mode == "grid")
        return result.val_accuracy

    def fusable(self, cell: str) -> bool:
        """Whether units of grid ``cell`` may be trained fused (:meth:`fused`)."""
        if self.spec.mode != "grid" or self.spec.test_curve or cell not in self.cells:
            return False
        c = self.cells[cell]
        return fusable(resolve(c.space.family, c.values, self.spec.train,
                               self.data.input_shape, self.data.num_classes)[1])

    def fused(self, trials: Sequence[optuna.Trial]) -> list[float | TrainingDiverged]:
        """Claimed grid units of one cell trained as one fused model
        (:func:`search.fused.train_fused`), each stored as its own trial exactly as
        ``__call__`` stores a unit: the same attrs, params and per-epoch intermediate values.

        Returns each trial's value, or the TrainingDiverged its member met (a final failure,
        as for a unit run alone). Raises optuna.TrialPruned (for every one of them) if the
        cell is over the parameter budget. The caller claims the trials, keeps their
        heartbeats and tells each its outcome. ValueError unless all are units of one cell
        that :meth:`fusable` allows (checked before anything is stored).
        """
        cells = {t.user_attrs.get(R.CELL) for t in trials}
        if len(cells) != 1 or not self.fusable(str(cells.pop())):
            raise ValueError("fused trials must be units of one cell that can be fused")
        started = [self._start(t) for t in trials]
        arch, cfg, _, pruned = started[0]
        if pruned:
            raise optuna.TrialPruned(pruned)

        def reported(member: int, epoch: int, val_accuracy: float) -> None:
            trials[member].report(val_accuracy, epoch)  # as the pruning callback reports
            if self.on_epoch is not None:
                self.on_epoch(trials[member].number, epoch)

        results = train_fused(arch, cfg, self.data, [s.seed for s in started],
                              callbacks=[StopOnSignal()], on_epoch=reported,
                              verbose=self.fit_verbose)
        for trial, result in zip(trials, results, strict=True):
            if not isinstance(result, TrainingDiverged):
                R.write(trial, R.measured(result))
        return [r if isinstance(r, TrainingDiverged) else r.val_accuracy for r in results]
