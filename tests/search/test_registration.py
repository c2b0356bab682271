"""A family and a dataset are one registration each: a family declared inside the test
(tests/spaces/tiny.py: its spec, its plan and ``register(Family(...))``) and a dataset
registered here (``register(Dataset(...))``), no other edit, run through a real study,
``report`` and ``export`` of the command line, in this process (a registration lives in the
process that makes it)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from search import datasets
from search import study as cli
from search.datasets import _registry
from search.datasets.split import train_count
from tests.search.datasets.make import arrays
from tests.spaces.tiny import registered  # noqa: F401  (a fixture)

PRESET = ('mode = "grid"\nseeds = 1\n[train]\nepochs = 1\nbatch_size = 8\n'
          '[[grid]]\nfamily = "tiny"\nparams = { breadth = [2, 4], stack = [1, 2] }\n'
          '[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n')


@pytest.fixture
def blobs(monkeypatch: pytest.MonkeyPatch) -> datasets.Dataset:
    """A 12x12 grey, 3-class dataset, registered for one test (the registry is restored)."""
    monkeypatch.setattr(_registry, "DATASETS", dict(_registry.DATASETS))
    a = {k: v[..., None] if k.startswith("x") else v.astype(np.int32)
         for k, v in arrays(channels=None).items()}
    raw = datasets.Raw(a["x_train"], a["y_train"], a["x_test"], a["y_test"], 3, "generated")
    return datasets.register(datasets.Dataset(
        "blobs", (12, 12, 1), 3, train_images=train_count(np.bincount(raw.y_train), 4),
        val_denominator=4, load=lambda data_dir: raw))


@pytest.mark.slow
@pytest.mark.trains
@pytest.mark.usefixtures("registered", "blobs", "own_signals")
def test_a_family_and_a_dataset_registered_in_the_test_run_through_a_study_report_and_export(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preset = tmp_path / "tiny.toml"
    preset.write_text(PRESET)
    url, out = f"sqlite:///{tmp_path}/s.db", tmp_path / "out"
    where = ["--study-name", "mine", "--storage", url, "--out", str(out)]
    assert cli.main(["run", "--preset", str(preset), "--dataset", "blobs", *where]) == 0
    trials = optuna.load_study(study_name="mine", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5
    archs = [json.loads(t.user_attrs["arch"]) for t in trials]
    assert sorted((a["breadth"], a["stack"]) for a in archs if a["family"] == "tiny") == [
        (2, 1), (2, 2), (4, 1), (4, 2)]

    assert cli.main(["report", *where]) == 0
    data = json.loads((out / "mine" / "scaling.json").read_text())
    assert {(e["knob"], e["step"]) for e in data["width_effects"]} == {("breadth", "doubling")}
    assert {(e["knob"], e["step"]) for e in data["depth_effects"]} == {("stack", "stage")}
    assert any(line.startswith("tiny vs dense matched on params") for line in data["headline"])
    rows = list(csv.DictReader(io.StringIO((out / "mine" / "cells.csv").read_text())))
    assert {r["breadth"] for r in rows if r["family"] == "tiny"} == {"2", "4"}
    assert "Mean test accuracy per breadth x stack cell" in (out / "mine" / "report.html"
                                                             ).read_text()

    assert cli.main(["export", *where]) == 0
    best = json.loads((out / "mine" / "best_architecture.json").read_text())
    assert best["family"] in ("tiny", "dense") and best["arch"]["input_shape"] == [12, 12, 1]
    assert best["dataset"] == "blobs" and best["arch"]["num_classes"] == 3
    page = (out / "mine" / "best_architecture.md").read_text()
    assert "| predictions (Dense) | (None, 3) |" in page  # the layer table, from the plan
    capsys.readouterr()
