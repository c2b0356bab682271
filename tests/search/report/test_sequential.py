"""The report of a sequential grid: seeds per cell and why, every comparison's state, and
one headline line; a grid of fixed seeds shows none of it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import optuna
import pytest

from search.analysis import rule_of
from search.report import ReportError, write_report
from storage.studies import IDENTITY
from tests.search.report.studies import synthetic_study

RULE = rule_of({})
TITLE = "Sequential seeds: seeds per cell and why"


def sequential_study(rule: object) -> optuna.Study:
    """The synthetic grid (3 seeds per cell) as a sequential study with ``rule``'s table."""
    study = synthetic_study(optuna.storages.InMemoryStorage(), "grid")
    study.set_user_attr(IDENTITY, json.dumps({"mode": "grid", "sequential": rule}))
    return study


def test_a_sequential_report_shows_the_seeds_per_cell_and_where_each_comparison_stands(
        tmp_path: Path):
    paths = write_report(sequential_study(dataclasses.asdict(RULE)), tmp_path,
                         dashboard=False)
    data = json.loads(paths.scaling_json.read_text())
    block = data["sequential"]
    assert rule_of(block["rule"]) == RULE
    assert block["trainings"] == 3 * len(data["cells"])
    assert set(block["seeds_per_cell"].values()) == {3}
    kinds = {c["kind"] for c in block["contrasts"]}
    assert {"width step", "depth step", "best vs runner-up"} <= kinds
    line = next(x for x in paths.headline if x.startswith("sequential seeds: "))
    assert f"of {len(block['contrasts'])} comparisons decided" in line
    assert line in data["headline"]
    page = paths.html.read_text()
    assert TITLE in page and "<th>why</th>" in page
    assert page.count("<td>best vs runner-up</td>") == 1


def test_a_fixed_seed_report_has_no_sequential_block(tmp_path: Path):
    study = synthetic_study(optuna.storages.InMemoryStorage(), "grid")
    paths = write_report(study, tmp_path, dashboard=False)
    assert "sequential" not in json.loads(paths.scaling_json.read_text())
    assert TITLE not in paths.html.read_text()
    assert not any(x.startswith("sequential seeds") for x in paths.headline)


def test_an_unreadable_rule_is_a_report_error(tmp_path: Path):
    with pytest.raises(ReportError, match="its sequential rule cannot be read: unknown "
                                          "setting"):
        write_report(sequential_study({"nonsense": 1}), tmp_path, dashboard=False)
