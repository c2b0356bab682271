"""A grid preset's ``[sequential]`` table: the rule it sets, the seeds it starts with, the
identity that keeps a resume on one rule, and bad tables refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import presets
from search.analysis import rule_of
from search.presets import PresetError
from tests import cli

GRID = """mode = "grid"
dataset = "fashion_mnist"
{seeds}
[[grid]]
family = "dense"
params = {{ units = [8, 16] }}
{table}
"""


def preset(tmp_path: Path, table: str, seeds: str = "") -> str:
    path = tmp_path / "p.toml"
    path.write_text(GRID.format(table=table, seeds=seeds))
    return str(path)


def test_the_shipped_sequential_preset_starts_every_cell_with_the_rules_minimum():
    spec = presets.load("scaling-sequential")
    rule = spec.rule()
    assert rule is not None and rule == rule_of(spec.sequential)
    assert spec.seeds == rule.minimum
    assert len(spec.units()) == len(spec.cells()) * rule.minimum
    assert {u.seed for u in spec.units()} == set(range(rule.minimum))
    # The scaling preset's grid and training: only the seeds differ.
    plain = presets.load("scaling").identity()
    assert spec.identity() == {**plain, "sequential": spec.identity()["sequential"]}
    assert "sequential" not in plain and presets.load("scaling").rule() is None


def test_the_identity_holds_the_whole_rule_so_a_resume_with_another_is_refused(tmp_path):
    empty = presets.load(preset(tmp_path, "[sequential]"))
    defaults = rule_of({})
    assert empty.rule() == defaults and empty.seeds == defaults.minimum
    stored = empty.identity()["sequential"]
    assert rule_of(stored) == defaults  # every setting, defaults included
    other = presets.load(preset(tmp_path, "[sequential]\nalpha = 0.1")).identity()
    assert other["sequential"] != stored
    assert {k: v for k, v in other.items() if k != "sequential"} == {
        k: v for k, v in empty.identity().items() if k != "sequential"}


@pytest.mark.parametrize(("table", "words"), [
    ("[sequential]\nnonsense = 1", "[sequential] unknown setting(s) nonsense (known: "),
    ("[sequential]\nalpha = 2", "[sequential] alpha must lie between 0 and 1"),
    ("[sequential]\nalpha = true", "[sequential] alpha must be a number"),
])
def test_a_bad_table_is_one_line(tmp_path, table, words):
    with pytest.raises(PresetError) as caught:
        presets.load(preset(tmp_path, table))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_table_that_is_not_a_table_is_refused(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('sequential = 3\n' + GRID.format(table="", seeds=""))
    with pytest.raises(PresetError, match=r"\[sequential\] must be a table of rule settings"):
        presets.load(str(path))


def test_seeds_beside_a_sequential_table_are_refused(tmp_path):
    with pytest.raises(PresetError, match="seeds are set by its \\[sequential\\] table"):
        presets.load(preset(tmp_path, "[sequential]", seeds="seeds = 3"))
    with pytest.raises(PresetError, match="not by seeds or --seeds"):
        presets.load("scaling-sequential", seeds=5)


def test_a_search_preset_has_no_sequential_table(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('mode = "search"\n[space]\nfamily = "dense"\n'
                    'params = { units = [8, 16] }\n[sequential]\n')
    with pytest.raises(PresetError, match=r"\[sequential\] applies to grid presets"):
        presets.load(str(path))


def test_the_cli_refuses_a_bad_table_in_one_line_before_storing_anything(tmp_path):
    result = cli.run("run", "--preset", preset(tmp_path, "[sequential]\nalpha = 2"),
                     "--out", str(tmp_path / "out"), timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: preset p: ")
    assert not (tmp_path / "out" / "studies.db").exists()
