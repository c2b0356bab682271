"""An engine is one registration: an engine declared inside the test (a ``run`` that stores
a fixed value for every grid unit through ``storage.records``, training nothing) runs a
study through the command line's ``run``, in this process (a registration lives in the
process that makes it); a preset of a mode an engine does not declare is refused in one
line before anything is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

import spaces
from search import engines, presets
from search import study as cli
from search.engines import Context, Engine, register
from storage import records
from tests.search.datasets.make import npz, offline  # noqa: F401  (a fixture)

VALUE = 0.25  # every trial's validation (and test) accuracy
GRID = ('mode = "grid"\nseeds = 2\n[train]\nepochs = 1\n'
        '[[grid]]\nfamily = "dense"\nparams = { units = [8, 16] }\n')
SEARCH = ('mode = "search"\ntrials = 2\n[train]\nepochs = 1\n'
          '[space]\nfamily = "dense"\nparams = { units = [8, 16] }\n')


def fixed(spec: presets.StudySpec, storage: optuna.storages.BaseStorage,
          study: optuna.Study, context: Context) -> int:
    """Store every unit of the grid as a COMPLETE trial worth ``VALUE``."""
    cells, choices = {c.key: c for c in spec.cells()}, spec.grid_choices()
    units = spec.units(context.cost)
    for unit in units:
        cell = cells[unit.cell]
        arch, cfg = presets.resolve(cell.space.family, cell.values, spec.train,
                                    context.data.input_shape, context.data.num_classes)
        size = spaces.cost(arch)
        trial = optuna.trial.create_trial(
            value=VALUE, params=dict(unit.params),
            distributions={k: CategoricalDistribution(choices[k]) for k in unit.params})
        records.write(trial, {
            **records.setup(cell=unit.cell, seed=unit.seed, arch=arch.to_dict(),
                            train=cfg.__dict__, param_count=size.params, flops=size.flops,
                            engine="fixed"),
            records.TEST_ACCURACY: VALUE, records.EPOCHS_RUN: 0, records.TRAIN_SECONDS: 0.0})
        study.add_trial(trial)
        context.report(study.get_trials(deepcopy=False)[-1])
    return len(units)


@pytest.fixture
def registered() -> Iterator[Engine]:
    """The fixed engine, registered for grids for one test (its one registration: presets
    and ``--engine`` take the names from the registry)."""
    engine = register(Engine("fixed", ("grid",), fixed))
    yield engine
    del engines.REGISTERED["fixed", "grid"]


def run(tmp_path: Path, text: str, *options: str) -> int:
    """``python -m search.study run`` on the preset ``text`` and a 12x12, 3-class dataset."""
    preset = tmp_path / "s.toml"
    preset.write_text(text)
    return cli.main(["run", "--preset", str(preset), "--dataset",
                     f"npz:{npz(tmp_path / 'mine.npz')}", "--study-name", "mine",
                     "--storage", f"sqlite:///{tmp_path}/s.db", "--out", str(tmp_path / "out"),
                     *options])


@pytest.mark.usefixtures("own_signals")
def test_an_engine_registered_in_the_test_runs_a_grid_through_the_cli(
        registered: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, GRID, "--engine", "fixed") == 0  # 0: every unit settled
    trials = optuna.load_study(study_name="mine", storage=f"sqlite:///{tmp_path}/s.db").trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert {t.value for t in trials} == {VALUE}
    assert {(records.attrs(t)["cell"], records.attrs(t)["seed"]) for t in trials} == {
        (f"dense:units={u}", s) for u in (8, 16) for s in (0, 1)}
    assert {records.attrs(t)["engine"] for t in trials} == {"fixed"}
    out = capsys.readouterr().out
    assert "this run: 4 trial(s)" in out
    assert (tmp_path / "out" / "mine" / "best_architecture.json").is_file()


@pytest.mark.usefixtures("own_signals", "registered")
def test_a_mode_the_engine_does_not_declare_is_one_line_before_anything_is_stored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, SEARCH, "--engine", "fixed") == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: preset s: fixed needs a grid preset ([[grid]] tables), not a search"]
    assert run(tmp_path, GRID, "--engine", "keras-tuner") == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: preset s: KerasTuner needs a search preset (a [space] table), not a grid"]
    assert run(tmp_path, f'engine = "nope"\n{GRID}') == 2  # a name no engine registered
    assert capsys.readouterr().err.splitlines() == [
        "error: unknown engine 'nope': choose one of fixed, keras-tuner, optuna"]
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "out").exists()


@pytest.mark.usefixtures("registered")
def test_register_refuses_a_taken_mode_and_an_unknown_one() -> None:
    with pytest.raises(ValueError, match="already runs grid presets"):
        register(Engine("fixed", ("grid",), fixed))
    with pytest.raises(ValueError, match="unknown mode 'sweep'"):
        register(Engine("other", ("sweep",), fixed))
    assert ("other", "sweep") not in engines.REGISTERED
