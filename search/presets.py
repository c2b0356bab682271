"""Presets (TOML files shipped in the package) turned into a StudySpec, flags on top.

A StudySpec is plain, frozen data: everything a worker needs to run a study, and the part
of it that defines what the study measures (``identity``) is stored with the study so a
re-run with different settings is refused instead of silently mixing results.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from search import datasets, validation
from search.config import DEFAULTS, ConfigError, TrainConfig, split_values
from search.environment import positive_number
from search.errors import PresetError
from search.preset_files import read
from spaces import ArchSpec, SpecError, from_dict
from spaces.errors import SizeError
from spaces.space import Space, cell_key
from storage.artifacts import DEFAULT_KEEP, KEEP
from storage.claims import Unit
from storage.studies import check_study_name

if TYPE_CHECKING:
    from search.analysis import Rule

MODES = ("grid", "search")
TUNERS = ("hyperband", "bayesian", "random")
SAMPLERS = ("tpe", "random")
PRUNERS = ("hyperband", "median", "none")
DEFAULT_PRESET = "scaling"
SEARCH_SETTINGS = ("n_startup_trials", "min_resource", "reduction_factor")
# Bounds on what a preset may ask to build, checked for every grid cell and for the
# corners of a search space before anything is stored: a width of 10^6 would otherwise
# create a study, then exhaust memory (or wait for hours) in its first trial. Raise them
# with the environment variables for a larger machine.
MAX_PARAMS_ENV, MAX_ACTIVATION_ENV = "SEARCH_MAX_PARAMS", "SEARCH_MAX_ACTIVATION_GB"
MAX_PARAMS_DEFAULT = 100_000_000  # 400 MB of float32 weights, 1.2 GB more with Adam's moments
MAX_ACTIVATION_GB_DEFAULT = 8.0  # estimated layer outputs of one training batch (float32)
CORNERS_MAX = 4096  # search spaces: at most this many value combinations are checked


@dataclass(frozen=True)
class Cell:
    """One point of a grid: a family with its varying values and everything it trains with."""

    key: str
    space: Space
    varying: dict[str, Any]

    @property
    def values(self) -> dict[str, Any]:
        return self.space.values(self.varying)


@dataclass(frozen=True)
class StudySpec:
    preset: str
    description: str
    mode: str
    dataset: str
    train: TrainConfig
    seeds: int
    grids: tuple[Space, ...] = ()
    space: Space | None = None
    train_subset: int | None = None
    split_seed: int = 0
    sampler: str = "tpe"
    pruner: str = "hyperband"
    trials: int | None = None
    timeout: float | None = None
    data_dir: str | None = None
    storage: str | None = None
    study_name: str | None = None
    out: Path = field(default_factory=lambda: Path("runs"))
    engine: str = "optuna"
    tuner: str = "hyperband"
    # Architectures above this many parameters are pruned before training: a budget the
    # search must respect (the accuracy goal is for <= 1 M), not a preference it may trade.
    max_params: int | None = None
    # Test accuracy after every epoch (a tabulated benchmark's table; costs a test pass per
    # epoch). Never used to select: searches and analyses read validation accuracy.
    test_curve: bool = False
    # Search settings, chosen by replay (benchmarks/replay.py); None: Optuna's defaults
    # (TPE: 10 random start-up trials; Hyperband: min_resource 1, reduction factor 3).
    n_startup_trials: int | None = None
    min_resource: int | None = None
    reduction_factor: int | None = None
    # A sequential grid's [sequential] table (search.analysis.allocation.Rule's settings):
    # every cell starts with the rule's minimum seeds (``seeds``) and the grid adds seeds,
    # up to the cap, only where a comparison is still open. None: a fixed number of seeds.
    sequential: dict[str, Any] | None = None
    # Which trials keep their trained model as an Optuna artifact (storage.artifacts.KEEP)
    # and the folder of the artifact store (None: beside the storage, see
    # storage.artifacts.default_location). Neither changes what the study measures.
    keep_models: str = DEFAULT_KEEP
    artifacts: str | None = None

    def rule(self) -> Rule | None:
        """The sequential-seeds rule, None for a grid of a fixed number of seeds."""
        from search.analysis import rule_of  # NumPy and the analysis: not for --help

        return None if self.sequential is None else rule_of(self.sequential)

    def over_budget(self, params: int) -> str | None:
        """Why an architecture of ``params`` parameters is not trained, or None."""
        if self.max_params is not None and params > self.max_params:
            return f"{params:,} parameters exceed max_params {self.max_params:,}"
        return None

    @property
    def name(self) -> str:
        if self.study_name:
            return self.study_name
        engine = f"-kt-{self.tuner}" if self.engine == "keras-tuner" else ""
        return f"{self.preset}-{self.dataset}{engine}"

    def cells(self) -> list[Cell]:
        """Every grid cell in preset order (empty for a search)."""
        cells = [Cell(cell_key(g.family, v), g, v) for g in self.grids for v in g.grid()]
        keys = [c.key for c in cells]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise PresetError(f"preset {self.preset}: cell(s) {', '.join(dupes)} appear twice")
        return cells

    def units(self, cost: Mapping[str, float] | None = None) -> list[Unit]:
        """Cells x seeds, seed-major so a partial run already covers every cell once.

        With ``cost`` (per cell, e.g. forward FLOPs), each seed's cells run most expensive
        first (longest-processing-time order): workers then finish together rather than one
        training a large unit alone at the end, and the run ends on many small units, whose
        ETA errors average out instead of hanging on one large unit's early stop (default
        study, worst ETA error from the 25 % mark: 57 % in preset order, 28 % with the same
        recorded trials reordered, 13 % live until the last 10 s; docs/performance.md).
        """
        cells = self.cells()
        if cost:
            cells = sorted(cells, key=lambda c: -cost.get(c.key, 0))  # stable on ties
        return [Unit(c.key, seed, c.varying) for seed in range(self.seeds) for c in cells]

    def grid_choices(self) -> dict[str, list[Any]]:
        """Per varying name, every value it takes across the grids (one Optuna distribution)."""
        choices: dict[str, list[Any]] = {}
        for g in self.grids:
            for p in g.params:
                bucket = choices.setdefault(p.name, [])
                bucket.extend(v for v in p.choices if v not in bucket)
        return choices

    def identity(self) -> dict[str, Any]:
        """What the study measures; budget settings (seeds, trials, timeout) may change, a
        sequential grid's rule may not."""
        def space_data(s: Space) -> dict[str, Any]:
            return {"family": s.family, "fixed": dict(s.fixed),
                    "params": [p.__dict__ | {"choices": list(p.choices), "when": list(p.when)}
                               for p in s.params]}
        return {
            "mode": self.mode,
            "dataset": self.dataset,
            "train_subset": self.train_subset,
            "split_seed": self.split_seed,
            # Settings at their default are left out, so a training setting added from now
            # on (with a default that keeps the old behaviour) keeps studies' identity.
            # Studies made before this form (2026-11-28, when pools also began to pad) are
            # refused, rightly: the same settings now build a different network.
            "train": {k: v for k, v in self.train.__dict__.items() if v != DEFAULTS[k]},
            "grids": [space_data(g) for g in self.grids],
            "space": space_data(self.space) if self.space else None,
            "sampler": self.sampler if self.mode == "search" else None,
            "pruner": self.pruner if self.mode == "search" else None,
            "engine": self.engine,
            "tuner": self.tuner if self.engine == "keras-tuner" else None,
            # Only when set, so studies created before the key existed keep their identity.
            **({"max_params": self.max_params} if self.max_params is not None else {}),
            **({"test_curve": True} if self.test_curve else {}),
            **{k: v for k in SEARCH_SETTINGS if (v := getattr(self, k)) is not None},
            # The whole rule, defaults included: a resume with another rule is refused.
            **({"sequential": asdict(rule)} if (rule := self.rule()) else {}),
        }


def resolve(family: str, values: dict[str, Any], base: TrainConfig,
            input_shape: tuple[int, int, int], num_classes: int = 10
            ) -> tuple[ArchSpec, TrainConfig]:
    """A trial's values -> the architecture to build and the training settings to use."""
    arch_values, train_values = split_values(values)
    arch = from_dict({"family": family, "input_shape": list(input_shape),
                      "num_classes": num_classes, **arch_values})
    return arch, replace(base, **train_values)


def make_sampler(spec: StudySpec, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """The spec's sampler; grids enqueue fixed values, so theirs never samples."""
    if spec.mode == "search" and spec.sampler == "tpe":
        # constant_liar: workers sharing the study do not all sample the same point.
        startup = {} if spec.n_startup_trials is None else {
            "n_startup_trials": spec.n_startup_trials}
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          **startup)
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The spec's pruner, fed per-epoch validation accuracy (grids never prune)."""
    if spec.mode == "grid" or spec.pruner == "none":
        return optuna.pruners.NopPruner()
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_warmup_steps=1)
    return optuna.pruners.HyperbandPruner(min_resource=spec.min_resource or 1,
                                          max_resource=spec.train.epochs,
                                          reduction_factor=spec.reduction_factor or 3)


def _positive(name: str, value: Any, kind: type = int) -> Any:
    """None (the key is unset), else a positive integer (a whole float such as 3.0 too) or,
    with ``kind=float``, a positive number as a float."""
    if value is None:
        return None
    if kind is float:
        return float(validation.positive_number(name, value, PresetError))
    return validation.positive_int(name, value, PresetError, floats=True)


def load(name_or_file: str = DEFAULT_PRESET, **overrides: Any) -> StudySpec:
    """Read a preset and apply command-line overrides (None means 'keep the preset's')."""
    name, raw = read(name_or_file)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    try:
        return _build(name, raw, overrides)
    except RecursionError:  # a value nested just shallowly enough for tomllib
        raise PresetError(f"preset {name}: a value nests arrays or tables too deeply") from None
    except (SpecError, ConfigError, TypeError, ValueError) as exc:
        if isinstance(exc, PresetError):
            raise
        raise PresetError(f"preset {name}: {exc}") from None


def _build(name: str, raw: dict[str, Any], overrides: dict[str, Any]) -> StudySpec:
    raw = dict(raw)
    train_raw = dict(raw.pop("train", {}))
    for key in ("epochs", "batch_size"):
        if key in overrides:
            train_raw[key] = _positive(key, overrides.pop(key))
    grids = tuple(Space.parse(g) for g in raw.pop("grid", []))
    space = Space.parse(raw.pop("space")) if "space" in raw else None
    sequential = _sequential(name, raw.pop("sequential", None),
                             "seeds" in raw or "seeds" in overrides)
    known = {"description", "mode", "dataset", "seeds", "train_subset", "split_seed",
             "sampler", "pruner", "trials", "timeout", "engine", "tuner", "max_params",
             "test_curve", "keep_models", *SEARCH_SETTINGS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PresetError(f"preset {name}: unknown key(s) {', '.join(unknown)}")
    settings = {**raw, **overrides}
    spec = StudySpec(
        preset=name,
        description=settings.get("description", ""),
        mode=settings.get("mode", "grid"),
        dataset=settings.get("dataset", "fashion_mnist"),
        train=TrainConfig(**train_raw),
        seeds=(_positive("seeds", settings.get("seeds", 1)) if sequential is None
               else sequential[1].minimum),
        grids=grids,
        space=space,
        train_subset=_positive("train_subset", settings.get("train_subset")),
        split_seed=validation.int_between("split_seed", settings.get("split_seed", 0),
                                          PresetError, 0, 2**63 - 1,
                                          what="an integer from 0 to 2^63 - 1"),
        sampler=settings.get("sampler", "tpe"),
        pruner=settings.get("pruner", "hyperband"),
        trials=_positive("trials", settings.get("trials")),
        timeout=_positive("timeout", settings.get("timeout"), float),
        data_dir=settings.get("data_dir"),
        storage=settings.get("storage"),
        study_name=(None if settings.get("study_name") is None
                    else check_study_name(str(settings["study_name"]))),
        out=Path(settings.get("out", "runs")),
        engine=settings.get("engine", "optuna"),
        tuner=settings.get("tuner", "hyperband"),
        max_params=_positive("max_params", settings.get("max_params")),
        test_curve=validation.boolean("test_curve", settings.get("test_curve", False),
                                      PresetError),
        **{k: _positive(k, settings.get(k)) for k in SEARCH_SETTINGS},
        sequential=None if sequential is None else sequential[0],
        keep_models=settings.get("keep_models", DEFAULT_KEEP),
        artifacts=settings.get("artifacts"),
    )
    _check(spec)
    return spec


def _sequential(name: str, table: Any, seeds: bool) -> tuple[dict[str, Any], Rule] | None:
    """A preset's ``[sequential]`` table and its rule, checked now (None: no table). Its
    seeds are the rule's: ``seeds`` (in the preset or ``--seeds``) is refused beside it."""
    if table is None:
        return None
    from search.analysis import RuleError, rule_of

    try:
        rule = rule_of(table)
    except RuleError as exc:
        raise PresetError(f"preset {name}: [sequential] {exc}") from None
    if seeds:
        raise PresetError(f"preset {name}: a sequential grid's seeds are set by its "
                          f"[sequential] table (minimum {rule.minimum}, cap {rule.cap}), "
                          "not by seeds or --seeds")
    return dict(table), rule


def _check(spec: StudySpec) -> None:
    for label, value, allowed in (("mode", spec.mode, MODES),
                                  ("sampler", spec.sampler, SAMPLERS),
                                  ("pruner", spec.pruner, PRUNERS), ("tuner", spec.tuner, TUNERS),
                                  ("keep_models", spec.keep_models, KEEP)):
        if value not in allowed:
            raise PresetError(f"unknown {label} {value!r}: choose one of {', '.join(allowed)}")
    if spec.reduction_factor is not None:
        validation.int_at_least("reduction_factor", spec.reduction_factor, PresetError, 2)
    if spec.min_resource is not None and spec.min_resource > spec.train.epochs:
        raise PresetError(f"min_resource ({spec.min_resource}) must not exceed the epochs "
                          f"({spec.train.epochs})")
    if spec.mode != "grid" and spec.sequential is not None:
        raise PresetError(f"preset {spec.preset}: [sequential] applies to grid presets")
    data = _dataset(spec)
    if spec.mode == "grid":
        if any(getattr(spec, k) is not None for k in SEARCH_SETTINGS):
            raise PresetError(f"preset {spec.preset}: {', '.join(SEARCH_SETTINGS)} apply to "
                              "search presets")
        if spec.max_params is not None:  # a pruned unit would be queued again forever
            raise PresetError(f"preset {spec.preset}: max_params applies to search presets; "
                              "leave over-budget cells out of the grid instead")
        if not spec.grids:
            raise PresetError(f"preset {spec.preset}: a grid preset needs [[grid]] tables")
        for cell in spec.cells():  # fail now, not in the middle of a study
            resolve(cell.space.family, cell.values, spec.train, data.input_shape,
                    data.num_classes)
    elif spec.space is None:
        raise PresetError(f"preset {spec.preset}: a search preset needs a [space] table")
    _check_size(spec, data)


def _dataset(spec: StudySpec) -> datasets.Dataset:
    """The spec's dataset; the user's own data is read and validated here, before any
    study is touched (a bad file is a DataError: one line, exit 1)."""
    try:
        return datasets.get(spec.dataset)
    except datasets.UnknownDatasetError as exc:
        raise PresetError(str(exc)) from None


def size_limits() -> tuple[int, float]:
    """The most parameters an architecture may have, and the most GB its estimated
    activations for one training batch may take (``SEARCH_MAX_PARAMS``, default 100 M;
    ``SEARCH_MAX_ACTIVATION_GB``, default 8)."""
    return (int(positive_number(MAX_PARAMS_ENV, MAX_PARAMS_DEFAULT, PresetError)),
            positive_number(MAX_ACTIVATION_ENV, MAX_ACTIVATION_GB_DEFAULT, PresetError))


def _corners(space: Space) -> list[dict[str, Any]]:
    """Value combinations whose sizes bound a search space's: every choice, and the ends
    of every range (size grows with width, units and growth; depth's extremes bound it
    too, the flatten head shrinking as the convolutions grow)."""
    options = []
    for p in space.params:
        if p.kind == "choice":
            options.append(list(p.choices))
        elif p.kind == "int" and p.high - p.low <= 8 * (p.step or 1):
            options.append(list(range(int(p.low), int(p.high) + 1, int(p.step or 1))))
        else:
            options.append(list(dict.fromkeys((p.low, p.high))))
    if math.prod(len(o) for o in options) > CORNERS_MAX:  # ends only, of ordered values
        options = [list(dict.fromkeys((min(o, key=_order), max(o, key=_order))))
                   for o in options]
    names = [p.name for p in space.params]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*options)]


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _check_size(spec: StudySpec, data: datasets.Dataset) -> None:
    """Refuse, before anything is stored, an architecture over :func:`size_limits`."""
    max_params, max_gb = size_limits()
    if spec.mode == "grid":
        candidates = [(c.space, c.values) for c in spec.cells()]
    else:
        assert spec.space is not None
        candidates = [(spec.space, spec.space.values(v)) for v in _corners(spec.space)]
    first_error: Exception | None = None
    built = False
    for space, values in candidates:
        try:
            arch, train = resolve(space.family, values, spec.train, data.input_shape,
                                  data.num_classes)
        except SizeError:
            raise
        except (SpecError, ConfigError, TypeError) as exc:
            # A search's invalid corner fails its trial, as it always did; but when no
            # corner builds (a fixed value is wrong: growth = nan), no trial could.
            first_error = first_error or exc
            continue
        built = True
        cost = arch.cost()
        gb = cost.activation_bytes(train.batch_size) / 1e9
        if cost.params > max_params:
            raise PresetError(f"preset {spec.preset}: {arch.model_name()} has "
                              f"{cost.params:,} parameters, more than {max_params:,} "
                              f"(raise {MAX_PARAMS_ENV} to allow it)")
        if gb > max_gb:
            raise PresetError(f"preset {spec.preset}: {arch.model_name()} needs about "
                              f"{gb:,.1f} GB of activations per batch of {train.batch_size}, "
                              f"more than {max_gb:g} GB (raise {MAX_ACTIVATION_ENV} to "
                              "allow it)")
    if not built and first_error is not None:
        raise PresetError(f"preset {spec.preset}: {first_error}")
