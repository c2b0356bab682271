"""Replay searchers against a tabulated benchmark: hundreds of searches in minutes, no training.

    python benchmarks/replay.py [--storage journal:///results/tabular.journal]
        [--study-name tabular-fashion_mnist] [--repetitions 100] [--budget-trainings 20]
        [--jobs N] [--searcher NAME[:k=v,...]]... [--real STUDY=SEARCHER]...
        [--real-storage journal:///results/tabular-search.journal]
        [--json results/replay/replay.json] [--html results/replay/anytime.html]

The table is a grid study of the ``tabular`` preset: every configuration of a finite
space trained once per seed, with the validation accuracy (intermediate values), test
accuracy (``test_curve``) and seconds (``epoch_seconds``) of every epoch, at a constant
learning rate, so the first k epochs of a run are what a k-epoch training gives.

A searcher asks through the project's own adapters (``Space.suggest`` for Optuna,
``spaces.kt.hyperparameters`` for KerasTuner) and real optimisers (Optuna's samplers and
pruners, KerasTuner's oracles); the table answers: the asked configuration's run for a
seed drawn at random (seeded per repetition), epoch by epoch. A simulated clock charges
each epoch's recorded seconds; a search stops at the budget, fixed before the run as
``--budget-trainings`` full trainings of the table's mean cost. As in the real engines:

- Optuna: the sampler and pruner ``search.presets`` builds for a search preset with the
  searcher's settings; one trial trains up to the table's epochs, reporting validation accuracy at
  steps 0, 1, ... (as ``KerasPruningCallback`` does); a pruned trial is told PRUNED; a
  complete one's value is its last epoch's validation accuracy (``search.objective``).
- KerasTuner: a trial's score is the last epoch's validation accuracy
  (``search.engines.keras_tuner``); a Hyperband round continued from its parent
  (``tuner/trial_id``) keeps the parent's seed and is charged only its new epochs. The
  table's epoch m stands for "parent's weights + m - k more epochs", which assumes the
  restarted optimizer changes little.

What is measured, per searcher and repetition: the incumbent (the configuration the
searcher would return: Optuna's best trial, KerasTuner's best trial) after each result,
and its **quality**: the table's mean test accuracy over seeds at full training, never
seen by a searcher. Regret = best quality in the table - incumbent quality. Targets are
the top 10 %, top 5 % and best configuration by quality; the time to a target is the first
time the incumbent's quality reaches it. Intervals: repetitions are the unit (t-interval
of the mean, Wilson interval of a fraction, distribution-free interval of a median).

Replay and reality: ``--real STUDY=SEARCHER`` reads a real search of the same space and
training (preset ``tabular-search``, sampler and pruner as SEARCHER's) and puts it on the
replay's clock (each epoch it trained charged the table's seconds for that configuration
and epoch); its regret is compared with SEARCHER's replays: where it falls among them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import math
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import optuna

from benchmarks.throughput import machine_info, now, write_json
from search.stats import Interval, mean_ci
from spaces.space import Space
from storage import TrialRecord, open_storage, trial_records
from storage.studies import find_study

METRIC = "val_accuracy"
TARGETS = (("top 10 %", 0.90), ("top 5 %", 0.95), ("best", 1.0))  # quantiles of quality
CHECKPOINTS = (0.25, 0.5, 1.0)  # budget fractions of the comparison table
SEARCHERS = ("optuna-random", "optuna-random-median", "optuna-random-hyperband", "optuna-tpe",
             "optuna-tpe-median", "optuna-tpe-hyperband", "kt-random", "kt-bayesian",
             "kt-hyperband")
# The published replay (docs/performance.md): every searcher as shipped, then the settings
# the search preset's defaults were chosen among. Fixed before the table was replayed.
DEFAULT_SEARCHERS = (*SEARCHERS, "optuna-tpe:n_startup_trials=5",
                     "optuna-tpe-hyperband:n_startup_trials=5",
                     "optuna-tpe-hyperband:n_startup_trials=20",
                     "optuna-tpe-hyperband:min_resource=3",
                     "optuna-tpe-hyperband:reduction_factor=2",
                     "optuna-tpe-median:n_startup_trials=5")


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Run:
    """One configuration trained with one seed: per-epoch values."""

    val: tuple[float, ...]
    test: tuple[float, ...]
    seconds: tuple[float, ...]


Config = tuple[Any, ...]  # values in ``Table.names`` order


@dataclass(frozen=True)
class Table:
    space: Space  # the configurations, as a declared space both engines read
    runs: Mapping[Config, tuple[Run, ...]]
    epochs: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.space.params)

    def config(self, values: Mapping[str, Any]) -> Config:
        return tuple(values[n] for n in self.names)

    @functools.cached_property
    def _qualities(self) -> dict[Config, float]:
        # Regret is read a million times for an anytime figure of 1,000 repetitions.
        return {c: float(np.mean([r.test[-1] for r in runs])) for c, runs in self.runs.items()}

    def quality(self, config: Config) -> float:
        """Mean test accuracy over seeds after full training: what the searcher gets."""
        return self._qualities[config]

    @functools.cached_property
    def best_quality(self) -> float:
        return max(self._qualities.values())

    @functools.cached_property
    def mean_quality(self) -> float:
        return float(np.mean(list(self._qualities.values())))

    def mean_training_seconds(self) -> float:
        return float(np.mean([sum(r.seconds) for runs in self.runs.values() for r in runs]))

    @classmethod
    def from_records(cls, records: Sequence[TrialRecord]) -> Table:
        done = [r for r in records if r.complete]
        if not done:
            raise SystemExit("error: the table study has no completed trial")
        names = sorted(done[0].params)
        choices = {n: sorted({r.params[n] for r in done}) for n in names}
        runs: dict[Config, list[Run]] = {}
        for r in done:
            if not r.test_curve or not r.epoch_seconds:
                raise SystemExit(f"error: trial {r.number} has no per-epoch test accuracy or "
                                 "seconds: the table must come from a preset with test_curve")
            runs.setdefault(tuple(r.params[n] for n in names), []).append(
                Run(r.val_curve, r.test_curve, r.epoch_seconds))
        lengths = {len(x.val) for rs in runs.values() for x in rs}
        if len(lengths) != 1:
            raise SystemExit(f"error: runs of different lengths {sorted(lengths)}: the table "
                             "needs every configuration trained for the same epochs")
        space = Space.parse({"family": done[0].family, "params": choices})
        return cls(space, {k: tuple(v) for k, v in runs.items()}, lengths.pop())


def load_table(url: str, name: str) -> Table:
    return Table.from_records(trial_records(find_study(open_storage(url, create=False), name)))


# --------------------------------------------------------------------------- one search


@dataclass
class Trace:
    """What a search saw and chose, in simulated time: a point per result."""

    seconds: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    incumbent: list[Config] = field(default_factory=list)
    seen: list[tuple[Config, int, int, float]] = field(default_factory=list)  # config, seed,
    # epoch (1-based), value: every value handed to the searcher


class Clock:
    """Simulated seconds and epochs; refuses an epoch past the budget."""

    def __init__(self, budget_seconds: float) -> None:
        self.budget, self.seconds, self.epochs = budget_seconds, 0.0, 0

    def charge(self, seconds: float) -> bool:
        if self.seconds + seconds > self.budget:
            return False
        self.seconds += seconds
        self.epochs += 1
        return True


def _note(trace: Trace, clock: Clock, incumbent: Config | None) -> None:
    if incumbent is not None:
        trace.seconds.append(clock.seconds)
        trace.epochs.append(clock.epochs)
        trace.incumbent.append(incumbent)


def replay_optuna(table: Table, study: optuna.Study, budget_seconds: float,
                  rng: np.random.Generator) -> Trace:
    """Ask, train from the table epoch by epoch, prune or tell, until the budget is spent."""
    clock, trace = Clock(budget_seconds), Trace()
    while True:
        trial = study.ask()
        config = table.config(table.space.suggest(trial))
        seeds = table.runs[config]
        seed = int(rng.integers(len(seeds)))
        run = seeds[seed]
        for epoch, (value, seconds) in enumerate(zip(run.val, run.seconds, strict=True)):
            if not clock.charge(seconds):
                return trace  # the trial in flight at the budget ends uncounted
            trace.seen.append((config, seed, epoch + 1, value))
            trial.report(value, epoch)
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, run.val[-1])
            best = study.best_trial
            _note(trace, clock, table.config(best.params))


def replay_keras_tuner(table: Table, oracle: Any, budget_seconds: float,
                       rng: np.random.Generator) -> Trace:
    """KerasTuner's oracle loop (create, update, end), answered by the table."""
    from keras_tuner.engine import trial as trial_module

    clock, trace = Clock(budget_seconds), Trace()
    seed_of: dict[str, int] = {}
    while True:
        trial = oracle.create_trial("replay")
        if trial.status != trial_module.TrialStatus.RUNNING:
            return trace  # the oracle has nothing more to try
        values = trial.hyperparameters.values
        config = table.config(values)
        seeds = table.runs[config]
        parent = values.get("tuner/trial_id")
        seed = seed_of[parent] if parent else int(rng.integers(len(seeds)))
        seed_of[trial.trial_id] = seed
        start = int(values.get("tuner/initial_epoch", 0))
        stop = int(values.get("tuner/epochs", table.epochs))
        run = seeds[seed]
        for epoch in range(start, stop):
            if not clock.charge(run.seconds[epoch]):
                return trace
        trace.seen.append((config, seed, stop, run.val[stop - 1]))
        oracle.update_trial(trial.trial_id, {METRIC: run.val[stop - 1]}, step=stop - 1)
        trial.status = trial_module.TrialStatus.COMPLETED
        oracle.end_trial(trial)
        (best,) = oracle.get_best_trials(1)
        _note(trace, clock, table.config(best.hyperparameters.values))


def real_trace(table: Table, records: Sequence[TrialRecord]) -> Trace:
    """A real search on the table's space (preset ``tabular-search``), on the replay's
    clock: in trial order, each trial is charged the table's mean seconds (over seeds) of
    every epoch it trained, so only what the real search saw and chose differs from a
    replay, not the machine's speed that day; the incumbent is Optuna's best trial."""
    clock, trace = Clock(math.inf), Trace()
    best: tuple[float, Config] | None = None
    for r in records:
        config = table.config(r.params)
        runs = table.runs[config]
        for epoch in range(len(r.val_curve)):
            clock.charge(float(np.mean([run.seconds[epoch] for run in runs])))
        if not r.complete:
            continue
        if best is None or r.val_accuracy > best[0]:
            best = (r.val_accuracy, config)
        _note(trace, clock, best[1])
    return trace


def compare_real(table: Table, real: Trace, replayed: Sequence[Trace],
                 budget_seconds: float) -> dict[str, Any]:
    """A real run's regret at each checkpoint against the replayed runs' distribution."""
    rows = {}
    for f in CHECKPOINTS:
        mine = regret(table, real, f * budget_seconds)
        others = [regret(table, r, f * budget_seconds) for r in replayed]
        rows[f"{int(100 * f)}%"] = {
            "real_regret_pp": mine, "replay_regret_pp": _interval(mean_ci(others)),
            # where the real run falls: the share of replayed runs that did better
            "replays_better": float(np.mean([o < mine - 1e-9 for o in others]))}
    return rows


# --------------------------------------------------------------------------- searchers


SETTINGS = {"optuna": ("n_startup_trials", "min_resource", "reduction_factor"),
            "kt": ("reduction_factor", "num_initial_points")}


def parse_searcher(text: str) -> tuple[str, dict[str, float]]:
    """``optuna-tpe-hyperband:n_startup_trials=5,reduction_factor=3`` -> name, settings."""
    name, _, rest = text.partition(":")
    if name not in SEARCHERS:
        raise SystemExit(f"error: unknown searcher {name!r}: choose from {', '.join(SEARCHERS)}")
    allowed = SETTINGS[name.split("-")[0]]
    settings = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in allowed or not value.isdigit():
            raise SystemExit(f"error: {name} takes {', '.join(allowed)} as KEY=INTEGER, "
                             f"got {item!r}")
        settings[key] = float(value)
    return name, settings


def _optuna_study(name: str, s: Mapping[str, float], table: Table, seed: int) -> optuna.Study:
    """The sampler and pruner ``search.presets`` builds for a search preset with these
    settings (the same function the real engine calls)."""
    from search.config import TrainConfig
    from search.presets import StudySpec, make_pruner, make_sampler

    _, sampler, *rest = name.split("-")
    spec = StudySpec(preset="replay", description="", mode="search", dataset="fashion_mnist",
                     train=TrainConfig(epochs=table.epochs), seeds=1, space=table.space,
                     sampler=sampler, pruner=rest[0] if rest else "none",
                     **{k: int(v) for k, v in s.items()})
    # Hyperband assigns trials to brackets by a hash of the study name: name it, or every
    # run would differ.
    return optuna.create_study(study_name=f"replay-{name}-{seed}", direction="maximize",
                               sampler=make_sampler(spec, seed), pruner=make_pruner(spec))


def _oracle(name: str, s: Mapping[str, float], table: Table, seed: int, folder: str) -> Any:
    import keras_tuner

    from compat.keras_tuner import set_project_dir
    from spaces.kt import hyperparameters

    hp = keras_tuner.HyperParameters()
    hyperparameters(table.space, hp)
    objective = keras_tuner.Objective(METRIC, "max")
    common = {"objective": objective, "hyperparameters": hp, "seed": seed,
              "tune_new_entries": False, "allow_new_entries": False}
    if name == "kt-hyperband":
        oracle = keras_tuner.oracles.HyperbandOracle(
            max_epochs=table.epochs, factor=int(s.get("reduction_factor", 3)),
            hyperband_iterations=1000, **common)  # the budget ends it, not the iterations
    elif name == "kt-bayesian":
        initial = s.get("num_initial_points")
        oracle = keras_tuner.oracles.BayesianOptimizationOracle(
            max_trials=100_000, num_initial_points=int(initial) if initial else None, **common)
    else:
        oracle = keras_tuner.oracles.RandomSearchOracle(max_trials=100_000, **common)
    set_project_dir(oracle, folder, f"replay-{seed}")  # where it saves its trials
    oracle.verbose = 0
    return oracle


def _quiet() -> None:
    """Optuna's per-trial log and its experimental-feature warnings, off (also in workers)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def replay_all(searchers: Sequence[str], table: Table, budget_seconds: float,
               repetitions: int, jobs: int) -> dict[str, list[Trace]]:
    """Every searcher's repetitions, in ``jobs`` processes. Each repetition is seeded by
    its searcher and index alone, so the traces do not depend on ``jobs`` (tested)."""
    tasks = [(text, rep) for text in searchers for rep in range(repetitions)]
    run = functools.partial(_search_task, table=table, budget_seconds=budget_seconds)
    traces: dict[str, list[Trace]] = {text: [] for text in searchers}
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        results: Any = map(run, tasks)
        if jobs > 1:  # spawn, not fork: KerasTuner's workers import TensorFlow
            pool = stack.enter_context(concurrent.futures.ProcessPoolExecutor(
                jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet))
            results = pool.map(run, tasks, chunksize=max(1, repetitions // 4))
        for (text, _), trace in zip(tasks, results, strict=True):
            traces[text].append(trace)
            if len(traces[text]) == repetitions:
                print(f"  {text}: done at {time.perf_counter() - start:.1f} s", flush=True)
    return traces


def _search_task(task: tuple[str, int], table: Table, budget_seconds: float) -> Trace:
    return search_once(task[0], table, budget_seconds, task[1])


def search_once(text: str, table: Table, budget_seconds: float, rep: int) -> Trace:
    """Repetition ``rep`` of one searcher; its seeds are its own (no two searchers share a
    sampler seed or the seeds drawn for its runs) and the same on every machine."""
    name, settings = parse_searcher(text)
    seed = (zlib.crc32(text.encode()) + rep) % 2**31
    rng = np.random.default_rng([seed, rep])  # which seed's run answers each trial
    if name.startswith("optuna"):
        study = _optuna_study(name, settings, table, seed)
        return replay_optuna(table, study, budget_seconds, rng)
    with tempfile.TemporaryDirectory(prefix="replay-kt-") as folder:
        oracle = _oracle(name, settings, table, seed, folder)
        return replay_keras_tuner(table, oracle, budget_seconds, rng)


# --------------------------------------------------------------------------- summaries


def _at(trace: Trace, seconds: float) -> Config | None:
    """The incumbent at a simulated time (None before the first result)."""
    i = int(np.searchsorted(trace.seconds, seconds, side="right"))
    return trace.incumbent[i - 1] if i else None


def regret(table: Table, trace: Trace, seconds: float) -> float:
    """Best quality in the table minus the incumbent's, in pp. Before a search's first
    result it has nothing to return, and is charged what a configuration picked at random
    gives (the table's mean quality): a search that has not finished a training yet is no
    better than a guess, and charging 0 % accuracy would let that instant dominate means."""
    config = _at(trace, seconds)
    got = table.quality(config) if config is not None else table.mean_quality
    return 100 * (table.best_quality - got)


def _first_reaching(trace: Trace, table: Table, level: float) -> tuple[float, float]:
    for s, e, config in zip(trace.seconds, trace.epochs, trace.incumbent, strict=True):
        if table.quality(config) >= level - 1e-12:
            return s, float(e)
    return math.inf, math.inf


def _fraction(k: int, n: int) -> dict[str, float]:
    from scipy import stats

    ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    return {"value": k / n, "low": float(ci.low), "high": float(ci.high)}


def _median(values: Sequence[float]) -> dict[str, float]:
    """Median with a distribution-free 95 % interval; runs that never reached count as inf."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    median = float(np.median(x))
    ci = stats.quantile_test(x, q=median if math.isfinite(median) else 0.0,
                             p=0.5).confidence_interval(0.95)
    return {"value": median, "low": float(ci.low), "high": float(ci.high)}


def _interval(i: Interval) -> dict[str, float]:
    return {"value": i.mean, "low": i.low, "high": i.high}


def summarize(table: Table, traces: Mapping[str, list[Trace]],
              budget_seconds: float) -> dict[str, Any]:
    qualities = np.array([table.quality(c) for c in table.runs])
    levels = {label: float(np.quantile(qualities, q)) for label, q in TARGETS}
    rows = {}
    for name, runs in traces.items():
        row: dict[str, Any] = {
            "repetitions": len(runs),
            "trials_per_run": float(np.mean([len(r.incumbent) for r in runs])),
            "regret_pp": {f"{int(100 * f)}%": _interval(mean_ci(
                [regret(table, r, f * budget_seconds) for r in runs])) for f in CHECKPOINTS},
        }
        for label, level in levels.items():
            reached = [_first_reaching(r, table, level) for r in runs]
            row[label] = {
                "fraction": _fraction(sum(math.isfinite(s) for s, _ in reached), len(runs)),
                "seconds": _median([s for s, _ in reached]),
                "epochs": _median([e for _, e in reached]),
            }
        rows[name] = row
    return {"best_quality": table.best_quality, "mean_quality": table.mean_quality,
            "targets": levels, "searchers": rows}


def verdict(summary: dict[str, Any]) -> list[str]:
    """Which searcher has the lowest mean regret at each checkpoint, and by how much
    (nothing to rank with a single searcher, as in a ``--real`` check of one)."""
    lines: list[str] = []
    if len(summary["searchers"]) < 2:
        return lines
    for checkpoint in (f"{int(100 * f)}%" for f in CHECKPOINTS):
        ranked = sorted(summary["searchers"].items(),
                        key=lambda kv: kv[1]["regret_pp"][checkpoint]["value"])
        (first, a), (second, b) = ranked[0], ranked[1]
        ra, rb = a["regret_pp"][checkpoint], b["regret_pp"][checkpoint]
        separated = ra["high"] < rb["low"]
        lines.append(f"at {checkpoint} of the budget: {first} (regret {ra['value']:.2f} pp "
                     f"[{ra['low']:.2f}, {ra['high']:.2f}]) "
                     + ("ahead of" if separated else "not separated from")
                     + f" {second} ({rb['value']:.2f} pp [{rb['low']:.2f}, {rb['high']:.2f}])")
    return lines


def _ci(r: dict[str, float], scale: float = 1.0, digits: int = 2) -> str:
    return (f"{scale * r['value']:.{digits}f} [{scale * r['low']:.{digits}f}, "
            f"{scale * r['high']:.{digits}f}]")


def text_table(summary: dict[str, Any]) -> str:
    """Regret at the checkpoints, then per target: how often and how fast it was reached."""
    checkpoints = [f"{int(100 * f)}%" for f in CHECKPOINTS]
    head = f"{'searcher':<34}" + "".join(f"{'regret pp @' + c:>26}" for c in checkpoints)
    lines = [head, "-" * len(head)]
    for name, row in summary["searchers"].items():
        lines.append(f"{name:<34}" + "".join(f"{_ci(row['regret_pp'][c]):>26}"
                                             for c in checkpoints))
    head = f"{'searcher':<34}" + "".join(f"{label + ': reached, median s':>40}"
                                         for label, _ in TARGETS)
    lines += ["", head, "-" * len(head)]
    for name, row in summary["searchers"].items():
        cells = ""
        for label, _ in TARGETS:
            f, t = row[label]["fraction"], row[label]["seconds"]
            cells += f"{_ci(f, 100, 0)} %, {_ci(t, 1, 0)}".rjust(40)
        lines.append(f"{name:<34}{cells}")
    lines.append("regret: the best configuration's mean test accuracy minus the incumbent's "
                 "(mean [95 % CI] over repetitions; before a first result, minus the mean "
                 "configuration's, as a random pick would give); reached: share of "
                 "repetitions whose incumbent reached the target [Wilson 95 % CI]; median "
                 "simulated seconds to it [distribution-free 95 % CI], inf when fewer than "
                 "half reached it")
    return "\n".join(lines)


def anytime_figure(table: Table, traces: Mapping[str, list[Trace]], budget_seconds: float):
    """Median and quartiles of regret against simulated seconds, one line per searcher."""
    import plotly.graph_objects as go

    grid = np.linspace(0, budget_seconds, 101)[1:]
    fig = go.Figure()
    for name, runs in traces.items():
        curves = np.array([[regret(table, r, t) for t in grid] for r in runs])
        q1, med, q3 = np.percentile(curves, [25, 50, 75], axis=0)
        fig.add_scatter(x=grid, y=med, name=name, mode="lines")
        fig.add_scatter(x=np.r_[grid, grid[::-1]], y=np.r_[q3, q1[::-1]], fill="toself",
                        opacity=0.15, line={"width": 0}, name=f"{name} (quartiles)",
                        showlegend=False, hoverinfo="skip")
    fig.update_layout(title="Regret of the incumbent against simulated time (median, "
                            "quartiles)", xaxis_title="simulated seconds",
                      yaxis_title="regret, pp of test accuracy")
    return fig


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--storage", default="journal:///results/tabular.journal")
    p.add_argument("--study-name", default="tabular-fashion_mnist")
    p.add_argument("--repetitions", type=int, default=100)
    p.add_argument("--budget-trainings", type=float, default=20,
                   help="the budget, in full trainings of the table's mean cost")
    p.add_argument("--searcher", action="append", dest="searchers", metavar="NAME[:k=v,...]",
                   help=f"one of {', '.join(SEARCHERS)}; Optuna's take "
                        f"{', '.join(SETTINGS['optuna'])}, KerasTuner's "
                        f"{', '.join(SETTINGS['kt'])} (repeat the flag; default: the published "
                        "set, every searcher as shipped and 6 Optuna settings)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="processes replaying (default: one per core); results do not "
                        "depend on it")
    p.add_argument("--real", action="append", default=[], metavar="STUDY=SEARCHER",
                   help="a real search on the table's space (preset tabular-search) in "
                        "--real-storage, compared with SEARCHER's replays (repeat the flag)")
    p.add_argument("--real-storage", default="journal:///results/tabular-search.journal")
    p.add_argument("--json", default="results/replay/replay.json")
    p.add_argument("--html", default="results/replay/anytime.html")
    args = p.parse_args(argv)
    searchers = args.searchers or list(DEFAULT_SEARCHERS)
    for text in searchers:
        parse_searcher(text)  # a typo fails before any replay
    real = dict(item.partition("=")[::2] for item in args.real)
    for study, text in real.items():
        if text not in searchers:
            raise SystemExit(f"error: --real {study}={text}: {text!r} is not replayed "
                             "(add --searcher with the same text)")
    _quiet()
    table = load_table(args.storage, args.study_name)
    budget = args.budget_trainings * table.mean_training_seconds()
    print(f"table: {len(table.runs)} configurations x {len(next(iter(table.runs.values())))} "
          f"seeds x {table.epochs} epochs; budget {budget:,.0f} simulated s "
          f"({args.budget_trainings:g} mean trainings); {args.repetitions} repetitions",
          flush=True)
    start = time.perf_counter()
    traces = replay_all(searchers, table, budget, args.repetitions, args.jobs)
    summary = summarize(table, traces, budget)
    lines = verdict(summary)
    print("\n" + text_table(summary) + "\n\n" + "\n".join(lines))
    checks = {}
    for study, text in real.items():
        records = trial_records(find_study(open_storage(args.real_storage, create=False),
                                           study))
        checks[study] = {"searcher": text, "trials": len(records), **compare_real(
            table, real_trace(table, records), traces[text], budget)}
        last = checks[study]["100%"]
        print(f"real run {study} ({text}, {len(records)} trials): regret "
              f"{last['real_regret_pp']:.2f} pp at the budget; its replays "
              f"{_ci(last['replay_regret_pp'])} pp, {100 * last['replays_better']:.0f} % of "
              "them better")
    Path(args.html).parent.mkdir(parents=True, exist_ok=True)
    anytime_figure(table, traces, budget).write_html(args.html, include_plotlyjs=True)
    write_json(args.json, {
        "benchmark": "replay",
        "command": " ".join(["python", "benchmarks/replay.py", *(argv or sys.argv[1:])]),
        "date": now(), "machine": machine_info(with_gpus=False),
        "settings": {"storage": args.storage, "study": args.study_name,
                     "repetitions": args.repetitions, "jobs": args.jobs,
                     "budget_seconds": budget,
                     "budget_trainings": args.budget_trainings, "searchers": searchers,
                     "configurations": len(table.runs), "epochs": table.epochs},
        "wall_seconds": round(time.perf_counter() - start, 1),
        "summary": summary, "verdict": lines, "real": checks,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
