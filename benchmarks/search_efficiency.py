"""Search efficiency: which engine finds a good architecture with less compute?

    python benchmarks/search_efficiency.py [--json PATH] [--html PATH] [--png PATH]

Contenders, on the same space, data subset, splits and budget in training epochs:

- ``optuna-tpe-hyperband``: Optuna TPE (multivariate, as ``search.study``) + Hyperband pruner
  (min 1 epoch, max ``--epochs``, reduction factor 3), fed per-epoch validation accuracy;
- ``optuna-random-median``: Optuna random sampler + median pruner (warm-up 1 epoch);
- ``kt-hyperband``: KerasTuner Hyperband (one iteration, ``max_epochs = --epochs``,
  factor 3, continued rounds warm-started from the parent's checkpoint);
- ``kt-bayesian``: KerasTuner BayesianOptimization (its default initial random points),
  ``floor(budget / --epochs)`` trials of ``--epochs`` epochs.

The budget is what one KerasTuner Hyperband iteration trains (``--epochs 6``: 10 trials,
36 epochs; ``--epochs 9``: 23 trials, 75 epochs); every contender gets that many epochs.
Optuna contenders start trials until the budget is spent; a trial that ends past the
budget is not counted (its result would come after the budget). Epochs are those actually
trained: a pruned trial counts the epochs it ran, a continued Hyperband round only its new
epochs. All contenders train with ``search.train.train`` (Optuna through
``search.objective.Objective``, KerasTuner through ``search.engines.keras_tuner``), seeds per
trial as in those modules, repetitions with sampler/oracle seeds 1..R, contenders interleaved
within each repetition so a load change on a shared machine hits all of them.

**Default setting** (about 10 minutes on 2 idle CPU cores): Fashion-MNIST, stratified
``--train-subset 1000`` training images (200 validation), a 2000-image stratified subset
of the official test set for the reported test accuracy (``--test-subset``; never used
for selection), ``--epochs 6`` (budget 36 epochs), 3 repetitions, ``--target 0.75``, and
the *bench* space: the parameters of ``search/presets/search.toml`` with narrower size
ranges (width 8-32, depth 1-3, 1-2 convs per block, dense 0/64/128). On this subset an
epoch takes 0.1-1 s, while every Keras trial costs about 2.5 s of model building and
graph tracing: at this scale trials, not epochs, dominate wall time.
**Full scale**: ``--space search --train-subset 0 --test-subset 0 --epochs 15
--repetitions 5`` (the search preset's space on all 50k images: hours on CPU, use a GPU).
``--replot JSON --target T`` re-summarizes a finished run without training.

Records per contender and repetition: best validation accuracy so far against epochs
consumed and wall time, epochs and seconds to ``--target``, the final best (at the
budget) and the test accuracy of that final best architecture. Prints a table, writes
JSON and a Plotly figure (best so far vs epochs: median line, min-max band).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import optuna

from benchmarks.throughput import machine_info, now, write_json
from search import presets
from search.data import Splits, load_splits
from search.presets import StudySpec
from spaces.space import Space
from storage import records

CONTENDERS = ("optuna-tpe-hyperband", "optuna-random-median", "kt-hyperband", "kt-bayesian")

BENCH_SPACE = {
    "family": "cnn",
    "params": {
        "width": {"type": "int", "low": 8, "high": 32, "step": 8},
        "depth": {"type": "int", "low": 1, "high": 3},
        "convs_per_block": {"type": "int", "low": 1, "high": 2},
        "kernels": ["5-3-3", "3-3-3"],
        "batch_norm": [True, False],
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "dense_units": [0, 64, 128],
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
        "augment": ["none", "flip", "shift", "flip+shift"],
    },
}


# --------------------------------------------------------------------------- setup


def make_spec(args: argparse.Namespace) -> StudySpec:
    spec = presets.load("search", epochs=args.epochs,
                        train_subset=args.train_subset or None)
    space = Space.parse(BENCH_SPACE) if args.space == "bench" else spec.space
    return dataclasses.replace(spec, space=space, trials=None, timeout=None)


def make_data(spec: StudySpec, test_subset: int) -> Splits:
    data = load_splits(spec.dataset, data_dir=spec.data_dir, split_seed=spec.split_seed,
                       train_subset=spec.train_subset)
    if not test_subset or test_subset >= len(data.y_test):
        return data
    rng = np.random.default_rng([spec.split_seed, 2])
    per_class = test_subset // data.num_classes
    idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(data.y_test == c))[:per_class]
                                  for c in range(data.num_classes)]))
    return dataclasses.replace(data, x_test=data.x_test[idx], y_test=data.y_test[idx])


# --------------------------------------------------------------------------- contenders


def run_optuna(name: str, spec: StudySpec, data: Splits, seed: int, budget: int
               ) -> optuna.Study:
    from search.objective import Objective
    from search.train import TrainingDiverged

    # The same sampler and pruner construction as `python -m search.study run`.
    tpe = name == "optuna-tpe-hyperband"
    contender = dataclasses.replace(spec, sampler="tpe" if tpe else "random",
                                    pruner="hyperband" if tpe else "median")
    study = optuna.create_study(direction="maximize",
                                sampler=presets.make_sampler(contender, seed),
                                pruner=presets.make_pruner(contender),
                                study_name=f"{name}-{seed}")

    def stop_at_budget(study: optuna.Study, _: optuna.trial.FrozenTrial) -> None:
        if sum(trained_epochs(t) for t in study.get_trials(deepcopy=False)) >= budget:
            study.stop()

    study.optimize(Objective(spec, data), callbacks=[stop_at_budget],
                   catch=(TrainingDiverged,))
    return study


def run_kt(name: str, spec: StudySpec, data: Splits, seed: int, budget: int, out: Path
           ) -> optuna.Study:
    from search.engines.keras_tuner import run_keras_tuner

    tuner = "hyperband" if name == "kt-hyperband" else "bayesian"
    if tuner == "bayesian":
        spec = dataclasses.replace(spec, trials=max(1, budget // spec.train.epochs))
    study = optuna.create_study(direction="maximize", study_name=f"{name}-{seed}")
    run_keras_tuner(spec, data, study, tuner, out, lambda t: None, seed=seed)
    return study


def trained_epochs(trial: optuna.trial.FrozenTrial) -> int:
    """Epochs this trial trained: KerasTuner's ``epochs`` attr (a continued round counts only
    its new epochs), else one per reported epoch (pruned trials included)."""
    if "kt_trial_id" in trial.user_attrs:
        return int(records.attrs(trial)[records.EPOCHS_RUN])
    return len(trial.intermediate_values)


# --------------------------------------------------------------------------- measurements


def trace(study: optuna.Study, start: float, budget: int) -> dict[str, Any]:
    """Per trial in completion order: epochs consumed, seconds, best so far (within budget)."""
    trials = sorted((t for t in study.get_trials(deepcopy=False)
                     if t.state.is_finished()), key=lambda t: t.datetime_complete)
    epochs = 0
    best = -math.inf
    best_trial: optuna.trial.FrozenTrial | None = None
    points = []
    counts = {"complete": 0, "pruned": 0, "failed": 0}
    for t in trials:
        epochs += trained_epochs(t)
        if epochs > budget:
            break
        counts[{"COMPLETE": "complete", "PRUNED": "pruned"}.get(t.state.name, "failed")] += 1
        if t.state.name == "COMPLETE" and t.value is not None and t.value > best:
            best, best_trial = t.value, t
        points.append({"epochs": epochs,
                       "seconds": round(t.datetime_complete.timestamp() - start, 2),
                       "best": None if best_trial is None else best})
    final = best_trial
    return {
        "points": points,
        "epochs_used": points[-1]["epochs"] if points else 0,
        "final_best_val": None if final is None else final.value,
        "final_best_test": None if final is None else final.user_attrs.get("test_accuracy"),
        "final_best_params": None if final is None else final.params,
        "trials": counts,
    }


def to_target(points: list[dict[str, Any]], target: float) -> tuple[int | None, float | None]:
    for p in points:
        if p["best"] is not None and p["best"] >= target:
            return p["epochs"], p["seconds"]
    return None, None


def best_at(points: list[dict[str, Any]], epoch: int) -> float | None:
    value = None
    for p in points:
        if p["epochs"] > epoch:
            break
        value = p["best"]
    return value


# --------------------------------------------------------------------------- report


def summarize(runs: dict[str, list[dict[str, Any]]], target: float) -> dict[str, Any]:
    summary = {}
    for name, reps in runs.items():
        hits = [to_target(r["points"], target) for r in reps]
        ep = [h[0] for h in hits if h[0] is not None]
        finals = [r["final_best_val"] for r in reps if r["final_best_val"] is not None]
        tests = [r["final_best_test"] for r in reps if r["final_best_test"] is not None]
        summary[name] = {
            "reached_target": f"{len(ep)}/{len(reps)}",
            # Runs that never reach the target count as "more than the budget" (inf), so
            # the median is honest when only some runs reach it.
            "epochs_to_target_median": _median_inf([h[0] for h in hits]),
            "seconds_to_target_median": _median_inf([h[1] for h in hits]),
            "epochs_to_target": [h[0] for h in hits],
            "seconds_to_target": [h[1] for h in hits],
            "final_best_val_median": statistics.median(finals) if finals else None,
            "final_best_val": finals,
            "final_best_test_median": statistics.median(tests) if tests else None,
            "final_best_test": tests,
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in reps),
            "trials_median": statistics.median(sum(r["trials"].values()) for r in reps),
        }
    return summary


def _median_inf(values: list[float | None]) -> float | None:
    filled = [math.inf if v is None else v for v in values]
    m = statistics.median(filled) if filled else math.inf
    return None if math.isinf(m) else m


def verdict(summary: dict[str, Any]) -> str:
    ours, kt = summary.get("optuna-tpe-hyperband"), summary.get("kt-hyperband")
    if not ours or not kt:
        return "goal not evaluated (both optuna-tpe-hyperband and kt-hyperband are needed)"
    e_ours, e_kt = ours["epochs_to_target_median"], kt["epochs_to_target_median"]
    f_ours, f_kt = ours["final_best_val_median"], kt["final_best_val_median"]
    fast = e_ours is not None and (e_kt is None or e_ours <= 0.5 * e_kt)
    good = f_ours is not None and (f_kt is None or f_ours >= f_kt)
    return (f"goal {'MET' if fast and good else 'NOT met'}: optuna-tpe-hyperband median "
            f"epochs to target {_fmt(e_ours)} vs kt-hyperband {_fmt(e_kt)} (needs <= half), "
            f"final best {_fmt(f_ours, 4)} vs {_fmt(f_kt, 4)} (needs >=)")


def _fmt(v: Any, digits: int = 0, missing: str = "not reached") -> str:
    if v is None:
        return missing
    return f"{v:.{digits}f}"


def table(summary: dict[str, Any], target: float, budget: int) -> str:
    head = (f"{'contender':<22}{'reached':>8}{'epochs→' + f'{target:.2f}':>13}"
            f"{'s→target':>10}{'final best val':>22}{'test of best':>14}{'trials':>8}"
            f"{'wall s':>8}")
    lines = [f"budget {budget} epochs per run; medians over repetitions "
             "(final best: median [min-max])", head, "-" * len(head)]
    for name, s in summary.items():
        finals = s["final_best_val"]
        spread = f"{_fmt(s['final_best_val_median'], 4)} [{min(finals):.3f}-{max(finals):.3f}]" \
            if finals else "—"
        lines.append(
            f"{name:<22}{s['reached_target']:>8}"
            f"{_fmt(s['epochs_to_target_median'], 0, '>budget'):>13}"
            f"{_fmt(s['seconds_to_target_median'], 0, '—'):>10}{spread:>22}"
            f"{_fmt(s['final_best_test_median'], 4):>14}{s['trials_median']:>8.0f}"
            f"{s['wall_seconds_median']:>8.0f}")
    return "\n".join(lines)


def figure(runs: dict[str, list[dict[str, Any]]], budget: int, target: float, title: str):
    import plotly.graph_objects as go

    colors = {"optuna-tpe-hyperband": "31,119,180", "optuna-random-median": "44,160,44",
              "kt-hyperband": "214,39,40", "kt-bayesian": "148,103,189"}
    grid = list(range(1, budget + 1))
    fig = go.Figure()
    for name, reps in runs.items():
        curves = [[best_at(r["points"], e) for e in grid] for r in reps]
        rows = []
        for i in range(len(grid)):
            vals = [c[i] for c in curves if c[i] is not None]
            rows.append((statistics.median(vals), min(vals), max(vals)) if len(vals) == len(
                curves) else (None, None, None))
        med, lo, hi = zip(*rows, strict=True)
        rgb = colors.get(name, "100,100,100")
        fig.add_trace(go.Scatter(x=grid, y=hi, mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip", line_shape="hv"))
        fig.add_trace(go.Scatter(x=grid, y=lo, mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor=f"rgba({rgb},0.15)",
                                 showlegend=False, hoverinfo="skip", line_shape="hv"))
        dash = "dash" if name == "optuna-random-median" else "solid"  # may overlap TPE's
        fig.add_trace(go.Scatter(x=grid, y=med, mode="lines", name=name, line_shape="hv",
                                 line={"color": f"rgb({rgb})", "width": 2.5, "dash": dash}))
    fig.add_hline(y=target, line_dash="dot", annotation_text=f"target {target:.2f}")
    fig.update_layout(title=title, xaxis_title="training epochs consumed",
                      yaxis_title="best validation accuracy so far", template="plotly_white",
                      width=900, height=520,
                      legend={"x": 0.62, "y": 0.05, "traceorder": "normal"})
    return fig


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", choices=("bench", "search"), default="bench",
                        help="bench (default, smaller sizes) or the search preset's space")
    parser.add_argument("--train-subset", type=int, default=1000,
                        help="training images (0 = all 50k); validation shrinks with it")
    parser.add_argument("--test-subset", type=int, default=2000,
                        help="stratified test images for reporting (0 = all 10k)")
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs of a full trial = KerasTuner Hyperband max_epochs")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.75,
                        help="validation accuracy for epochs-to-target")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--json", default="runs/benchmarks/search_efficiency.json")
    parser.add_argument("--html", default="runs/benchmarks/search_efficiency.html")
    parser.add_argument("--png", default="docs/search_efficiency.png")
    parser.add_argument("--replot", metavar="JSON",
                        help="no training: re-summarize an earlier --json (e.g. another --target)")
    args = parser.parse_args(argv)
    if args.replot:
        return replot(args)

    from search.engines.keras_tuner import hyperband_epochs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown contender(s) {', '.join(unknown)}")
    spec = make_spec(args)
    data = make_data(spec, args.test_subset)
    kt_trials, budget = hyperband_epochs(spec.train.epochs)
    print(f"data: {data!r}\nspace: {args.space}, {spec.train.epochs} epochs per full trial, "
          f"budget {budget} epochs (= one KerasTuner Hyperband iteration, {kt_trials} trials)",
          flush=True)

    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="search-eff-") as tmp:
        for rep in range(args.repetitions):
            seed = rep + 1
            for name in contenders:
                t0 = time.time()
                if name.startswith("optuna"):
                    study = run_optuna(name, spec, data, seed, budget)
                else:
                    study = run_kt(name, spec, data, seed, budget, Path(tmp) / f"{name}-{seed}")
                wall = time.time() - t0
                result = trace(study, t0, budget) | {"seed": seed, "wall_seconds": round(wall, 1)}
                runs[name].append(result)
                print(f"rep {rep + 1}/{args.repetitions} {name:<22} epochs "
                      f"{result['epochs_used']:>4}  trials {result['trials']}  final best "
                      f"{_fmt(result['final_best_val'], 4)}  "
                      f"test {_fmt(result['final_best_test'], 4)}"
                      f"  {wall:.0f} s", flush=True)
    total = time.time() - started

    print(f"\ntotal wall time {total:.0f} s")
    payload = {
        "benchmark": "search_efficiency", "date": now(), "machine": machine_info(),
        "settings": {"space": args.space, "space_declaration": _space_data(spec.space),
                     "dataset": spec.dataset, "train_subset": len(data.y_train),
                     "val_size": len(data.y_val), "test_subset": len(data.y_test),
                     "epochs_per_full_trial": spec.train.epochs, "budget_epochs": budget,
                     "repetitions": args.repetitions, "target": args.target,
                     "train": spec.train.__dict__, "contenders": contenders},
        "total_wall_seconds": round(total, 1),
        "runs": runs,
    }
    write_outputs(args, payload, _title(payload["settings"]))
    return 0


def write_outputs(args: argparse.Namespace, payload: dict[str, Any], title: str) -> None:
    runs, budget = payload["runs"], payload["settings"]["budget_epochs"]
    summary = summarize(runs, args.target)
    payload |= {"summary": summary, "verdict": verdict(summary)}
    payload["settings"]["target"] = args.target
    print("\n" + table(summary, args.target, budget) + "\n\n" + payload["verdict"])
    write_json(args.json, payload)
    fig = figure(runs, budget, args.target, title)
    Path(args.html).parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(args.html, include_plotlyjs="cdn")
    try:
        Path(args.png).parent.mkdir(parents=True, exist_ok=True)
        fig.write_image(args.png, scale=2)
        png = args.png
    except Exception as exc:  # kaleido needs a Chrome; the HTML is always written
        png = f"not written ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    print(f"wrote {args.html}, PNG: {png}")


def _title(settings: dict[str, Any]) -> str:
    return (f"Best validation accuracy vs training epochs ({settings['dataset']}, "
            f"{settings['train_subset']} train images, {settings['repetitions']} reps: "
            "median, min-max band)")


def replot(args: argparse.Namespace) -> int:
    payload = json.loads(Path(args.replot).read_text())
    write_outputs(args, payload, _title(payload["settings"]))
    return 0


def _space_data(space: Space | None) -> Any:
    if space is None:
        return None
    return {"family": space.family, "params": [dataclasses.asdict(p) for p in space.params]}


if __name__ == "__main__":
    sys.exit(main())
