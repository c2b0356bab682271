"""Training throughput: plain Keras vs the study pipeline, against the machine's matmul peak.

    python benchmarks/throughput.py [--models small,medium,large,dense] [--samples 10000]
        [--epochs 3] [--batch-size 128] [--repeats 1] [--variants [data,batch,jit,spe,mixed]]
        [--concurrent 1,4] [--json runs/benchmarks/throughput.json]

Models (Fashion-MNIST, 28x28x1; each built by ``spaces`` and compiled by
``search.train.compiled_model`` with the default ``TrainConfig`` but ``--epochs`` and
``--batch-size``): ``small`` CNN 16/32 filters, kernels 7/5; ``medium`` CNN 3 blocks of
32/64/128 filters, kernels 7/5/3; ``large`` CNN 64/128/256, kernels 7/5/3 (the scaling
grid's largest cell); all with a 128-unit dense head; ``dense`` 784-256-10.

What is timed, per model, in one process (runs alternate raw, pipeline per repeat; medians
over ``--repeats``, default 3):

- ``raw_samples_per_s``: ``epochs x train images / seconds`` of one plain ``model.fit(x, y,
  validation_data=(x_val, y_val), epochs, batch_size)`` on numpy arrays, timed with
  ``perf_counter`` around the ``fit`` call: the same boundary as ``search.train.train``'s
  ``train_seconds`` (graph tracing in epoch 1 and per-epoch validation included).
- ``pipeline_samples_per_s``: the same architecture and settings run as a trial of an
  in-memory Optuna grid study through ``search.engines.grid.run_grid`` (claim, heartbeat,
  ``search.objective.Objective`` with its pruning callback, tell):
  ``epochs x train images / train_seconds`` as stored by the trial, i.e. only the ``fit``
  call; model building, cost counting, the test evaluation and storage writes outside
  ``fit`` are excluded (``benchmarks/overhead.py`` measures those).
- ``raw_train_samples_per_s``: from the raw fit, training batches only (epoch start to
  validation start), epochs 2.. (epoch 1, with tracing, only when ``--epochs 1``);
  ``raw_best_train_samples_per_s``: the fastest such epoch over all repeats.
- ``train_gflops = 3 x flops x raw_best_train_samples_per_s / 1e9`` (``flops``: forward
  FLOPs per example by ``spaces.cost``, 2 x multiply-adds of conv and dense layers;
  backward counted as twice the forward) and ``peak_ratio = train_gflops /
  matmul_peak_gflops``: best epoch against best matmul round, because on a shared 2-vCPU
  VM both swing between a slow and a fast phase (docs/performance.md);
  ``train_gflops_median``/``peak_ratio_median`` use the median epoch rate instead.
- ``matmul_peak_gflops``: best rate of ``tf.linalg.matmul`` on two ``--matmul-size``
  square float32 matrices (2048 on CPU, 8192 with a GPU; warm-up, then rounds of about
  0.2 s for ``--matmul-seconds``, best round). With a GPU, TensorFlow may run float32
  matmuls as TF32 (``tf32`` in the JSON); float16/bfloat16 peaks are measured too.

``--variants`` (medium CNN, raw fit only; ``--repeats`` rounds with the variants interleaved
in each, medians): data path (numpy arrays vs ``tf.data`` with
shuffle, batch and prefetch), batch size (64/256/512/1024), ``jit_compile`` (XLA on/off),
``steps_per_execution`` (8/32) and, with ``mixed``, mixed precision (float16/bfloat16
compute, float32 outputs) with and without XLA. ``--concurrent 1,4`` runs the ``scaling``
preset (``--seeds 1``, ``--samples``, ``--epochs``) with k ``python -m search.study run``
workers sharing one SQLite study (``TF_FORCE_GPU_ALLOW_GROWTH=true``) and reports trials
per hour, by wall time from launch and over the span of the trials themselves.

Targets (issue 6): ``pipeline_over_raw >= 0.95`` for every model; the medium CNN's
``peak_ratio >= 0.6`` on CPU. On a shared machine the figures are not representative.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CNN_FIXED = {"convs_per_block": 1, "dense_units": 128}
# name -> (family, the varying knob with its single value, fixed values)
MODELS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "small": ("cnn", {"width": 16}, {"depth": 2, "kernels": [7, 5], **CNN_FIXED}),
    "medium": ("cnn", {"width": 32}, {"depth": 3, "kernels": [7, 5, 3], **CNN_FIXED}),
    "large": ("cnn", {"width": 64}, {"depth": 3, "kernels": [7, 5, 3], **CNN_FIXED}),
    "dense": ("dense", {"units": 256}, {"layers": 1}),
}
VARIANT_GROUPS = ("data", "batch", "jit", "spe", "mixed")
DEFAULT_VARIANTS = "data,batch,jit,spe"
TARGET_PIPELINE_OVER_RAW = 0.95
TARGET_MEDIUM_PEAK_RATIO = 0.6


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def gpus() -> list[str]:
    """Names of the GPUs TensorFlow sees (imports TensorFlow)."""
    import tensorflow as tf

    names = []
    for dev in tf.config.list_physical_devices("GPU"):
        try:
            names.append(tf.config.experimental.get_device_details(dev).get("device_name",
                                                                             dev.name))
        except Exception:  # details are best effort
            names.append(dev.name)
    return names


def machine_info(with_gpus: bool = True) -> dict[str, Any]:
    """CPU model, cores, GPUs, versions: the header of every benchmark's JSON."""
    info: dict[str, Any] = {
        "host": platform.node(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow", "tensorflow-cpu"),
        "keras": _version("keras"),
        "optuna": _version("optuna"),
    }
    with contextlib.suppress(OSError):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if with_gpus:
        info["gpus"] = gpus()
    return info


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"wrote {path}")


# --------------------------------------------------------------------------- matmul peak


def matmul_peak(size: int, seconds: float, dtype: str = "float32") -> float:
    """Best GFLOP/s of ``size x size`` matmuls (2 n^3 FLOPs each) over ``seconds``."""
    import tensorflow as tf

    a = tf.cast(tf.random.uniform((size, size), seed=1), dtype)
    b = tf.cast(tf.random.uniform((size, size), seed=2), dtype)
    flop = 2.0 * size**3
    c = tf.linalg.matmul(a, b)
    _ = c[0, 0].numpy()  # warm-up: kernels loaded, thread pools up
    t0 = time.perf_counter()
    for _ in range(2):
        c = tf.linalg.matmul(a, b)
    _ = c[0, 0].numpy()
    per = max((time.perf_counter() - t0) / 2, 1e-6)
    reps = max(1, int(0.2 / per))
    best, start = 0.0, time.perf_counter()
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            c = tf.linalg.matmul(a, b)
        _ = c[0, 0].numpy()  # waits for the queued work (GPU) before the clock stops
        best = max(best, reps * flop / (time.perf_counter() - t0))
        if time.perf_counter() - start >= seconds:
            return best / 1e9


# --------------------------------------------------------------------------- fits


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Seconds of each epoch's training batches (epoch start to validation start)."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._t: float | None = None

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def _stop(self) -> None:
            if self._t is not None:
                self.seconds.append(time.perf_counter() - self._t)
                self._t = None

        def on_test_begin(self, logs=None):
            self._stop()

        def on_epoch_end(self, epoch, logs=None):
            self._stop()

    return EpochTimer()


def steady_rate(epoch_seconds: list[float], n: int) -> float:
    """Training samples/s of epochs 2.. (all epochs if there is only one)."""
    steady = epoch_seconds[1:] or epoch_seconds
    return n * len(steady) / sum(steady)


def best_rate(epoch_seconds: list[float], n: int) -> float:
    """Training samples/s of the fastest epoch 2.. : the like-for-like partner of the matmul
    peak, itself the best of its rounds (on a shared VM both swing between a slow and a fast
    phase; comparing a median to a best would mix the two)."""
    return n / min(epoch_seconds[1:] or epoch_seconds)


def arch_of(name: str, data):
    from search.config import TrainConfig
    from search.presets import resolve

    family, knob, fixed = MODELS[name]
    arch, _ = resolve(family, {**fixed, **knob}, TrainConfig(), data.input_shape,
                      data.num_classes)
    return arch


def raw_fit(arch, cfg, data, *, tf_data: bool = False, jit: bool | None = None,
            steps_per_execution: int = 1, policy: str | None = None) -> dict[str, Any]:
    """One plain ``model.fit`` of a fresh ``compiled_model``; timed around the call."""
    import keras

    from search.train import compiled_model

    keras.utils.set_random_seed(0)
    if policy:
        keras.mixed_precision.set_global_policy(policy)
    try:
        model = compiled_model(arch, cfg, len(data.x_train))
    finally:
        if policy:
            keras.mixed_precision.set_global_policy("float32")
    if jit is not None:
        model.jit_compile = jit
    model.steps_per_execution = steps_per_execution
    timer = _epoch_timer()
    n = len(data.x_train)
    try:
        if tf_data:
            import tensorflow as tf

            train = (tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
                     .shuffle(n, seed=0, reshuffle_each_iteration=True)
                     .batch(cfg.batch_size).prefetch(tf.data.AUTOTUNE))
            val = (tf.data.Dataset.from_tensor_slices((data.x_val, data.y_val))
                   .batch(cfg.batch_size).prefetch(tf.data.AUTOTUNE))
            start = time.perf_counter()
            model.fit(train, validation_data=val, epochs=cfg.epochs, verbose=0,
                      callbacks=[timer])
        else:
            start = time.perf_counter()
            model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                      epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=0,
                      callbacks=[timer])
        seconds = time.perf_counter() - start
        return {
            "samples_per_s": cfg.epochs * n / seconds,
            "train_samples_per_s": steady_rate(timer.seconds, n),
            "best_train_samples_per_s": best_rate(timer.seconds, n),
            "fit_seconds": seconds,
            "epoch_train_seconds": [round(s, 3) for s in timer.seconds],
            "jit_compile": bool(model.jit_compile),
        }
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


def pipeline_fit(name: str, cfg, data) -> dict[str, Any]:
    """The model as the only unit of an in-memory grid study, run by ``run_grid``."""
    import optuna

    from search.engines.grid import run_grid
    from search.objective import Objective
    from search.presets import StudySpec
    from spaces.space import Space
    from storage import records

    family, knob, fixed = MODELS[name]
    space = Space.parse({"family": family, "params": {k: [v] for k, v in knob.items()},
                         "fixed": fixed})
    spec = StudySpec(preset="throughput", description="", mode="grid", dataset=data.name,
                     train=cfg, seeds=1, grids=(space,), trials=1)
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.NopPruner())
    done: list[optuna.trial.FrozenTrial] = []
    run_grid(study, storage, spec, Objective(spec, data), True, done.append)
    trial = done[0]
    if trial.state.name != "COMPLETE":
        raise RuntimeError(f"pipeline trial ended {trial.state.name}: "
                           f"{trial.user_attrs.get('fail_reason')}")
    stored = records.attrs(trial)
    seconds = float(stored[records.TRAIN_SECONDS])
    return {"samples_per_s": int(stored[records.EPOCHS_RUN]) * len(data.x_train) / seconds,
            "train_seconds": seconds, "val_accuracy": trial.value}


def measure_model(name: str, cfg, data, peak: float, repeats: int) -> dict[str, Any]:
    import spaces

    arch = arch_of(name, data)
    size = spaces.cost(arch)
    raws, pipes = [], []
    for _ in range(repeats):
        raws.append(raw_fit(arch, cfg, data))
        pipes.append(pipeline_fit(name, cfg, data))
    raw = statistics.median(r["samples_per_s"] for r in raws)
    steady = statistics.median(r["train_samples_per_s"] for r in raws)
    best = max(r["best_train_samples_per_s"] for r in raws)
    pipe = statistics.median(p["samples_per_s"] for p in pipes)
    gflops = 3 * size.flops * best / 1e9
    gflops_median = 3 * size.flops * steady / 1e9
    return {
        "name": name,
        "arch": json.loads(arch.to_json()),
        "param_count": size.params,
        "flops": size.flops,
        "raw_samples_per_s": round(raw, 1),
        "raw_train_samples_per_s": round(steady, 1),
        "raw_best_train_samples_per_s": round(best, 1),
        "pipeline_samples_per_s": round(pipe, 1),
        "pipeline_over_raw": round(pipe / raw, 4),
        "train_gflops": round(gflops, 2),
        "peak_ratio": round(gflops / peak, 4),
        "train_gflops_median": round(gflops_median, 2),
        "peak_ratio_median": round(gflops_median / peak, 4),
        "raw_runs": raws,
        "pipeline_runs": pipes,
    }


# --------------------------------------------------------------------------- variants


def variant_list(groups: list[str], batch_size: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"variant": "baseline (numpy, jit auto)"}]
    if "data" in groups:
        out.append({"variant": "tf.data + prefetch", "tf_data": True})
    if "batch" in groups:
        out += [{"variant": f"batch {b}", "batch_size": b} for b in (64, 256, 512, 1024)
                if b != batch_size]
    if "jit" in groups:
        out += [{"variant": "jit_compile=True", "jit": True},
                {"variant": "jit_compile=False", "jit": False}]
    if "spe" in groups:
        out += [{"variant": f"steps_per_execution {k}", "steps_per_execution": k}
                for k in (8, 32)]
    if "mixed" in groups:
        out += [{"variant": "mixed_float16", "policy": "mixed_float16"},
                {"variant": "mixed_bfloat16", "policy": "mixed_bfloat16"},
                {"variant": "mixed_float16 + jit", "policy": "mixed_float16", "jit": True},
                {"variant": "mixed_bfloat16 + jit", "policy": "mixed_bfloat16", "jit": True}]
    return out


def measure_variants(groups: list[str], cfg, data, peak: float,
                     repeats: int) -> list[dict[str, Any]]:
    """Raw fits of the medium CNN per variant; ``repeats`` rounds, variants interleaved in
    each, so a slow phase of a shared machine hits all of them alike; medians reported."""
    import spaces

    arch = arch_of("medium", data)
    flops = spaces.cost(arch).flops
    variants = variant_list(groups, cfg.batch_size)
    runs: list[list[dict[str, Any]]] = [[] for _ in variants]
    for _ in range(repeats):
        for v, done in zip(variants, runs, strict=True):
            vcfg = dataclasses.replace(cfg, batch_size=v.get("batch_size", cfg.batch_size))
            done.append(raw_fit(arch, vcfg, data, tf_data=v.get("tf_data", False),
                                jit=v.get("jit"),
                                steps_per_execution=v.get("steps_per_execution", 1),
                                policy=v.get("policy")))
            print(f"  variant {v['variant']:<28} "
                  f"{done[-1]['train_samples_per_s']:>10.0f} samples/s", flush=True)
    rows = []
    for v, done in zip(variants, runs, strict=True):
        steady = statistics.median(r["train_samples_per_s"] for r in done)
        gflops = 3 * flops * steady / 1e9
        rows.append({
            "variant": v["variant"],
            "data": "tf.data" if v.get("tf_data") else "numpy",
            "batch_size": v.get("batch_size", cfg.batch_size),
            "jit_compile": done[0]["jit_compile"],
            "steps_per_execution": v.get("steps_per_execution", 1),
            "policy": v.get("policy", "float32"),
            "raw_samples_per_s": round(statistics.median(r["samples_per_s"] for r in done), 1),
            "raw_train_samples_per_s": round(steady, 1),
            "raw_best_train_samples_per_s": round(
                max(r["best_train_samples_per_s"] for r in done), 1),
            "epoch_train_seconds": [r["epoch_train_seconds"] for r in done],
            "train_gflops": round(gflops, 2),
            "peak_ratio": round(gflops / peak, 4),
        })
    base = rows[0]["raw_train_samples_per_s"]
    for row in rows:
        row["over_baseline"] = round(row["raw_train_samples_per_s"] / base, 4)
    return rows


# --------------------------------------------------------------------------- concurrency


def measure_concurrent(ks: list[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """k CLI workers on one SQLite study of the preset; trials/hour per k."""
    import optuna

    from storage import open_storage, records

    rows = []
    for k in ks:
        with tempfile.TemporaryDirectory(prefix=f"bench-concurrent-k{k}-") as tmp:
            url, name = f"sqlite:///{tmp}/studies.db", f"concurrent-k{k}"
            cmd = [sys.executable, "-m", "search.study", "run", "--preset",
                   args.concurrent_preset, "--storage", url, "--study-name", name,
                   "--seeds", str(args.concurrent_seeds), "--epochs", str(args.epochs),
                   "--batch-size", str(args.batch_size), "--out", tmp]
            if args.samples:
                cmd += ["--train-subset", str(args.samples)]
            env = {**os.environ, "TF_FORCE_GPU_ALLOW_GROWTH": "true",
                   "TF_CPP_MIN_LOG_LEVEL": "2"}
            start = time.perf_counter()
            logs = [open(Path(tmp) / f"worker{i}.log", "w") for i in range(k)]  # noqa: SIM115
            procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT) for log in logs]
            codes = [p.wait() for p in procs]
            wall = time.perf_counter() - start
            for log in logs:
                log.close()
            if any(codes):
                tail = (Path(tmp) / "worker0.log").read_text()[-2000:]
                raise RuntimeError(f"k={k}: worker exit codes {codes}\n{tail}")
            study = optuna.load_study(study_name=name, storage=open_storage(url))
            trials = [t for t in study.get_trials(deepcopy=False)
                      if t.state.name == "COMPLETE"]
            span = (max(t.datetime_complete for t in trials)
                    - min(t.datetime_start for t in trials)).total_seconds()
            train = sum(float(records.attrs(t).get(records.TRAIN_SECONDS, 0)) for t in trials)
            rows.append({
                "workers": k, "trials": len(trials), "wall_seconds": round(wall, 1),
                "span_seconds": round(span, 1),
                "trials_per_hour_wall": round(3600 * len(trials) / wall, 1),
                "trials_per_hour_span": round(3600 * len(trials) / span, 1),
                "mean_train_seconds": round(train / len(trials), 2),
            })
            print(f"  {k} worker(s): {len(trials)} trials, wall {wall:.0f} s, "
                  f"{rows[-1]['trials_per_hour_span']:.0f} trials/h over the trials' span",
                  flush=True)
    base = rows[0]["trials_per_hour_span"]
    for row in rows:
        row["speedup_span"] = round(row["trials_per_hour_span"] / base, 3)
    return rows


# --------------------------------------------------------------------------- report


def model_table(models: list[dict[str, Any]], peak: float) -> str:
    head = (f"{'model':<8}{'params':>10}{'MFLOPs':>9}{'raw/s':>9}{'train/s':>9}{'best/s':>9}"
            f"{'pipeline/s':>11}{'pipe/raw':>9}{'GFLOP/s':>9}{'of peak':>8}{'(median)':>9}")
    lines = [f"matmul peak (float32): {peak:.1f} GFLOP/s", head, "-" * len(head)]
    for m in models:
        lines.append(f"{m['name']:<8}{m['param_count']:>10,}{m['flops'] / 1e6:>9.1f}"
                     f"{m['raw_samples_per_s']:>9.0f}{m['raw_train_samples_per_s']:>9.0f}"
                     f"{m['raw_best_train_samples_per_s']:>9.0f}"
                     f"{m['pipeline_samples_per_s']:>11.0f}{m['pipeline_over_raw']:>9.3f}"
                     f"{m['train_gflops']:>9.1f}{m['peak_ratio']:>8.3f}"
                     f"{m['peak_ratio_median']:>9.3f}")
    lines.append("raw/s, pipeline/s: whole fit call (tracing + validation included), medians; "
                 "train/s: training batches of epochs 2.., median; best/s: fastest such "
                 "epoch, the basis of GFLOP/s and 'of peak' (the peak is a best round too)")
    return "\n".join(lines)


def variant_table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'medium CNN variant':<28}{'batch':>6}{'xla':>5}{'spe':>5}{'raw/s':>9}"
            f"{'train/s':>9}{'vs base':>9}{'of peak':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['variant']:<28}{r['batch_size']:>6}{'y' if r['jit_compile'] else 'n':>5}"
                     f"{r['steps_per_execution']:>5}{r['raw_samples_per_s']:>9.0f}"
                     f"{r['raw_train_samples_per_s']:>9.0f}{r['over_baseline']:>9.3f}"
                     f"{r['peak_ratio']:>9.3f}")
    return "\n".join(lines)


def concurrent_table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'workers':>8}{'trials':>8}{'wall s':>8}{'span s':>8}{'trials/h wall':>15}"
            f"{'trials/h span':>15}{'speedup':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['workers']:>8}{r['trials']:>8}{r['wall_seconds']:>8.0f}"
                     f"{r['span_seconds']:>8.0f}{r['trials_per_hour_wall']:>15.0f}"
                     f"{r['trials_per_hour_span']:>15.0f}{r['speedup_span']:>9.2f}")
    return "\n".join(lines)


def verdict(models: list[dict[str, Any]], has_gpu: bool) -> list[str]:
    lines = []
    for m in models:
        ok = m["pipeline_over_raw"] >= TARGET_PIPELINE_OVER_RAW
        lines.append(f"{m['name']}: pipeline_over_raw {m['pipeline_over_raw']:.3f} "
                     f"(target >= {TARGET_PIPELINE_OVER_RAW}) {'met' if ok else 'NOT met'}")
    medium = next((m for m in models if m["name"] == "medium"), None)
    if medium is not None and not has_gpu:
        ok = medium["peak_ratio"] >= TARGET_MEDIUM_PEAK_RATIO
        lines.append(f"medium: peak_ratio {medium['peak_ratio']:.3f} "
                     f"(target >= {TARGET_MEDIUM_PEAK_RATIO} on CPU) {'met' if ok else 'NOT met'}")
    return lines


# --------------------------------------------------------------------------- main


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default=",".join(MODELS),
                   help=f"comma list of {', '.join(MODELS)} (default: all; none: skip)")
    p.add_argument("--samples", type=int, default=10000,
                   help="stratified training subset (0 = all 50k; validation shrinks with it)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3,
                   help="raw/pipeline pairs per model, and rounds of the variants")
    p.add_argument("--matmul-size", type=int, help="default 2048 on CPU, 8192 with a GPU")
    p.add_argument("--matmul-seconds", type=float, default=3.0)
    p.add_argument("--variants", nargs="?", const=DEFAULT_VARIANTS, default=None,
                   metavar="GROUPS",
                   help=f"also measure medium-CNN variants; groups from "
                        f"{','.join(VARIANT_GROUPS)} (default: {DEFAULT_VARIANTS})")
    p.add_argument("--concurrent", metavar="K1,K2", type=_int_list,
                   help="also measure trials/hour with k CLI workers on one study")
    p.add_argument("--concurrent-preset", default="scaling")
    p.add_argument("--concurrent-seeds", type=int, default=1)
    p.add_argument("--json", default="runs/benchmarks/throughput.json")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    names = [] if args.models == "none" else [m.strip() for m in args.models.split(",")
                                                if m.strip()]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(MODELS)}")
    groups = [g.strip() for g in (args.variants or "").split(",") if g.strip()]
    if set(groups) - set(VARIANT_GROUPS):
        parser.error(f"unknown variant group(s): choose from {', '.join(VARIANT_GROUPS)}")

    import keras  # noqa: F401  (TensorFlow up before the clock starts anywhere)

    from search.config import TrainConfig
    from search.data import load_splits

    machine = machine_info()
    has_gpu = bool(machine["gpus"])
    size = args.matmul_size or (8192 if has_gpu else 2048)
    data = load_splits("fashion_mnist", train_subset=args.samples or None)
    # The test split is only evaluated once per pipeline trial, outside the timed fit.
    data = dataclasses.replace(data, x_test=data.x_test[:1000], y_test=data.y_test[:1000])
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size)
    print(f"data: {data!r}\nmachine: {machine['cpu_model']}, {machine['cores']} cores, "
          f"GPUs: {', '.join(machine['gpus']) or 'none'}; load {machine.get('load_average')}",
          flush=True)

    peak = matmul_peak(size, args.matmul_seconds)
    import tensorflow as tf

    extra_peaks: dict[str, float] = {}
    if has_gpu or "mixed" in groups:
        for dtype in ("float16", "bfloat16"):
            extra_peaks[f"matmul_peak_gflops_{dtype}"] = round(
                matmul_peak(size, args.matmul_seconds, dtype), 1)
    print(f"matmul peak: {peak:.1f} GFLOP/s float32 ({size}x{size}) {extra_peaks or ''}",
          flush=True)

    # Warm-up fit: TensorFlow's first fit in a process pays one-time costs no model should.
    raw_fit(arch_of("dense", data), dataclasses.replace(cfg, epochs=1), data)

    models = []
    for name in names:
        models.append(measure_model(name, cfg, data, peak, args.repeats))
        m = models[-1]
        print(f"  {name:<7} raw {m['raw_samples_per_s']:.0f}/s  pipeline "
              f"{m['pipeline_samples_per_s']:.0f}/s  train {m['raw_train_samples_per_s']:.0f}/s",
              flush=True)
    variants = measure_variants(groups, cfg, data, peak, args.repeats) if groups else []
    concurrent = measure_concurrent(args.concurrent, args) if args.concurrent else []

    if models:
        print("\n" + model_table(models, peak))
    if variants:
        print("\n" + variant_table(variants))
    if concurrent:
        print("\n" + concurrent_table(concurrent))
    lines = verdict(models, has_gpu)
    print("\n" + "\n".join(lines))
    write_json(args.json, {
        "benchmark": "throughput",
        "command": " ".join(["python", "benchmarks/throughput.py", *(argv or sys.argv[1:])]),
        "date": now(),
        "machine": machine,
        "settings": {"dataset": data.name, "train_samples": len(data.x_train),
                     "val_samples": len(data.x_val), "epochs": args.epochs,
                     "batch_size": args.batch_size, "repeats": args.repeats,
                     "matmul_size": size, "matmul_seconds": args.matmul_seconds,
                     "train": cfg.__dict__},
        "matmul_peak_gflops": round(peak, 1),
        **extra_peaks,
        "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        "models": models,
        "variants": variants,
        "concurrent": concurrent,
        "targets": {"pipeline_over_raw_min": TARGET_PIPELINE_OVER_RAW,
                    "medium_peak_ratio_min_cpu": TARGET_MEDIUM_PEAK_RATIO},
        "verdict": lines,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
