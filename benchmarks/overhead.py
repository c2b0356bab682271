"""Per-trial pipeline cost outside training: sampler, storage and bookkeeping, no training.

    python benchmarks/overhead.py [--trials 10,100,1000] [--storages sqlite,journal,postgres]
        [--modes grid,search] [--epochs 3] [--readers none,live] [--postgres URL]
        [--json runs/benchmarks/overhead.json]

Each (storage, mode, size) runs a fresh study of ``size`` trials with the project's own
coordination code and a no-op objective in place of training:

- ``grid``: ``search.engines.grid.run_grid`` on a one-family grid of ``size`` cells x 1 seed:
  it queues the units (``storage.claims.queue_missing``), claims each one
  (``storage.Claimer``), runs it under the heartbeat and tells the result (``execute``);
  random sampler, no pruner, as ``search.study`` sets up a grid.
- ``search``: ``search.engines.optuna_search.run_search`` over the ``search`` preset's
  space with ``study.ask()``, multivariate TPE with constant liar and the Hyperband pruner, as
  ``search.study`` sets up a search.

The no-op objective writes what ``search.objective.Objective`` writes, minus the
training: the grid's ``suggest_categorical`` calls (or ``space.suggest`` for a search),
the resolved (validated) architecture and training settings, the same user attrs before
and after "training" (through ``storage.records.write``, as the objective stores them),
and one ``report`` + ``should_prune`` per epoch (``--epochs``), as the Keras pruning
callback does. Studies are created with ``storage.studies.open_study``
on storages from ``storage.open_storage`` (SQLite and journal files in a temporary folder;
PostgreSQL: ``--postgres URL``, else a throwaway server on loopback started as
tests/conftest.py does, one fresh database per run).

Timed: the whole ``run_grid``/``run_search`` call (queueing included) divided by the trials
(``ms_per_trial``); the mean of the last 10 % of trials (``tail_ms_per_trial``: the cost of
a trial at that study size); and reading every trial back as records
(``storage.trial_records``, what analysis and reports read), per trial.
Target (issue 6): < 50 ms per trial at 1000 trials on SQLite.

``--readers live`` repeats each run with the study watched while it is written, as users
watch a live study: the real optuna-dashboard (``search.study dashboard``) whose study API
is fetched once a second (its page polls the same API), and ``search.study report`` re-run
in a loop. Readers must not hold up the workers (issue 12: reads take no write lock);
the row says how many dashboard fetches and reports ran meanwhile. On 2 cores the readers'
own CPU use (a report analyses the whole study) slows the run too: that is part of it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna

from benchmarks._postgres import (
    PostgresUnavailable,
    create_database,
    free_port,
    throwaway_server,
)
from benchmarks.throughput import machine_info, now, write_json

STORAGES = ("sqlite", "journal", "postgres", "memory")
MODES = ("grid", "search")
READERS = ("none", "live")
ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 50.0


# --------------------------------------------------------------------------- the study


def grid_spec(n: int, epochs: int):
    from search.config import TrainConfig
    from search.presets import StudySpec
    from spaces.space import Space

    space = Space.parse({"family": "cnn", "params": {"width": list(range(8, 8 + n))},
                         "fixed": {"depth": 2, "kernels": [7, 5, 3], "dense_units": 128}})
    return StudySpec(preset="overhead-grid", description="", mode="grid",
                     dataset="fashion_mnist", train=TrainConfig(epochs=epochs), seeds=1,
                     grids=(space,))


def search_spec(n: int, epochs: int):
    from search import presets

    spec = presets.load("search")
    return dataclasses.replace(spec, preset="overhead-search",
                               train=dataclasses.replace(spec.train, epochs=epochs),
                               trials=n, timeout=None)


def sampler_and_pruner(spec) -> tuple[optuna.samplers.BaseSampler, optuna.pruners.BasePruner]:
    """As ``search.study.cmd_run`` chooses them (seeded here, for repeatable runs)."""
    if spec.mode == "grid":
        return optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner()
    return (optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=0),
            optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.train.epochs))


def noop_objective(spec) -> Callable[[optuna.Trial], float]:
    """Everything ``Objective`` stores about a trial, with a no-op in place of training."""
    from search import datasets
    from search.presets import resolve
    from search.train import TrainResult
    from spaces.space import cell_key
    from storage import records

    cells = {c.key: c for c in spec.cells()}
    choices = spec.grid_choices()

    def objective(trial: optuna.Trial) -> float:
        if spec.mode == "grid":
            cell = cells[trial.user_attrs[records.CELL]]
            for name in cell.varying:
                trial.suggest_categorical(name, choices[name])
            family, key, values = cell.space.family, cell.key, cell.values
            seed = int(trial.user_attrs[records.SEED])
        else:
            varying = spec.space.suggest(trial)
            family, key = spec.space.family, cell_key(spec.space.family, varying)
            values, seed = spec.space.values(varying), trial.number
        declared = datasets.get(spec.dataset)
        arch, cfg = resolve(family, values, spec.train, declared.input_shape,
                            declared.num_classes)
        records.write(trial, records.setup(cell=key, seed=seed, arch=arch.to_dict(),
                                           train=cfg.__dict__, param_count=100_000,
                                           flops=1_000_000))
        rng = random.Random(trial.number)
        accuracy, curve = rng.uniform(0.5, 0.8), []
        for epoch in range(cfg.epochs):  # what KerasPruningCallback does per epoch
            accuracy += rng.uniform(0.0, 0.05)
            curve.append(records.metric(accuracy))
            trial.report(curve[-1], step=epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")
        result = TrainResult(
            val_accuracy=curve[-1], test_accuracy=records.metric(curve[-1] - 0.01),
            val_curve=tuple(curve), epochs=cfg.epochs, train_seconds=0.0,
            best_epoch=cfg.epochs, converged=False, train_accuracy=curve[-1],
            train_loss=0.5, epoch_seconds=(0.0,) * cfg.epochs)
        records.write(trial, records.measured(result))
        return result.val_accuracy

    return objective


# --------------------------------------------------------------------------- storages


@contextlib.contextmanager
def storage_urls(kind: str, folder: Path, postgres: str | None) -> Iterator[Callable[[str], str]]:
    """A function run-name -> fresh storage URL for ``kind``."""
    if kind == "sqlite":
        yield lambda run: f"sqlite:///{folder / (run + '.db')}"
    elif kind == "journal":
        yield lambda run: f"journal:///{folder / (run + '.log')}"
    elif kind == "memory":
        yield lambda run: "memory"
    elif postgres:
        yield lambda run: postgres
    else:
        with throwaway_server() as prefix:
            yield lambda run: create_database(prefix, run.replace("-", "_"))


def open_any(url: str) -> optuna.storages.BaseStorage:
    from storage import open_storage

    return optuna.storages.InMemoryStorage() if url == "memory" else open_storage(url)


def close(storage: optuna.storages.BaseStorage) -> None:
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


# --------------------------------------------------------------------------- live readers

REPORT_LOOP = """
import subprocess, sys
url, name, out = sys.argv[1:]
while True:
    done = subprocess.run([sys.executable, "-m", "search.study", "report", "--study-name",
                           name, "--storage", url, "--out", out], capture_output=True)
    print("report" if done.returncode == 0 else "no report yet", flush=True)
"""


def _fetch_studies(base: str, name: str, stop: threading.Event, counts: dict[str, int]) -> None:
    """Fetch the study from the dashboard's API once a second, as its page does."""
    while not stop.wait(1.0):
        try:
            with urllib.request.urlopen(f"{base}/api/studies", timeout=30) as r:
                ids = [s["study_id"] for s in json.load(r)["study_summaries"]
                       if s["study_name"] == name]
            for study_id in ids:
                with urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=30) as r:
                    r.read()
                counts["dashboard_fetches"] += 1
        except OSError:
            counts["dashboard_errors"] += 1


@contextlib.contextmanager
def live_readers(url: str, name: str, folder: Path) -> Iterator[dict[str, int]]:
    """The real dashboard polled once a second and ``report`` in a loop, on study ``name``."""
    port = free_port()
    dashboard = subprocess.Popen(
        [sys.executable, "-m", "search.study", "dashboard", "--storage", url, "--port",
         str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reports = subprocess.Popen([sys.executable, "-c", REPORT_LOOP, url, name, str(folder)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    counts = {"dashboard_fetches": 0, "dashboard_errors": 0, "reports": 0}
    stop = threading.Event()
    poller = threading.Thread(target=_fetch_studies,
                              args=(f"http://127.0.0.1:{port}", name, stop, counts))
    poller.start()
    try:
        yield counts
    finally:
        stop.set()
        poller.join()
        for proc in (dashboard, reports):
            proc.terminate()
        out, _ = reports.communicate()
        dashboard.wait()
        counts["reports"] = out.split().count("report")


# --------------------------------------------------------------------------- one run


def run_one(kind: str, mode: str, n: int, epochs: int, url: str, stamp: str,
            readers: str = "none") -> dict[str, Any]:
    from search.engines.grid import run_grid
    from search.engines.optuna_search import run_search
    from storage import trial_records
    from storage.studies import open_study

    spec = grid_spec(n, epochs) if mode == "grid" else search_spec(n, epochs)
    storage = open_any(url)
    name = f"overhead-{mode}-{n}-{stamp}"
    sampler, pruner = sampler_and_pruner(spec)
    study, created = open_study(storage, name, spec.identity(), sampler=sampler, pruner=pruner)
    objective = noop_objective(spec)
    ends: list[float] = []
    states: dict[str, int] = {}

    def report(trial: optuna.trial.FrozenTrial) -> None:
        ends.append(time.perf_counter())
        states[trial.state.name] = states.get(trial.state.name, 0) + 1

    watching = (live_readers(url, name, Path(tempfile.mkdtemp(prefix="bench-reports-")))
                if readers == "live" else contextlib.nullcontext({}))
    try:
        with watching as seen:
            start = time.perf_counter()
            if mode == "grid":
                ran = run_grid(study, storage, spec, objective, created, report)
            else:
                ran = run_search(study, storage, spec, objective, report)
            total = time.perf_counter() - start
        t0 = time.perf_counter()
        records = trial_records(study)
        read = time.perf_counter() - t0
        if len(records) != n or ran != n:
            raise RuntimeError(f"{kind}/{mode}: expected {n} trials, ran {ran}, "
                               f"stored {len(records)}")
        if url != "memory" and not url.startswith(("sqlite", "journal")):
            optuna.delete_study(study_name=name, storage=storage)  # leave a shared DB clean
    finally:
        close(storage)
    per = [b - a for a, b in zip([start, *ends[:-1]], ends, strict=True)]
    tail = per[-max(1, n // 10):]
    return {
        "storage": kind, "mode": mode, "trials": n, "states": states, "readers": readers,
        **seen,
        "total_seconds": round(total, 3),
        "ms_per_trial": round(1000 * total / n, 2),
        "tail_ms_per_trial": round(1000 * statistics.fmean(tail), 2),
        "median_ms_per_trial": round(1000 * statistics.median(per), 2),
        "records_ms_per_trial": round(1000 * read / n, 3),
    }


# --------------------------------------------------------------------------- report


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'storage':<10}{'mode':<8}{'readers':<9}{'trials':>7}{'ms/trial':>10}"
            f"{'tail ms':>9}{'median ms':>11}{'records ms':>12}{'total s':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "skipped" in r:
            lines.append(f"{r['storage']:<10}{r['mode']:<8}  skipped: {r['skipped']}")
            continue
        seen = (f"  ({r['dashboard_fetches']} dashboard fetches, {r['reports']} reports)"
                if r["readers"] == "live" else "")
        lines.append(f"{r['storage']:<10}{r['mode']:<8}{r['readers']:<9}{r['trials']:>7}"
                     f"{r['ms_per_trial']:>10.1f}{r['tail_ms_per_trial']:>9.1f}"
                     f"{r['median_ms_per_trial']:>11.1f}{r['records_ms_per_trial']:>12.2f}"
                     f"{r['total_seconds']:>9.1f}{seen}")
    lines.append("ms/trial: whole loop / trials; tail: mean of the last 10 % of trials; "
                 "records: reading the study back as records, per trial; readers live: the "
                 "dashboard fetched every second and report in a loop meanwhile")
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    done = [r for r in rows if r["storage"] == "sqlite" and "skipped" not in r
            and r["readers"] == "none"]
    if not done:
        return ["no SQLite run: target not checked"]
    biggest = max(r["trials"] for r in done)
    return [f"sqlite {r['mode']} at {biggest} trials: {r['ms_per_trial']:.1f} ms/trial "
            f"(tail {r['tail_ms_per_trial']:.1f}); target < {TARGET_MS:.0f} ms "
            f"{'met' if r['ms_per_trial'] < TARGET_MS else 'NOT met'}"
            + ("" if biggest >= 1000 else " (target is stated at 1000 trials)")
            for r in done if r["trials"] == biggest]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", default="10,100,1000", help="study sizes, comma separated")
    p.add_argument("--storages", default="sqlite,journal,postgres",
                   help=f"comma list of {', '.join(STORAGES)}")
    p.add_argument("--modes", default="grid,search", help="grid, search or both")
    p.add_argument("--epochs", type=int, default=3, help="reports per trial (pruning steps)")
    p.add_argument("--readers", default="none",
                   help="none, live or both: runs without and/or with the dashboard and a "
                        "report loop reading the study (not for memory)")
    p.add_argument("--postgres", metavar="URL",
                   help="postgresql://USER:PASSWORD@HOST:PORT/DB to use (studies are deleted "
                        "after each run); default: a throwaway server on loopback")
    p.add_argument("--json", default="runs/benchmarks/overhead.json")
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.trials.split(",") if x.strip()]
    kinds = [s.strip() for s in args.storages.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    watch = [r.strip() for r in args.readers.split(",") if r.strip()]
    if (set(kinds) - set(STORAGES) or set(modes) - set(MODES) or set(watch) - set(READERS)
            or not watch or not sizes or min(sizes) < 1
            or ("live" in watch and "memory" in kinds)):
        p.error(f"storages from {', '.join(STORAGES)}, modes from {', '.join(MODES)}, "
                f"readers from {', '.join(READERS)} (live not with memory), sizes >= 1")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage")
    stamp = time.strftime("%Y%m%d%H%M%S")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        for kind in kinds:
            try:
                with storage_urls(kind, Path(tmp), args.postgres) as url_for:
                    for mode, n, readers in itertools.product(modes, sizes, watch):
                        run = f"{kind}-{mode}-{n}-{readers}"
                        r = run_one(kind, mode, n, args.epochs, url_for(run), stamp, readers)
                        rows.append(r)
                        print(f"  {kind:<9}{mode:<7}{n:>6} trials, readers {readers:<5}: "
                              f"{r['ms_per_trial']:8.1f} ms/trial (tail "
                              f"{r['tail_ms_per_trial']:.1f})", flush=True)
            except PostgresUnavailable as exc:
                print(f"  {kind}: skipped ({exc})", flush=True)
                rows += [{"storage": kind, "mode": m, "skipped": str(exc)} for m in modes]
    print("\n" + table(rows))
    lines = verdict(rows)
    print("\n" + "\n".join(lines))
    write_json(args.json, {
        "benchmark": "overhead",
        "command": " ".join(["python", "benchmarks/overhead.py", *(argv or sys.argv[1:])]),
        "date": now(),
        "machine": machine_info(with_gpus=False),
        "settings": {"trials": sizes, "storages": kinds, "modes": modes, "readers": watch,
                     "epochs": args.epochs,
                     "heartbeat_seconds": os.environ.get("SEARCH_HEARTBEAT_SECONDS", "10")},
        "runs": rows,
        "target_ms_per_trial_sqlite_1000": TARGET_MS,
        "verdict": lines,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
