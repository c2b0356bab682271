"""Accuracy per compute: retrain one architecture over several seeds, report test accuracy.

    python benchmarks/accuracy.py [BEST_JSON] [--arch JSON] [--train JSON] [--storage URL]
        [--epochs N] [--batch-size N] [--seeds 3] [--train-subset N] [--dataset NAME]
        [--json runs/benchmarks/accuracy.json]

The architecture comes from ``--arch`` (inline JSON or a file: an ArchSpec dict, or an
export with an ``arch`` key), else from ``BEST_JSON``, the ``best_architecture.json`` that
``python -m search.study run/export`` writes (default
``runs/search-fashion_mnist/best_architecture.json``, the ``search`` preset's export).

Training settings (``search.train.TrainConfig`` fields), first found wins: ``--train``
(inline JSON or a file); the ``train`` entry of the JSON (the export writes the best
cell's); with ``--storage URL``, the stored ``train`` attr of the exported study's first best
trial; else ``TrainConfig`` defaults. ``--epochs`` and ``--batch-size`` override.

Each seed (0..S-1) trains with ``search.train.train``, as a study trial does, on the whole
training split (``--train-subset`` 0 = all of it: 50k Fashion-MNIST images, the other 10k
of the official training set stay the validation split) and evaluates the official test
set once. Reported: test accuracy mean with its 95 % Student-t interval over seeds
(``search.analysis.mean_ci``), validation accuracy, parameters and forward FLOPs
(``spaces.cost``), fit seconds per seed and total wall time.
Goal (issue 6): a plain conv-pool CNN of <= 1 M parameters with >= 94.0 % mean test
accuracy over 3 seeds on Fashion-MNIST.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import machine_info, now, write_json

DEFAULT_SOURCE = "runs/search-fashion_mnist/best_architecture.json"
GOAL_ACCURACY = 0.94
GOAL_PARAMS = 1_000_000


class InputError(ValueError):
    """A JSON argument or file is missing or malformed; one-line message."""


def read_json(text_or_path: str, what: str) -> dict[str, Any]:
    """Inline JSON (starting with ``{``) or the path of a JSON file."""
    try:
        if text_or_path.lstrip().startswith("{"):
            data = json.loads(text_or_path)
        else:
            data = json.loads(Path(text_or_path).read_text())
    except OSError as exc:
        raise InputError(f"cannot read {what} {text_or_path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object")
    return data


def stored_train(url: str, source: dict[str, Any]) -> dict[str, Any] | None:
    """The ``train`` attr of the first trial of the exported best cell, from its storage."""
    import optuna

    from storage import open_storage

    if "study" not in source or not source.get("trials"):
        return None
    study = optuna.load_study(study_name=source["study"], storage=open_storage(url))
    number = int(source["trials"][0])
    for trial in study.get_trials(deepcopy=False):
        if trial.number == number:
            raw = trial.user_attrs.get("train")
            return json.loads(raw) if isinstance(raw, str) else raw
    return None


def settings(args: argparse.Namespace) -> tuple[dict[str, Any], str, dict[str, Any], str]:
    """(arch dict, dataset, train dict, where the training settings came from)."""
    source: dict[str, Any] = {}
    if args.arch:
        given = read_json(args.arch, "--arch")
        arch = dict(given.get("arch", given))
    else:
        source = read_json(args.source, "best-architecture JSON")
        if "arch" not in source:
            raise InputError(f"{args.source} has no 'arch' entry")
        arch = dict(source["arch"])
    dataset = args.dataset or source.get("dataset") or "fashion_mnist"
    if args.train:
        train, origin = read_json(args.train, "--train"), "--train"
    elif source.get("train"):
        raw = source["train"]
        train, origin = (json.loads(raw) if isinstance(raw, str) else dict(raw)), args.source
    elif args.storage and (found := stored_train(args.storage, source)) is not None:
        train, origin = found, f"trial {source['trials'][0]} of study {source['study']}"
    else:
        train, origin = {}, "TrainConfig defaults"
    return arch, dataset, train, origin


def run(args: argparse.Namespace) -> dict[str, Any]:
    import keras

    import spaces
    from search import datasets
    from search.analysis import mean_ci
    from search.config import TRAIN_FIELDS, TrainConfig
    from search.data import load_splits
    from search.train import TrainingDiverged, train

    arch_data, dataset, train_data, origin = settings(args)
    declared = datasets.get(dataset)
    arch_data.setdefault("input_shape", list(declared.input_shape))
    arch_data.setdefault("num_classes", declared.num_classes)
    arch = spaces.from_dict(arch_data)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size))
                 if v is not None}
    unknown = sorted(set(train_data) - TRAIN_FIELDS)
    if unknown:
        raise InputError(f"unknown training setting(s) {', '.join(unknown)} ({origin}): "
                         f"use {', '.join(sorted(TRAIN_FIELDS))}")
    cfg = TrainConfig(**{**train_data, **overrides})
    size = spaces.cost(arch)
    keras.backend.clear_session()
    data = load_splits(dataset, train_subset=args.train_subset or None)
    print(f"data: {data!r}\narch: {arch.to_json()}\ntrain ({origin}): {cfg}\n"
          f"params {size.params:,}, forward FLOPs {size.flops:,}", flush=True)

    runs: list[dict[str, Any]] = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        try:
            r = train(arch, data, cfg, seed)
        except TrainingDiverged as exc:
            runs.append({"seed": seed, "diverged": str(exc)})
            print(f"  seed {seed}: diverged ({exc})", flush=True)
            continue
        runs.append({"seed": seed, "test_accuracy": r.test_accuracy,
                     "val_accuracy": r.val_accuracy, "epochs": r.epochs,
                     "train_seconds": round(r.train_seconds, 2),
                     "wall_seconds": round(time.perf_counter() - t0, 2)})
        print(f"  seed {seed}: test {r.test_accuracy:.4f}  val {r.val_accuracy:.4f}  "
              f"fit {r.train_seconds:.0f} s", flush=True)
    wall = time.perf_counter() - start
    tests = [r["test_accuracy"] for r in runs if "test_accuracy" in r]
    vals = [r["val_accuracy"] for r in runs if "val_accuracy" in r]
    test, val = mean_ci(tests), mean_ci(vals)

    def interval(i) -> dict[str, Any]:
        return {"mean": _num(i.mean), "ci95": [_num(i.low), _num(i.high)], "n": i.n,
                "std": _num(i.std)}

    goal = (arch.family == "cnn" and size.params <= GOAL_PARAMS and tests != []
            and len(tests) >= 3 and test.mean >= GOAL_ACCURACY)
    return {
        "settings": {"dataset": dataset, "train_samples": len(data.x_train),
                     "val_samples": len(data.x_val), "test_samples": len(data.x_test),
                     "seeds": args.seeds, "train": cfg.__dict__, "train_source": origin,
                     "arch_source": "--arch" if args.arch else args.source},
        "arch": json.loads(arch.to_json()),
        "family": arch.family,
        "param_count": size.params,
        "flops": size.flops,
        "test_accuracy": interval(test),
        "val_accuracy": interval(val),
        "runs": runs,
        "wall_seconds": round(wall, 1),
        "mean_train_seconds": _num(sum(r["train_seconds"] for r in runs if "train_seconds" in r)
                                   / max(1, len(tests))),
        "goal": {"test_accuracy_min": GOAL_ACCURACY, "params_max": GOAL_PARAMS,
                 "seeds_min": 3, "family": "cnn", "met": goal},
    }


def _num(x: float) -> float | None:
    return None if x != x else round(float(x), 6)  # NaN -> null


def table(result: dict[str, Any]) -> str:
    t = result["test_accuracy"]
    low, high = t["ci95"]
    ci = f"[{100 * low:.2f}, {100 * high:.2f}]" if low is not None else "(n < 2)"
    mean = "—" if t["mean"] is None else f"{100 * t['mean']:.2f} %"
    head = (f"{'family':<8}{'params':>11}{'MFLOPs':>9}{'seeds':>7}{'epochs':>8}"
            f"{'test acc (mean)':>17}{'95 % CI':>18}{'wall s':>9}")
    return "\n".join([
        head, "-" * len(head),
        f"{result['family']:<8}{result['param_count']:>11,}{result['flops'] / 1e6:>9.1f}"
        f"{t['n']:>7}{result['settings']['train']['epochs']:>8}{mean:>17}{ci:>18}"
        f"{result['wall_seconds']:>9.0f}",
        f"goal (plain CNN, <= 1 M params, >= 94.0 % over >= 3 seeds): "
        f"{'met' if result['goal']['met'] else 'not met'}",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", nargs="?", default=DEFAULT_SOURCE,
                   help=f"best_architecture.json of a study (default {DEFAULT_SOURCE})")
    p.add_argument("--arch", help="architecture as inline JSON or a JSON file (overrides source)")
    p.add_argument("--train", help="TrainConfig fields as inline JSON or a JSON file")
    p.add_argument("--storage", help="storage URL of the exported study, to read its "
                                     "best trial's training settings")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--train-subset", type=int, default=0,
                   help="training images (default 0 = the whole training split)")
    p.add_argument("--dataset", help="fashion_mnist or cifar10 (default: the JSON's)")
    p.add_argument("--json", default="runs/benchmarks/accuracy.json")
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    from search.config import ConfigError
    from search.data import DataError
    from spaces import SpecError

    try:
        result = run(args)
    except (InputError, SpecError, ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n" + table(result))
    write_json(args.json, {
        "benchmark": "accuracy",
        "command": " ".join(["python", "benchmarks/accuracy.py", *(argv or sys.argv[1:])]),
        "date": now(),
        "machine": machine_info(),
        **result,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
