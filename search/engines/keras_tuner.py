"""KerasTuner as a second engine: the declared space, searched by KerasTuner, stored in Optuna.

    run_keras_tuner(spec, data, study, "hyperband" | "bayesian" | "random", out, report)

(:func:`run`, the entry ``search.engines`` registers, passes ``spec.tuner`` and ``spec.out``.)

How it fits together, and why:

- **One space.** :class:`SpaceHyperModel` declares ``spec.space`` through
  :func:`spaces.kt.hyperparameters` (the KerasTuner adapter of the same declaration that
  Optuna's :meth:`Space.suggest` reads); no second copy of the space exists.
- **One training path.** ``HyperModel.fit`` delegates to :func:`search.train.train`, so a
  KerasTuner trial uses the same data splits, input pipeline, optimizer, schedule, seeding
  (``keras.utils.set_random_seed``) and divergence check as an Optuna trial. ``train``
  builds its own model from the seed; the model KerasTuner built in ``HyperModel.build``
  only matters for Hyperband's later rounds: KerasTuner loads the parent trial's
  checkpoint into it, and ``fit`` copies those weights into ``train``'s model before the
  first epoch (same builder, same weight layout), then trains the remaining
  ``tuner/epochs - tuner/initial_epoch`` epochs. As in KerasTuner's own Hyperband, the
  optimizer (and the cosine schedule, now over the remaining epochs) starts afresh.
- **Seeds.** A trial trains with ``seed = int(kt_trial_id)``, as an Optuna search trial
  trains with its trial number.
- **Budget.** ``bayesian``/``random``: ``max_trials = spec.trials`` (10 when unset), each
  trial trains ``spec.train.epochs`` epochs. ``hyperband``: one Hyperband iteration with
  ``max_epochs = spec.train.epochs`` and ``factor = 3`` (``spec.trials`` is not used).
  ``spec.timeout`` stops starting new trials.
- **Score.** A trial's score (KerasTuner's and Optuna's trial value) is the validation
  accuracy of its last epoch, as in :class:`search.objective.Objective`. KerasTuner's own
  checkpoint (used to continue Hyperband rounds) keeps its best epoch, as usual.
- **Recording.** Each completed KerasTuner trial is added to the Optuna study with
  ``optuna.trial.create_trial`` + ``study.add_trial``: the params (active ones, with the
  distributions of :meth:`Space.distributions`), per-epoch validation accuracy as
  intermediate values (step = epoch index of the model, so a continued Hyperband round
  reports steps ``initial_epoch ..``), and the user attrs of an Optuna trial plus
  ``engine="keras-tuner"``, ``kt_trial_id``, ``kt_tuner`` and, for a continued round,
  ``kt_parent_trial_id`` / ``kt_initial_epoch``. ``epochs_run`` counts the epochs trained
  *in this trial* (the compute it cost); the cell key ends with ``epochs=N``, the epochs
  its weights trained in all, so Hyperband's rounds of one architecture are separate
  cells (a 1-epoch and a 9-epoch snapshot are never averaged as seeds). Test accuracy is
  evaluated once per trial by ``train`` for reporting and never used for selection.
- **Exactly once.** A trial is recorded in ``on_trial_end`` *before* KerasTuner saves its
  oracle. If the process dies between the two, KerasTuner re-runs the same trial id on
  resume, and the recorder skips ids already in the study (``kt_trial_id``). A trial
  killed mid-training is re-run by KerasTuner and recorded when it completes. KerasTuner's
  project lives in ``out / "keras_tuner" / <study name>`` with ``overwrite=False``, so
  re-running the same command resumes it. One process per project (KerasTuner's
  single-worker mode).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import optuna
from optuna.trial import TrialState

import spaces
from search import presets
from search.config import TrainConfig
from search.data import Splits
from search.engines import Context, Report
from search.errors import PresetError
from search.presets import TUNERS, StudySpec
from search.train import StopOnSignal, TrainResult, compiled_model, train
from spaces.kt import hyperparameters, varying
from spaces.space import Space, cell_key
from storage import records as R
from storage.studies import folder_name

ENGINE = "keras-tuner"
OBJECTIVE = R.VAL_ACCURACY  # the name fit() returns the score under
HYPERBAND_FACTOR = 3
DEFAULT_MAX_TRIALS = 10
MAX_CONSECUTIVE_OVER_BUDGET = 50  # failed trials in a row (over max_params) KerasTuner allows
DEFAULT_SEED = 1  # KerasTuner treats seed 0 as "pick one at random"
MARKER = "engine.json"


class KerasTunerError(PresetError):
    """The KerasTuner project under ``--out`` was made with other settings; one line."""


# --------------------------------------------------------------------------- the HyperModel


def resolve(space: Space, values: Mapping[str, Any], base: TrainConfig, data: Splits
            ) -> tuple[spaces.ArchSpec, TrainConfig]:
    """Varying values -> the architecture and the training settings (as the Objective does)."""
    return presets.resolve(space.family, space.values(values), base, data.input_shape,
                           data.num_classes)


class _WarmStart(keras.callbacks.Callback):
    """Load given weights into the model ``train`` built, before its first epoch."""

    def __init__(self, weights: list[Any]) -> None:
        super().__init__()
        self.weights = weights

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.model.set_weights(self.weights)


class SpaceHyperModel(keras_tuner.HyperModel):
    """A HyperModel read from ``spec.space``; ``fit`` runs :func:`search.train.train`.

    ``build(hp)`` returns the same model ``train`` builds (architecture plus input
    pipeline, compiled like ``train`` compiles it), so KerasTuner can load checkpoints into
    it. ``fit`` stores the :class:`TrainResult` of the last trial in :attr:`last` for the
    tuner to record.
    """

    def __init__(self, spec: StudySpec, data: Splits) -> None:
        super().__init__(name=f"{spec.name}-hypermodel")
        assert spec.space is not None  # search.engines refuses a grid for this engine
        self.spec = spec
        self.space = spec.space
        self.data = data
        self.last: TrainResult | None = None

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        arch, cfg = resolve(self.space, hyperparameters(self.space, hp), self.spec.train,
                            self.data)
        return compiled_model(arch, cfg, len(self.data.x_train))

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any,
            epochs: int | None = None, initial_epoch: int = 0,
            callbacks: Sequence[keras.callbacks.Callback] = (), seed: int = 0,
            **kwargs: Any) -> dict[str, float]:
        """Train with ``train``; KerasTuner's data arguments are ignored (we hold the splits)."""
        arch, cfg = resolve(self.space, varying(self.space, hp.values), self.spec.train,
                            self.data)
        over = self.spec.over_budget(model.count_params())
        if over:  # KerasTuner marks the trial failed, does not retry it, and goes on
            raise keras_tuner.errors.FailedTrialError(f"not trained: {over}")
        total = int(epochs or cfg.epochs)
        cfg = replace(cfg, epochs=total - int(initial_epoch))
        extra: list[keras.callbacks.Callback] = []
        if initial_epoch:
            extra.append(_WarmStart(model.get_weights()))
        self.last = None
        self.last = train(arch, self.data, cfg, seed,
                          callbacks=[*extra, *callbacks, StopOnSignal()])
        return {OBJECTIVE: self.last.val_accuracy}


# --------------------------------------------------------------------------- the tuners


class _Stop(Exception):
    """Raised before a new trial once ``spec.timeout`` has passed."""


class _Recording:
    """Mixin for KerasTuner tuners: pass the trial's seed to ``fit``; record completed trials.

    Must come before the KerasTuner tuner class in the bases.
    """

    recorder: _Recorder
    deadline: float | None = None

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any
                  ) -> Any:
        return super().run_trial(trial, *args, seed=int(trial.trial_id), **kwargs)

    def _configure_tensorboard_dir(self, callbacks: list[Any], trial: Any,
                                   execution: int = 0) -> None:
        # KerasTuner imports TensorBoard here on the TensorFlow backend, even when no
        # TensorBoard callback is passed; we pass none, and tensorflow-cpu lacks TensorBoard.
        return None

    def pre_create_trial(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _Stop
        super().pre_create_trial()

    def on_trial_end(self, trial: keras_tuner.engine.trial.Trial) -> None:
        # Record first, then let KerasTuner save its oracle: a crash in between re-runs the
        # trial under the same id on resume, and the recorder skips ids already stored.
        if trial.status == keras_tuner.engine.trial.TrialStatus.COMPLETED:
            self.recorder.record(trial, self.hypermodel.last)
        super().on_trial_end(trial)


class _Hyperband(_Recording, keras_tuner.Hyperband):
    pass


class _Bayesian(_Recording, keras_tuner.BayesianOptimization):
    pass


class _Random(_Recording, keras_tuner.RandomSearch):
    pass


# --------------------------------------------------------------------------- recording


class _Recorder:
    """Adds completed KerasTuner trials to the Optuna study, each ``kt_trial_id`` once."""

    def __init__(self, study: optuna.Study, spec: StudySpec, data: Splits, tuner: str,
                 report: Report) -> None:
        assert spec.space is not None
        self.study = study
        self.spec = spec
        self.space = spec.space
        self.data = data
        self.tuner = tuner
        self.report = report
        self.distributions = self.space.distributions()
        self.done = recorded_ids(study)
        self.added = 0

    def record(self, trial: keras_tuner.engine.trial.Trial, result: TrainResult | None
               ) -> None:
        kt_id = str(trial.trial_id)
        if kt_id in self.done:
            return
        if result is None:  # pragma: no cover - completed trials always went through fit
            raise RuntimeError(f"KerasTuner trial {kt_id} completed without a result")
        self.done = recorded_ids(self.study)  # another look, just before writing
        if kt_id in self.done:
            return
        hp_values = trial.hyperparameters.values
        values = varying(self.space, hp_values)
        arch, cfg = resolve(self.space, values, self.spec.train, self.data)
        initial = int(hp_values.get("tuner/initial_epoch", 0))
        # The weights trained for initial + this round's epochs: what a retrain must match.
        cfg = replace(cfg, epochs=initial + result.epochs)
        size = spaces.cost(arch)
        keras.backend.clear_session()
        attrs: dict[str, Any] = {
            # A round's weights have trained cfg.epochs epochs in all: the budget is part
            # of the cell, so rounds of one architecture are never pooled as seeds.
            **R.setup(cell=cell_key(self.space.family, {**values, "epochs": cfg.epochs}),
                      seed=int(kt_id), arch=arch.to_dict(), train=cfg.__dict__,
                      param_count=size.params, flops=size.flops, engine=ENGINE),
            **R.measured(result), R.KT_TRIAL_ID: kt_id, R.KT_TUNER: self.tuner,
        }
        if "tuner/trial_id" in hp_values:
            attrs[R.KT_PARENT_TRIAL_ID] = str(hp_values["tuner/trial_id"])
            attrs[R.KT_INITIAL_EPOCH] = initial
        frozen = optuna.trial.create_trial(
            state=TrialState.COMPLETE,
            value=result.val_accuracy,
            params=values,
            distributions={k: self.distributions[k] for k in values},
            intermediate_values={initial + i: v for i, v in enumerate(result.val_curve)},
        )
        R.write(frozen, attrs)
        self.study.add_trial(frozen)  # one write: the trial with all its attrs
        self.done.add(kt_id)
        self.added += 1
        stored = next(t for t in reversed(self.study.get_trials(deepcopy=False))
                      if t.user_attrs.get(R.KT_TRIAL_ID) == kt_id)
        self.report(stored)


def recorded_ids(study: optuna.Study) -> set[str]:
    """``kt_trial_id`` of every KerasTuner trial already in the study."""
    return {str(t.user_attrs[R.KT_TRIAL_ID]) for t in study.get_trials(deepcopy=False)
            if R.KT_TRIAL_ID in t.user_attrs}


# --------------------------------------------------------------------------- entry point


def project_dir(out: Path, study_name: str) -> Path:
    """KerasTuner's project folder: ``out / "keras_tuner" / <study name>``."""
    return Path(out) / "keras_tuner" / folder_name(study_name)


def hyperband_epochs(max_epochs: int, factor: int = HYPERBAND_FACTOR) -> tuple[int, int]:
    """(trials, epochs trained) of one KerasTuner Hyperband iteration with weight reuse.

    Mirrors ``keras_tuner.oracles.HyperbandOracle``: a continued round trains only the
    epochs past its parent's.
    """
    def size(bracket: int, rnd: int) -> int:
        end = math.ceil(1 + math.log(max_epochs, factor)) / (bracket + 1)
        return math.ceil(end * factor ** (bracket - rnd))

    def ep(bracket: int, rnd: int) -> int:
        return math.ceil(max_epochs / factor ** (bracket - rnd))

    brackets, e = 0, float(max_epochs)
    while e >= 1:
        e, brackets = e / factor, brackets + 1
    trials = epochs = 0
    for b in range(brackets - 1, -1, -1):
        for r in range(b + 1):
            trials += size(b, r)
            epochs += size(b, r) * (ep(b, r) - (ep(b, r - 1) if r else 0))
    return trials, epochs


def make_tuner(spec: StudySpec, data: Splits, tuner: str, directory: Path, project: str,
               recorder: _Recorder, seed: int) -> keras_tuner.Tuner:
    """A KerasTuner tuner over ``spec.space`` that records into ``recorder``."""
    hypermodel = SpaceHyperModel(spec, data)
    common: dict[str, Any] = {
        "hypermodel": hypermodel, "objective": keras_tuner.Objective(OBJECTIVE, "max"),
        "seed": seed, "directory": str(directory), "project_name": project,
        "overwrite": False,
    }
    if spec.max_params is not None:
        # Over-budget architectures end as failed KerasTuner trials (see ``fit``); in a
        # space where most are over budget, KerasTuner's default of 3 consecutive failures
        # would end the search early.
        common["max_consecutive_failed_trials"] = MAX_CONSECUTIVE_OVER_BUDGET
    if tuner == "hyperband":
        cls: type = _Hyperband
        common |= {"max_epochs": spec.train.epochs, "factor": HYPERBAND_FACTOR,
                   "hyperband_iterations": 1}
    elif tuner == "bayesian":
        cls = _Bayesian
        common["max_trials"] = spec.trials or DEFAULT_MAX_TRIALS
    else:
        cls = _Random
        common["max_trials"] = spec.trials or DEFAULT_MAX_TRIALS
    instance = cls(**common)
    instance.recorder = recorder
    return instance


def _check_marker(folder: Path, settings: dict[str, Any]) -> None:
    """Refuse to resume a project made with another tuner or seed (it would mix states)."""
    marker = folder / MARKER
    if marker.is_file():
        stored = json.loads(marker.read_text())
        if stored != settings:
            diff = ", ".join(f"{k}: stored {stored.get(k)!r}, now {v!r}"
                             for k, v in settings.items() if stored.get(k) != v)
            raise KerasTunerError(f"KerasTuner project {folder} was made with other settings "
                                  f"({diff}): use another --study-name or --out")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(settings))


def run(spec: StudySpec, storage: optuna.storages.BaseStorage, study: optuna.Study,
        context: Context) -> int:
    """The engine's entry (``search.engines``): :func:`run_keras_tuner` with the spec's
    tuner and folder; trials are stored through the study, so ``storage`` is not used."""
    return run_keras_tuner(spec, context.data, study, spec.tuner, spec.out, context.report)


def run_keras_tuner(spec: StudySpec, data: Splits, study: optuna.Study, tuner: str, out: Path,
                    report: Report, *, seed: int = DEFAULT_SEED) -> int:
    """Search ``spec.space`` with KerasTuner; return the number of trials newly recorded.

    ``tuner`` is ``hyperband``, ``bayesian`` or ``random``; ``seed`` seeds KerasTuner's
    oracle (default 1). Re-running with the same arguments resumes the project in
    ``out / "keras_tuner" / <study name>``: completed trials are neither re-run nor
    recorded twice.
    """
    if tuner not in TUNERS:
        raise KerasTunerError(f"unknown tuner {tuner!r}: choose one of {', '.join(TUNERS)}")
    folder = project_dir(out, study.study_name)
    settings = {"tuner": tuner, "seed": seed, "max_epochs": spec.train.epochs,
                "max_trials": None if tuner == "hyperband" else
                (spec.trials or DEFAULT_MAX_TRIALS)}
    _check_marker(folder, {k: v for k, v in settings.items() if k != "max_trials"})
    recorder = _Recorder(study, spec, data, tuner, report)
    instance = make_tuner(spec, data, tuner, folder.parent, folder.name, recorder, seed)
    _record_missed(instance, recorder)
    if spec.timeout is not None:
        instance.deadline = time.monotonic() + spec.timeout
    with warnings.catch_warnings():
        # Hyperband loads a checkpoint into a freshly compiled model: Keras warns that the
        # new optimizer has no slots yet. Expected (KerasTuner restarts the optimizer).
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        with contextlib.suppress(_Stop):
            instance.search(epochs=spec.train.epochs, verbose=0)
    return recorder.added


def _record_missed(instance: keras_tuner.Tuner, recorder: _Recorder) -> None:
    """Completed KerasTuner trials missing from the study cannot be recorded (their curve
    and test accuracy are gone); this only happens if the study was changed by hand, so say
    so instead of silently continuing."""
    missing = sorted(t.trial_id for t in instance.oracle.trials.values()
                     if t.status == keras_tuner.engine.trial.TrialStatus.COMPLETED
                     and str(t.trial_id) not in recorder.done)
    if missing:
        print(f"warning: KerasTuner trial(s) {', '.join(missing)} completed but are not in "
              f"study {recorder.study.study_name!r} (was the study deleted?)", flush=True)
