"""search.report reads what a family declares: a family registered inside the test is drawn
along its own axes, compared under its own name and given its own CSV columns."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import optuna
import pytest

from search.report import write_report
from storage.studies import IDENTITY
from tests.search.report.studies import trial
from tests.spaces.tiny import registered  # noqa: F401  (a fixture)


def _study(with_cnn: bool) -> optuna.Study:
    """A tiny breadth x stack grid (+1 pp per doubling, +3 pp per stage), optionally a cnn
    width x depth grid, and dense baselines; 3 seeds."""
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage(),
                                study_name="families", direction="maximize")
    study.set_user_attr(IDENTITY, json.dumps({"mode": "grid"}))
    for seed, offset in enumerate((-0.01, 0.0, 0.012)):
        for b in (4, 8):
            for s in (1, 2):
                acc = 0.6 + offset + 0.01 * math.log2(b) + 0.03 * s + 0.001 * seed * s
                study.add_trial(trial("tiny", {"breadth": b, "stack": s}, seed, acc, 500 * b * s))
        for w in (4, 8, 16) if with_cnn else ():
            for d in (1, 2):
                acc = 0.7 + offset + 0.02 * math.log2(w / 4) - 0.01 * d + 0.001 * seed * d
                study.add_trial(trial("cnn", {"width": w, "depth": d}, seed, acc, 3000 * w // d))
        for units in (32, 128):
            study.add_trial(trial("dense", {"units": units}, seed, 0.65 + offset, 80 * units))
    return study


@pytest.mark.usefixtures("registered")
def test_a_registered_family_alone_is_drawn_and_tabled_in_its_own_words(tmp_path: Path):
    paths = write_report(_study(with_cnn=False), tmp_path, dashboard=False)
    data = json.loads(paths.scaling_json.read_text())
    lines = data["headline"]
    assert any(line.startswith("width effect: +1.0 pp per doubling of breadth pooled over "
                               "stacks") for line in lines), lines
    assert any(line.startswith("depth effect: +3.") and "per added stage" in line
               for line in lines), lines
    assert any(line.startswith("tiny vs dense matched on params") for line in lines), lines
    assert {e["knob"] for e in data["width_effects"]} == {"breadth"}
    page = paths.html.read_text()
    for text in ("breadth (log scale)", "stack (conv stages)",
                 "Mean test accuracy per breadth x stack cell", "breadth %{x}, stack %{y}"):
        assert text in page, text
    rows = list(csv.DictReader(io.StringIO(paths.cells_csv.read_text())))
    assert {(r["breadth"], r["stack"]) for r in rows if r["family"] == "tiny"} == {
        ("4", "1"), ("4", "2"), ("8", "1"), ("8", "2")}


@pytest.mark.usefixtures("registered")
def test_two_studied_families_are_told_apart_and_compared_with_the_baseline(tmp_path: Path):
    paths = write_report(_study(with_cnn=True), tmp_path, dashboard=False)
    lines = json.loads(paths.scaling_json.read_text())["headline"]
    width = [line for line in lines if line.startswith("width effect:")]
    assert len(width) == 2 and "at family tiny" in width[0] and "at family cnn" in width[1]
    # Both studied families, in the order the study first holds them, against the baseline.
    assert any(line.startswith("tiny / cnn vs dense matched on params") for line in lines)
    page = paths.html.read_text()
    assert "family tiny, stack 1" in page and "family cnn, depth 1" in page  # the lines
    assert "Mean test accuracy per width x depth cell at family cnn" in page  # the larger grid
