"""Best-architecture summaries: a JSON for tools and a Markdown page for people, and the
best cell's trained model (``best_model.keras``) where one was kept.

"Best" is the cell with the highest mean validation accuracy over its seeds; its test
accuracy is reported, never used to choose. Its model is that of its best seed by
validation accuracy among those that kept one (:func:`search.kept.kept_trial`), copied
from the study's artifacts: no Keras is needed to export it.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import spaces
from search import interrupt
from search.analysis import CellStats, best_cell, cell_stats
from search.errors import ExportError
from search.files import write_atomically
from search.kept import fetch, kept_trial
from spaces.plan import table
from storage import TrialRecord
from storage.errors import ArtifactError

PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "optuna", "numpy", "scipy")
MODEL_FILE = "best_model.keras"


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote, and the lines a user should read (a kept model that
    could not be copied)."""

    json: Path
    md: Path
    model: Path | None = None
    warnings: tuple[str, ...] = ()


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def summary(study_name: str, dataset: str | None, best: CellStats) -> dict[str, Any]:
    return {
        "study": study_name,
        "dataset": dataset,
        "family": best.family,
        "cell": best.cell,
        "arch": best.arch,
        "train": best.train,
        "param_count": best.param_count,
        "flops": best.flops,
        "val_accuracy": {"mean": _finite(best.val.mean),
                         "ci95": [_finite(best.val.low), _finite(best.val.high)]},
        "test_accuracy": {
            "mean": _finite(best.test.mean),
            "ci95": [_finite(best.test.low), _finite(best.test.high)],
            "per_seed": dict(zip((str(s) for s in best.seeds), best.test_per_seed, strict=True)),
        },
        "trials": list(best.trials),
        "versions": versions(),
    }


def layer_table(arch: dict[str, Any]) -> str:
    """The layers Keras builds for ``arch`` (names, output shapes, parameters), from the
    spec's plan: exporting needs no TensorFlow."""
    spec = spaces.from_dict(arch)
    return table(spec.input_shape, spec.layer_plan())


def model_summary(record: TrialRecord) -> dict[str, Any]:
    """The exported model's trial, as the JSON names it."""
    return {"file": MODEL_FILE, "trial": record.number, "seed": record.seed,
            "val_accuracy": record.val_accuracy, "test_accuracy": record.test_accuracy,
            "artifact_id": record.model_artifact}


def model_text(data: dict[str, Any]) -> list[str]:
    """The Markdown section on the trained model: which trial, and how to load it."""
    model = data.get("model")
    if model is None:
        return ["No trained model of this cell is written here: none was kept (see `run "
                "--keep-models`) or its artifact could not be read."]
    shape = ", ".join(str(n) for n in data["arch"].get("input_shape", ()))
    return [
        f"`{model['file']}`: seed {model['seed']} of this cell (trial {model['trial']}, the "
        "best of its seeds by validation accuracy that kept its model), test accuracy "
        f"{100 * model['test_accuracy']:.2f} %. It holds the input pipeline and the "
        "weights, no optimizer state; with Keras:",
        "",
        "```python",
        f'model = keras.saving.load_model("{model["file"]}")',
        f"probabilities = model.predict(images)  # float32 in [0, 1], shape (n, {shape})",
        "```",
    ]


def markdown(data: dict[str, Any]) -> str:
    test, val = data["test_accuracy"], data["val_accuracy"]

    def pct(interval: dict[str, Any]) -> str:
        low, high = interval["ci95"]
        ci = f" (95 % CI {100 * low:.2f} to {100 * high:.2f})" if low is not None else ""
        return f"{100 * interval['mean']:.2f} %{ci}"

    per_seed = ", ".join(f"seed {s}: {100 * v:.2f} %" for s, v in test["per_seed"].items())
    return "\n".join([
        f"# Best architecture of study `{data['study']}`",
        "",
        f"- dataset: {data['dataset']}",
        f"- family: {data['family']}, cell `{data['cell']}`",
        f"- parameters: {data['param_count']:,}; forward FLOPs per example: {data['flops']:,}",
        f"- validation accuracy (selects): {pct(val)}",
        f"- test accuracy (reported): {pct(test)}; {per_seed}",
        f"- trials: {', '.join(str(t) for t in data['trials'])}",
        "",
        "Chosen by mean validation accuracy over the cell's seeds; the test set never selects.",
        "",
        "## Architecture",
        "",
        "```json",
        json.dumps(data["arch"], indent=2),
        "```",
        "",
        "## Layers (as Keras builds them)",
        "",
        layer_table(data["arch"]),
        "",
        "## Trained model",
        "",
        *model_text(data),
        "",
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        "",
    ])


def _copy_model(models: Path | None, kept: TrialRecord | None, dest: Path,
                warnings: list[str]) -> Path | None:
    """``kept``'s model copied from the artifact folder ``models`` to ``dest``; None when
    there is none or it cannot be read (said in ``warnings``), and then a model an earlier
    export left at ``dest`` is removed: it would pass for this cell's."""
    if models is None:
        return None
    if kept is not None:
        try:
            return fetch(models, kept, dest)
        except ArtifactError as exc:
            warnings.append(f"{exc}; {dest.name} not written")
    dest.unlink(missing_ok=True)
    return None


def export(study_name: str, dataset: str | None, records: list[TrialRecord], out: Path,
           models: Path | None = None) -> Exported:
    """Write ``best_architecture.json`` and ``best_architecture.md`` into ``out``, and with
    the artifact folder ``models`` the best cell's kept model as ``best_model.keras``. A
    kept model that is missing or corrupt is a warning; the summaries are written still."""
    cells = cell_stats(records)
    if not cells:
        raise ExportError(f"study {study_name!r} has no completed trial to export")
    best = best_cell(cells)
    data = summary(study_name, dataset, best)
    kept = kept_trial(records, best.cell)
    interrupt.check()  # stopped before the writes: nothing is written
    warnings: list[str] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        json_path, md_path = out / "best_architecture.json", out / "best_architecture.md"
        with interrupt.shielded():  # a signal now is raised once every file is whole
            model = _copy_model(models, kept, out / MODEL_FILE, warnings)
            data["model"] = model_summary(kept) if model is not None and kept else None
            write_atomically(json_path, json.dumps(data, indent=2) + "\n")
            write_atomically(md_path, markdown(data))
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror}") from None
    return Exported(json_path, md_path, model, tuple(warnings))
