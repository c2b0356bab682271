"""Cost of a grid preset before running it: measured epoch times, a fitted cost model, hours.

    python benchmarks/epoch_time.py [--preset scaling-converged] [--measure CELL ...]
        [--samples 0] [--epochs 2] [--expected-epochs N] [--json runs/benchmarks/epoch_time.json]

A converged study trains each unit for an unknown number of epochs, so its cost is
planned from measurements, not guessed: for each cell in ``--measure`` (default: the
cheapest and the most expensive cell of each family by forward FLOPs, and the median one)
the architecture is compiled exactly as a trial compiles it (``search.train.
compiled_model`` with the preset's training settings) and fitted ``--epochs`` epochs on
the first ``--samples`` images of the preset's training set (0 = all of it: 50,000
Fashion-MNIST images unless the preset sets ``train_subset``), validating on the same
share of its validation set, timed per epoch with ``perf_counter``; the fastest epoch
after the first (which traces the graph) counts, scaled to the preset's whole training
set (an epoch's time is proportional to its images).

Seconds per epoch are then fitted per family as ``a + b x training FLOPs per epoch`` (3 x
forward FLOPs x images, least squares on relative error over the measured cells; within
about 25 % of the measured cells on the 2-core machine, worse for flatten heads, whose
large dense layer is memory-bound), which predicts every cell
of the grid; the estimate is ``sum over cells of predicted epoch seconds x seeds x
expected epochs``, printed for ``--expected-epochs`` (default: the preset's epoch limit,
an upper bound for a converged preset) and per family.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import machine_info, now, write_json


def _default_measure(costs: dict[str, tuple[str, int]]) -> list[str]:
    """Per family: the cheapest, the median and the most expensive cell by FLOPs."""
    chosen: list[str] = []
    for family in dict.fromkeys(f for f, _ in costs.values()):
        mine = sorted((flops, key) for key, (f, flops) in costs.items() if f == family)
        for i in sorted({0, len(mine) // 2, len(mine) - 1}):
            chosen.append(mine[i][1])
    return chosen


def run(args: argparse.Namespace) -> dict[str, Any]:
    import keras
    import numpy as np

    import spaces
    from search import presets
    from search.data import load_splits
    from search.train import compiled_model

    spec = presets.load(args.preset)
    data = load_splits(spec.dataset, train_subset=spec.train_subset)
    images = len(data.x_train)  # what the study trains on
    n = min(args.samples or images, images)  # what is timed here
    n_val = max(1, round(len(data.x_val) * n / images))
    x, y, x_val, y_val = data.x_train[:n], data.y_train[:n], data.x_val[:n_val], data.y_val[:n_val]
    cells = {c.key: c for c in spec.cells()}
    resolved = {k: presets.resolve(c.space.family, c.values, spec.train,
                                   data.input_shape, data.num_classes) for k, c in cells.items()}
    costs = {}
    for key, (arch, _) in resolved.items():
        costs[key] = (arch.family, spaces.cost(arch).flops)
        keras.backend.clear_session()
    unknown = [k for k in args.measure or [] if k not in cells]
    if unknown:
        raise SystemExit(f"error: {', '.join(unknown)} not in preset {spec.preset}")
    measured = []
    for key in args.measure or _default_measure(costs):
        arch, cfg = resolved[key]
        model = compiled_model(arch, cfg, n)
        stamps: list[float] = []
        clock = stamps.append
        timer = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda e, logs, clock=clock: clock(time.perf_counter()),
            on_epoch_end=lambda e, logs, clock=clock: clock(time.perf_counter()))
        model.fit(x, y, validation_data=(x_val, y_val),
                  epochs=args.epochs, batch_size=cfg.batch_size, verbose=0, callbacks=[timer])
        keras.backend.clear_session()
        epochs = [b - a for a, b in zip(stamps[::2], stamps[1::2], strict=True)]
        seconds = min(epochs[1:] or epochs) * images / n  # epochs scale with the images
        measured.append({"cell": key, "family": costs[key][0], "flops": costs[key][1],
                         "epoch_seconds": seconds, "all_epochs": epochs})
        print(f"{key:<48} {costs[key][1] / 1e6:>9.2f} MFLOPs  {seconds:>8.1f} s/epoch",
              flush=True)
    fits = {}
    for family in dict.fromkeys(m["family"] for m in measured):
        rows = [m for m in measured if m["family"] == family]
        x = np.array([3 * m["flops"] * images for m in rows], dtype=float)
        y = np.array([m["epoch_seconds"] for m in rows])
        # Weighted by 1/y (relative errors), so the many small cells, which are
        # overhead-bound, are fitted as well as the few large, compute-bound ones.
        b, a = np.polyfit(x, y, 1, w=1 / y) if len(rows) >= 2 else (0.0, float(y.mean()))
        fits[family] = {"a_seconds": float(max(a, 0.0)), "b_seconds_per_flop": float(b)}
    expected = args.expected_epochs or spec.train.epochs
    predicted, per_family = {}, {}
    for key, (family, flops) in costs.items():
        fit = fits.get(family)
        if fit is None:
            continue
        sec = fit["a_seconds"] + fit["b_seconds_per_flop"] * 3 * flops * images
        predicted[key] = sec
        per_family[family] = per_family.get(family, 0.0) + sec * spec.seeds * expected
    total = sum(per_family.values())
    return {"benchmark": "epoch_time", "date": now(), "machine": machine_info(),
            "preset": spec.preset, "train_images": images, "seeds": spec.seeds,
            "expected_epochs": expected, "measured": measured, "fits": fits,
            "predicted_epoch_seconds": predicted, "hours_per_family":
            {f: s / 3600 for f, s in per_family.items()}, "hours_total": total / 3600,
            "median_measured_epoch_seconds":
            statistics.median(m["epoch_seconds"] for m in measured)}


def table(result: dict[str, Any]) -> str:
    lines = [f"preset {result['preset']}: {result['train_images']:,} training images, "
             f"{result['seeds']} seeds, {result['expected_epochs']} epochs per unit"]
    for key, sec in sorted(result["predicted_epoch_seconds"].items(), key=lambda kv: kv[1]):
        lines.append(f"  {key:<48} {sec:>8.1f} s/epoch (predicted)")
    for family, hours in result["hours_per_family"].items():
        lines.append(f"  {family}: {hours:.2f} h")
    lines.append(f"total: {result['hours_total']:.2f} h")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="scaling-converged")
    parser.add_argument("--measure", nargs="*", help="cell keys to time (default: 3 per family)")
    parser.add_argument("--samples", type=int, default=0,
                        help="training images (0: the preset's training set)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--expected-epochs", type=int)
    parser.add_argument("--json", default="runs/benchmarks/epoch_time.json")
    args = parser.parse_args(argv)
    result = run(args)
    print(table(result))
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
