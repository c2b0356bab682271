"""Memory over a long study: resident memory of one process running N small trials.

    python benchmarks/memory.py [--trials 100] [--every 10] [--storage memory|sqlite]
        [--samples 512] [--epochs 1] [--json runs/benchmarks/memory.json]

The trials run through the pipeline exactly as a ``search`` study does: an Optuna study
(in memory, or a fresh SQLite file opened with ``storage.open_storage`` and
``storage.studies.open_study``), ``search.engines.optuna_search.run_search`` and
``search.objective.Objective``, on a stratified ``--samples`` subset of Fashion-MNIST.
The space varies the CNN's width (8/16), depth (1/2) and dense head (0/32 units), sampled
at random (seed 0), so consecutive trials build different graphs.

Resident memory (psutil's ``rss`` if installed, else ``VmRSS`` of /proc/self/status) is read
after data loading (trial 0), after trial 1, after every ``--every`` trials and after the
last; each sample also records the count of Python objects tracked by ``gc`` and the mean
wall seconds per trial since the previous sample (a leak often shows as a slowdown too).

Growth is measured from trial ``--every`` (trial 1 when ``--trials <= --every``) to the
last trial. Target (issue 6): growth < 200 MB from trial 10 to trial 100.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import machine_info, now, write_json

TARGET_GROWTH_MB = 200.0
SPACE = {
    "family": "cnn",
    "params": {"width": [8, 16], "depth": [1, 2], "dense_units": [0, 32]},
    "fixed": {"kernels": [5, 3], "convs_per_block": 1},
}


def rss_mb() -> float:
    """Resident set size of this process in MB (10^6 bytes)."""
    try:
        import psutil
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
        raise RuntimeError("no psutil and no VmRSS in /proc/self/status") from None
    return psutil.Process().memory_info().rss / 1e6


def rss_source() -> str:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return "/proc/self/status VmRSS"
    return "psutil rss"


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    import optuna

    from search.config import TrainConfig
    from search.data import load_splits
    from search.engines.optuna_search import run_search
    from search.objective import Objective
    from search.presets import StudySpec
    from spaces.space import Space
    from storage import open_storage
    from storage.studies import open_study

    data = load_splits("fashion_mnist", train_subset=args.samples or None)
    data = dataclasses.replace(data, x_test=data.x_test[:1000], y_test=data.y_test[:1000])
    spec = StudySpec(preset="memory-benchmark", description="", mode="search",
                     dataset="fashion_mnist", train=TrainConfig(epochs=args.epochs),
                     seeds=1, space=Space.parse(SPACE), train_subset=args.samples or None,
                     sampler="random", pruner="none", trials=args.trials)
    sampler = optuna.samplers.RandomSampler(seed=0)
    pruner = optuna.pruners.NopPruner()
    if args.storage == "sqlite":
        storage = open_storage(f"sqlite:///{folder / 'memory.db'}")
        study, _ = open_study(storage, "memory", spec.identity(), sampler=sampler,
                              pruner=pruner)
    else:
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(storage=storage, direction="maximize", sampler=sampler,
                                    pruner=pruner)
    print(f"data: {data!r}; storage: {args.storage}; RSS from {rss_source()}", flush=True)

    samples: list[dict[str, Any]] = []
    clock = {"last": time.perf_counter(), "last_trial": 0}
    start = time.perf_counter()
    states: dict[str, int] = {}

    def sample(trial_count: int) -> None:
        t = time.perf_counter()
        span = trial_count - clock["last_trial"]
        samples.append({
            "trial": trial_count,
            "rss_mb": round(rss_mb(), 1),
            "python_objects": len(gc.get_objects()),
            "elapsed_s": round(t - start, 1),
            "seconds_per_trial": round((t - clock["last"]) / span, 3) if span else None,
        })
        clock["last"], clock["last_trial"] = t, trial_count
        print(f"  trial {trial_count:>4}: RSS {samples[-1]['rss_mb']:8.1f} MB, "
              f"{samples[-1]['python_objects']:>8} objects", flush=True)

    def report(trial: optuna.trial.FrozenTrial) -> None:
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
        done = sum(states.values())
        if done == 1 or done % args.every == 0 or done == args.trials:
            sample(done)

    sample(0)
    ran = run_search(study, storage, spec, Objective(spec, data), report)
    if samples[-1]["trial"] != ran:
        sample(ran)
    base_trial = args.every if ran > args.every else 1
    base = next(s for s in samples if s["trial"] >= base_trial)
    last = samples[-1]
    growth = last["rss_mb"] - base["rss_mb"]
    return {
        "settings": {"trials": args.trials, "every": args.every, "storage": args.storage,
                     "train_samples": len(data.x_train), "epochs": args.epochs,
                     "space": SPACE, "rss_source": rss_source()},
        "trials_run": ran,
        "trial_states": states,
        "samples": samples,
        "growth_from_trial": base["trial"],
        "growth_to_trial": last["trial"],
        "growth_mb": round(growth, 1),
        "growth_mb_per_trial": round(growth / max(1, last["trial"] - base["trial"]), 3),
        "target_growth_mb": TARGET_GROWTH_MB,
        "target_met": growth < TARGET_GROWTH_MB,
        "wall_seconds": round(time.perf_counter() - start, 1),
    }


def table(result: dict[str, Any]) -> str:
    head = f"{'trial':>6}{'RSS MB':>10}{'objects':>10}{'s/trial':>9}{'elapsed s':>11}"
    lines = [head, "-" * len(head)]
    for s in result["samples"]:
        per = "—" if s["seconds_per_trial"] is None else f"{s['seconds_per_trial']:.2f}"
        lines.append(f"{s['trial']:>6}{s['rss_mb']:>10.1f}{s['python_objects']:>10}{per:>9}"
                     f"{s['elapsed_s']:>11.1f}")
    lines.append(f"growth trial {result['growth_from_trial']} -> {result['growth_to_trial']}: "
                 f"{result['growth_mb']:+.1f} MB (target < {TARGET_GROWTH_MB:.0f} MB) "
                 f"{'met' if result['target_met'] else 'NOT met'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--every", type=int, default=10, help="read RSS every N trials")
    p.add_argument("--storage", choices=("memory", "sqlite"), default="memory")
    p.add_argument("--samples", type=int, default=512, help="training images (0 = all 50k)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--json", default="runs/benchmarks/memory.json")
    args = p.parse_args(argv)
    if args.trials < 1 or args.every < 1:
        p.error("--trials and --every must be >= 1")
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        result = run(args, Path(tmp))
    print("\n" + table(result))
    write_json(args.json, {
        "benchmark": "memory",
        "command": " ".join(["python", "benchmarks/memory.py", *(argv or sys.argv[1:])]),
        "date": now(),
        "machine": machine_info(with_gpus=False),
        **result,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
