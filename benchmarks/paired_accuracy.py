"""Does a training path change accuracy? Pair two studies' trials by cell and seed.

    python benchmarks/paired_accuracy.py --candidate URL STUDY --baseline URL STUDY
        [--json runs/benchmarks/paired_accuracy.json]

The two studies train the same cells with the same seeds (the same initial weights and
batch order) along two paths, e.g. two one-thread workers (the candidate, adopted for the
v2 study) and one process with TensorFlow's default thread pools (the baseline, preset
``threads-check``). Their arithmetic differs only in order, yet a training is chaotic, so
a pair's two runs need not agree to the last digit; what must not change is the
*distribution* of accuracies. Reported: every pair's test and validation accuracy and
epochs, the mean paired difference (candidate - baseline) with its t-interval over pairs
(the pair is the unit), the spread of the differences, and for scale the seed-to-seed
standard deviation within cells of the candidate study (pooled over its cells with two or
more seeds; two independent seeds differ by sqrt(2) times that).

Target: the mean difference's interval holds 0 and lies within one seed standard deviation
of it (a path that moved accuracy by less than seed noise does not change a conclusion).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import machine_info, now, write_json
from search.stats import mean_ci
from storage import TrialRecord, open_storage, trial_records
from storage.studies import find_study


def complete(url: str, study: str) -> dict[tuple[str, int], TrialRecord]:
    """The study's complete trials by (cell, seed)."""
    found = find_study(open_storage(url, create=False), study)
    return {(r.cell, r.seed): r for r in trial_records(found) if r.complete}


def seed_sd(records: dict[tuple[str, int], TrialRecord]) -> tuple[float, int]:
    """Pooled within-cell standard deviation of test accuracy, and its degrees of freedom
    (cells with one seed add none)."""
    by_cell: dict[str, list[float]] = defaultdict(list)
    for (cell, _), r in records.items():
        by_cell[cell].append(r.test_accuracy)
    squares = sum(float(np.sum((np.asarray(v) - np.mean(v)) ** 2)) for v in by_cell.values())
    df = sum(len(v) - 1 for v in by_cell.values())
    return (math.sqrt(squares / df) if df else math.nan), df


def interval(values: list[float]) -> dict[str, float]:
    ci = mean_ci(values)
    return {"mean": ci.mean, "low": ci.low, "high": ci.high, "sd": ci.std, "n": ci.n}


def compare(candidate: dict[tuple[str, int], TrialRecord],
            baseline: dict[tuple[str, int], TrialRecord]) -> dict[str, Any]:
    keys = sorted(set(candidate) & set(baseline))
    pairs = [{"cell": cell, "seed": seed,
              "candidate": {"test": candidate[cell, seed].test_accuracy,
                            "val": candidate[cell, seed].val_accuracy,
                            "epochs": candidate[cell, seed].epochs},
              "baseline": {"test": baseline[cell, seed].test_accuracy,
                           "val": baseline[cell, seed].val_accuracy,
                           "epochs": baseline[cell, seed].epochs}}
             for cell, seed in keys]
    test = [p["candidate"]["test"] - p["baseline"]["test"] for p in pairs]
    val = [p["candidate"]["val"] - p["baseline"]["val"] for p in pairs]
    sd, df = seed_sd(candidate)
    diff = interval(test)
    return {"pairs": pairs, "test_difference": diff, "val_difference": interval(val),
            "identical_test": sum(d == 0 for d in test),
            "seed_sd": {"test": sd, "df": df},
            "target_met": bool(len(pairs) >= 2 and diff["low"] <= 0 <= diff["high"]
                               and max(-diff["low"], diff["high"]) <= sd)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", nargs=2, metavar=("URL", "STUDY"), required=True)
    parser.add_argument("--baseline", nargs=2, metavar=("URL", "STUDY"), required=True)
    parser.add_argument("--json", default="runs/benchmarks/paired_accuracy.json")
    args = parser.parse_args(argv)
    result = compare(complete(*args.candidate), complete(*args.baseline))
    for p in result["pairs"]:
        c, b = p["candidate"], p["baseline"]
        print(f"{p['cell']:40s} seed {p['seed']}  test {100 * c['test']:6.2f} vs "
              f"{100 * b['test']:6.2f}  ({100 * (c['test'] - b['test']):+5.2f} pp)  "
              f"epochs {c['epochs']} vs {b['epochs']}")
    d, s = result["test_difference"], result["seed_sd"]
    print(f"\n{d['n']} pairs ({result['identical_test']} identical): test accuracy, candidate "
          f"- baseline, {100 * d['mean']:+.2f} pp [{100 * d['low']:+.2f}, "
          f"{100 * d['high']:+.2f}], SD of the differences {100 * d['sd']:.2f} pp; seed SD "
          f"within cells {100 * s['test']:.2f} pp ({s['df']} df)")
    print(f"target (interval holds 0, within one seed SD): "
          f"{'met' if result['target_met'] else 'not met'}")
    write_json(args.json, {"benchmark": "paired_accuracy", "date": now(),
                           "machine": machine_info(with_gpus=False),
                           "candidate": args.candidate, "baseline": args.baseline, **result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
