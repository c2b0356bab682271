"""Trainings per hour of a grid's epoch-round under each way of running it, as ratios.

    python benchmarks/epoch_round.py [--preset scaling-converged] [--samples 10000]
        [--candidates tf xla jax fused3 threads1 workers2] [--rounds 2]
        [--json runs/benchmarks/epoch_round.json]

An *epoch-round* is one epoch of every cell of a grid preset, on the preset's real data
(its first ``--samples`` training images, the epoch then scaled to the whole training set)
and compiled exactly as a trial compiles it (``search.train.compiled_model``). Each
candidate runs in a fresh process, because the Keras backend and TensorFlow's thread pools
are fixed per process; a small warm-up fit traces the graph first, and its seconds are
reported apart (a training traces once, an epoch-round would overweight it):

- ``tf``: today's path (TensorFlow, its default thread pools);
- ``xla``: the same model compiled with ``jit_compile=True``;
- ``jax``: Keras on JAX (``KERAS_BACKEND=jax``; needs ``pip install "jax[cpu]"``);
- ``fusedK``: K seeds of one cell trained as one multi-input model, each member with its own
  initial weights and its own shuffled copy of the data (so its own batch order), seconds
  per member-epoch (a timing of the fused graph only: per-member early stopping and
  storage are not here);
- ``threads1``: TensorFlow with one intra-op and one inter-op thread;
- ``workers2``: two ``threads1`` processes at once on the same cells (a worker per core),
  seconds per epoch as the wall time of both divided by two.

Candidates run interleaved ``--rounds`` times (their order rotating each round), and every
ratio is taken within a round against that round's ``tf``, then the median over rounds: on
a machine whose speed drifts, only ratios measured side by side mean anything. The result
names, per cell, the fastest candidate, and the epoch-round's ratio if each cell ran its
fastest ("adopt per cell"), weighted by the seeds every cell trains.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import machine_info, now, write_json

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = ("tf", "xla", "jax", "fused3", "threads1", "workers2")
BASELINE = "tf"
TARGET_RATIO = 1.5  # issue 20: trainings per hour on the definitive grid's epoch-round


def _fused_model(arch: Any, cfg: Any, members: int, train_size: int) -> Any:
    """``members`` copies of one architecture side by side, one input and output each."""
    import keras

    from search.train import compiled_model

    parts = []
    for i in range(members):  # each built after the last: its own initial weights
        part = compiled_model(arch, cfg, train_size)
        part.name = f"member{i}"
        parts.append(part)
    inputs = [keras.Input(parts[0].input_shape[1:]) for _ in parts]
    model = keras.Model(inputs, [p(x) for p, x in zip(parts, inputs, strict=True)])
    model.compile(optimizer=parts[0].optimizer.__class__.from_config(
        parts[0].optimizer.get_config()),
        loss=["sparse_categorical_crossentropy"] * members)
    return model


def _time_fit(model: Any, x: Any, y: Any, x_val: Any, y_val: Any, batch: int) -> float:
    start = time.perf_counter()
    model.fit(x, y, validation_data=(x_val, y_val), epochs=1, batch_size=batch, verbose=0)
    return time.perf_counter() - start


def worker(candidate: str, preset: str, samples: int, cells: list[str] | None) -> dict[str, Any]:
    """In this process: warm-up and one timed epoch of every cell under ``candidate``."""
    import keras
    import numpy as np

    from search import presets
    from search.data import load_splits
    from search.train import compiled_model

    spec = presets.load(preset)
    data = load_splits(spec.dataset, train_subset=spec.train_subset)
    images = len(data.x_train)
    n = min(samples or images, images)
    n_val = max(1, round(len(data.x_val) * n / images))
    x, y, xv, yv = data.x_train[:n], data.y_train[:n], data.x_val[:n_val], data.y_val[:n_val]
    members = int(candidate.removeprefix("fused")) if candidate.startswith("fused") else 1
    out: dict[str, Any] = {}
    for cell in spec.cells():
        if cells and cell.key not in cells:
            continue
        arch, cfg = presets.resolve(cell.space.family, cell.values, spec.train,
                                    data.input_shape, data.num_classes)
        keras.utils.set_random_seed(0)
        if members > 1:
            model = _fused_model(arch, cfg, members, n)
            orders = [np.random.default_rng(i).permutation(n) for i in range(members)]
            fx, fy = [x[o] for o in orders], [y[o] for o in orders]
            fxv, fyv = [xv] * members, [yv] * members
        else:
            model = compiled_model(arch, cfg, n)
            if candidate == "xla":
                model.compile(optimizer=model.optimizer, loss=model.loss,
                              metrics=["accuracy"], jit_compile=True)
            fx, fy, fxv, fyv = x, y, xv, yv
        warm = cfg.batch_size * 2
        trace = _time_fit(model, _head(fx, warm), _head(fy, warm), _head(fxv, warm),
                          _head(fyv, warm), cfg.batch_size)
        seconds = _time_fit(model, fx, fy, fxv, fyv, cfg.batch_size)
        out[cell.key] = {"epoch_seconds": seconds * images / n / members,
                         "trace_seconds": trace / members}
        keras.backend.clear_session()
    return out


def _head(arrays: Any, count: int) -> Any:
    return [a[:count] for a in arrays] if isinstance(arrays, list) else arrays[:count]


def _environment(candidate: str) -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if candidate == "jax":
        env["KERAS_BACKEND"] = "jax"
    if candidate in ("threads1", "workers2"):
        env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
                   OMP_NUM_THREADS="1")
    return env


def _spawn(candidate: str, args: argparse.Namespace, json_out: Path) -> subprocess.Popen:
    inner = "tf" if candidate in ("threads1", "workers2") else candidate
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", inner,
               "--preset", args.preset, "--samples", str(args.samples),
               "--json", str(json_out), *(["--cells", *args.cells] if args.cells else [])]
    return subprocess.Popen(command, cwd=ROOT, env=_environment(candidate),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def measure(candidate: str, args: argparse.Namespace) -> dict[str, Any]:
    """One candidate's epoch-round, in fresh processes; per cell seconds per epoch."""
    copies = 2 if candidate == "workers2" else 1
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / f"{i}.json" for i in range(copies)]
        start = time.perf_counter()
        procs = [_spawn(candidate, args, out) for out in outs]
        errors = [p.communicate()[1] for p in procs]
        wall = time.perf_counter() - start
        failed = [e for p, e in zip(procs, errors, strict=True) if p.returncode]
        if failed:
            last = failed[0].strip().splitlines()[-1:] or ["no message"]
            return {"error": last[0], "wall_seconds": wall}
        runs = [json.loads(out.read_text()) for out in outs]
    cells = runs[0]
    if copies > 1:  # both processes ran every cell at once: per epoch, half their mean
        cells = {k: {m: statistics.fmean(r[k][m] for r in runs) / copies for m in v}
                 for k, v in cells.items()}
    return {"cells": cells, "wall_seconds": wall}


def summarise(rounds: list[dict[str, Any]], seeds: int) -> dict[str, Any]:
    """Ratios to ``tf`` within each round, medians over rounds, and the per-cell choice."""
    names = [c for c in rounds[0] if all("cells" in r[c] for r in rounds)]
    keys = list(rounds[0][BASELINE]["cells"])

    def median_seconds(candidate: str, key: str) -> float:
        return statistics.median(r[candidate]["cells"][key]["epoch_seconds"] for r in rounds)

    def round_ratio(candidate: str, pick: dict[str, str] | None = None) -> float:
        ratios = []
        for r in rounds:
            base = sum(r[BASELINE]["cells"][k]["epoch_seconds"] for k in keys)
            chosen = sum(r[pick[k] if pick else candidate]["cells"][k]["epoch_seconds"]
                         for k in keys)
            ratios.append(base / chosen)
        return statistics.median(ratios)

    per_cell = {k: {c: median_seconds(c, k) for c in names} for k in keys}
    pick = {k: min(v, key=v.get) for k, v in per_cell.items()}
    return {
        "candidates": names,
        "ratio_to_tf": {c: round_ratio(c) for c in names},
        "per_cell_epoch_seconds": per_cell,
        "fastest_per_cell": pick,
        "adopt_per_cell_ratio": round_ratio("", pick),
        "epoch_round_hours_tf": sum(v[BASELINE] for v in per_cell.values()) * seeds / 3600,
    }


def table(result: dict[str, Any]) -> str:
    names = result["candidates"]
    lines = [f"preset {result['preset']}: one epoch of every cell, seconds per 50k-image-scaled "
             f"epoch (median of {result['rounds']} rounds)",
             f"{'cell':<44}" + "".join(f"{c:>10}" for c in names) + "   fastest"]
    for key, row in result["per_cell_epoch_seconds"].items():
        lines.append(f"{key:<44}" + "".join(f"{row[c]:>10.2f}" for c in names)
                     + f"   {result['fastest_per_cell'][key]}")
    lines.append(f"{'trainings per hour vs tf':<44}"
                 + "".join(f"{result['ratio_to_tf'][c]:>9.2f}x" for c in names))
    met = "met" if result["target_met"] else "not met"
    lines.append(f"each cell on its fastest candidate: {result['adopt_per_cell_ratio']:.2f}x "
                 f"(target >= {result['target_ratio']}x: {met})")
    for name, error in result.get("errors", {}).items():
        lines.append(f"{name}: not measured ({error})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="scaling-converged")
    parser.add_argument("--samples", type=int, default=10_000,
                        help="training images timed per epoch (0: the preset's training set)")
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--cells", nargs="*", help="cell keys (default: every cell)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", default="runs/benchmarks/epoch_round.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        write_json(args.json, worker(args.worker, args.preset, args.samples, args.cells))
        return 0
    bad = [c for c in args.candidates if c not in CANDIDATES and not
           (c.startswith("fused") and c.removeprefix("fused").isdigit())]
    if bad or BASELINE not in args.candidates:
        parser.error(f"candidates must include {BASELINE} and be among {', '.join(CANDIDATES)}"
                     f" or fusedK; got {' '.join(args.candidates)}")
    from search import presets

    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        shift = r % len(args.candidates)
        order = args.candidates[shift:] + args.candidates[:shift]
        rounds.append({})
        for candidate in order:
            rounds[-1][candidate] = measure(candidate, args)
            print(f"round {r + 1}: {candidate} {rounds[-1][candidate]['wall_seconds']:.0f} s",
                  flush=True)
    errors = {c: m["error"] for r in rounds for c, m in r.items() if "error" in m}
    result = {"benchmark": "epoch_round", "date": now(), "machine": machine_info(),
              "preset": args.preset, "samples": args.samples, "rounds": args.rounds,
              "errors": errors, "raw": rounds,
              **summarise(rounds, presets.load(args.preset).seeds),
              "target_ratio": TARGET_RATIO}
    result["target_met"] = result["adopt_per_cell_ratio"] >= TARGET_RATIO
    print(table(result))
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
