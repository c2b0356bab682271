"""Best-architecture summaries: a JSON for tools and a Markdown page for people.

"Best" is the cell with the highest mean validation accuracy over its seeds; its test
accuracy is reported, never used to choose.
"""

from __future__ import annotations

import json
import math
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import spaces
from search import interrupt
from search.analysis import CellStats, best_cell, cell_stats
from search.errors import ExportError
from search.files import write_atomically
from spaces.plan import table
from storage import TrialRecord

PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "optuna", "numpy", "scipy")


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
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        "",
    ])


def export(study_name: str, dataset: str | None, records: list[TrialRecord],
           out: Path) -> tuple[Path, Path]:
    """Write ``best_architecture.json`` and ``best_architecture.md`` into ``out``."""
    cells = cell_stats(records)
    if not cells:
        raise ExportError(f"study {study_name!r} has no completed trial to export")
    data = summary(study_name, dataset, best_cell(cells))
    text = markdown(data)
    interrupt.check()  # stopped before the writes: nothing is written
    try:
        out.mkdir(parents=True, exist_ok=True)
        json_path, md_path = out / "best_architecture.json", out / "best_architecture.md"
        with interrupt.shielded():  # a signal now is raised once both files are whole
            write_atomically(json_path, json.dumps(data, indent=2) + "\n")
            write_atomically(md_path, text)
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror}") from None
    return json_path, md_path
