"""Shipped presets meet the issue's shape; flags override; bad presets fail in one line."""

import dataclasses
import json
import math
from pathlib import Path

import optuna
import pytest

import spaces
from search import preset_files, presets
from search.config import TrainConfig
from search.presets import PresetError
from storage import open_storage

REPO = Path(__file__).resolve().parents[2]


def test_every_shipped_preset_loads():
    shipped = {"scaling", "scaling-converged", "scaling-converged-wide", "search",
               "seed-replication"}
    assert shipped <= set(preset_files.available())
    for name in preset_files.available():
        spec = presets.load(name)
        assert spec.mode in ("grid", "search")


def test_scaling_grid_covers_widths_depths_and_dense_sizes_spanning_the_cnns():
    spec = presets.load("scaling")
    cnn = [c for c in spec.cells() if c.space.family == "cnn"]
    dense = [c for c in spec.cells() if c.space.family == "dense"]
    assert len({c.varying["width"] for c in cnn}) >= 4
    assert len({c.varying["depth"] for c in cnn}) >= 3
    assert len(dense) >= 3 and spec.seeds >= 2

    def params(cell):
        arch, _ = presets.resolve(cell.space.family, cell.values, spec.train, (28, 28, 1))
        return spaces.cost(arch).params

    dense_sizes = [params(c) for c in dense]
    for cell in cnn:  # every CNN has a dense net within a factor 4 to be compared with
        assert min(abs(math.log(params(cell) / d)) for d in dense_sizes) < math.log(4)


def test_scaling_full_is_the_definitive_version():
    spec = presets.load("scaling-converged")
    assert spec.train_subset is None and spec.seeds >= 3 and spec.train.epochs >= 10


def test_flags_override_the_preset():
    spec = presets.load("scaling", epochs=1, seeds=1, train_subset=500, batch_size=64,
                        study_name="s", out="elsewhere")
    assert (spec.train.epochs, spec.seeds, spec.train_subset, spec.train.batch_size) == (
        1, 1, 500, 64)
    assert spec.name == "s" and str(spec.out) == "elsewhere"
    assert presets.load("scaling").name == "scaling-fashion_mnist"


def test_units_are_seed_major_and_identity_ignores_budget():
    spec = presets.load("scaling", seeds=2)
    units = spec.units()
    assert len(units) == 2 * len(spec.cells())
    assert {u.seed for u in units[: len(spec.cells())]} == {0}
    assert spec.identity() == presets.load("scaling", seeds=3, trials=5).identity()
    assert spec.identity() == presets.load("scaling", seeds=2, keep_models="none",
                                           artifacts="elsewhere").identity()
    assert spec.identity() != presets.load("scaling", epochs=1).identity()


def test_units_run_each_seeds_most_expensive_cells_first_when_costs_are_given():
    spec = presets.load("scaling", seeds=2)
    keys = [c.key for c in spec.cells()]
    cost = {k: (i * 7) % len(keys) for i, k in enumerate(keys)}  # not the preset order
    units = spec.units(cost)
    for seed in (0, 1):
        mine = [u.cell for u in units if u.seed == seed]
        assert sorted(mine) == sorted(keys)
        assert [cost[k] for k in mine] == sorted(cost.values(), reverse=True)
    assert [u.seed for u in units] == sorted(u.seed for u in units)  # still seed-major
    assert [u.cell for u in spec.units()][: len(keys)] == keys  # no cost: preset order


def test_seed_replication_holds_the_notebooks_four_models():
    spec = presets.load("seed-replication")
    assert [c.key for c in spec.cells()] == [
        "lenet:kernel=5", "lenet:kernel=8", "lenet:extra_convs=3", "dense:units=256"]
    assert spec.train.epochs == 3 and spec.train.batch_size == 128
    assert spec.cells()[0].values["optimizer"] == "sgd"
    assert spec.cells()[3].values["input_scaling"] == "symmetric"


def test_max_params_is_part_of_the_identity_only_when_set():
    spec = presets.load("search")
    assert spec.max_params == 1_000_000
    assert spec.identity()["max_params"] == 1_000_000
    assert spec.over_budget(1_000_000) is None
    assert spec.over_budget(1_000_001) == "1,000,001 parameters exceed max_params 1,000,000"
    assert "max_params" not in presets.load("scaling").identity()


def test_search_settings_reach_the_sampler_and_pruner_and_the_identity_when_set(tmp_path):
    path = tmp_path / "hb.toml"
    path.write_text('mode = "search"\npruner = "hyperband"\n[train]\nepochs = 9\n'
                    '[space]\nfamily = "dense"\nparams = { units = [8, 16] }\n')
    default = presets.load(str(path))
    assert not set(presets.SEARCH_SETTINGS) & set(default.identity())
    spec = presets.load(str(path), n_startup_trials=7, min_resource=2, reduction_factor=4)
    assert {k: spec.identity()[k] for k in presets.SEARCH_SETTINGS} == {
        "n_startup_trials": 7, "min_resource": 2, "reduction_factor": 4}
    # Optuna has no getters for these: its private fields are read.
    assert presets.make_sampler(spec)._n_startup_trials == 7
    pruner = presets.make_pruner(spec)
    assert (pruner._min_resource, pruner._reduction_factor) == (2, 4)
    assert presets.make_sampler(default)._n_startup_trials == 10  # Optuna's default


def test_the_search_preset_ships_the_replays_choice():
    spec = presets.load("search")  # docs/performance.md, "Search efficiency"
    assert spec.identity()["n_startup_trials"] == 5
    assert presets.make_sampler(spec)._n_startup_trials == 5
    assert isinstance(presets.make_pruner(spec), optuna.pruners.MedianPruner)


@pytest.mark.parametrize(("journal", "study", "preset"), [
    ("accuracy-search.journal", "search-cpu-fashion_mnist", "search-cpu-retrain"),
    ("search-94.journal", "search-94-fashion_mnist", "search-94-retrain")])
def test_a_retrain_preset_is_its_searchs_best_trial_as_it_trained(journal, study, preset):
    """A >= 94 % attempt retrains what its search selected by validation, with the very
    training it was selected under: a hand-copied value that drifts fails here."""
    store = open_storage(f"journal:///{REPO / 'results' / journal}", create=False)
    best = optuna.load_study(study_name=study, storage=store).best_trial
    spec = presets.load(preset)
    [cell] = spec.cells()
    arch, train = presets.resolve(cell.space.family, cell.values, spec.train, (28, 28, 1))
    assert json.loads(arch.to_json()) == json.loads(best.user_attrs["arch"])
    # Settings added since (with defaults that keep the old behaviour) are filled in.
    assert train == TrainConfig(**json.loads(best.user_attrs["train"]))
    assert spec.seeds >= 3 and spec.mode == "grid" and spec.train_subset is None


def test_the_94_search_halves_on_epochs_over_all_images_and_prunes_nets_over_a_million():
    spec = presets.load("search-94")
    assert (spec.mode, spec.train_subset, spec.max_params) == ("search", None, 1_000_000)
    assert (spec.train.epochs, spec.train.lr_schedule) == (40, "cosine")
    pruner = presets.make_pruner(spec)
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert (pruner._min_resource, pruner._max_resource, pruner._reduction_factor) == (8, 40, 3)
    # Uniform draws through the Optuna adapter: the space is not cut to fit the budget;
    # max_params prunes what is over it before training, as in every search preset.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trained, over = [], 0
    for _ in range(300):
        values = spec.space.values(spec.space.suggest(study.ask()))
        arch, train = presets.resolve("cnn", values, spec.train, (28, 28, 1))
        params = spaces.cost(arch).params
        if spec.over_budget(params):
            over += 1
            assert params > 1_000_000
        else:
            trained.append((arch, train, params))
    assert 0.05 < over / 300 < 0.35  # "about a fifth", as the preset says
    assert all(a.family == "cnn" and a.batch_norm for a, _, _ in trained)  # plain, no resnet
    assert max(p for _, _, p in trained) > 800_000  # the budget binds where it matters
    assert {a.convs_per_block for a, _, _ in trained} == {1, 2}
    assert {a.depth for a, _, _ in trained} == {3, 4}
    assert all("flip" in t.augment for _, t, _ in trained)
    assert max(t.erasing for _, t, _ in trained) > 0.4
    assert max(t.label_smoothing for _, t, _ in trained) > 0.15


def test_the_94_retrain_trains_a_point_of_the_search_as_the_search_trains_it():
    search, retrain = presets.load("search-94"), presets.load("search-94-retrain")
    [cell] = retrain.cells()
    assert retrain.train == search.train
    assert retrain.seeds >= 3 and retrain.mode == "grid" and retrain.train_subset is None
    values = cell.values
    assert {k: values[k] for k in search.space.fixed} == dict(search.space.fixed)
    for p in search.space.params:
        value = values[p.name]
        assert value in p.choices if p.kind == "choice" else p.low <= value <= p.high, p.name
    arch, _ = presets.resolve("cnn", values, retrain.train, (28, 28, 1))
    assert spaces.cost(arch).params <= search.max_params


def test_preset_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('mode = "grid"\n[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n')
    spec = presets.load(str(path))
    assert spec.preset == "mine" and [c.key for c in spec.cells()] == ["dense:units=8"]


@pytest.mark.parametrize(
    ("preset", "overrides", "message"),
    [
        ("nope", {}, "unknown preset 'nope'"),
        ("scaling", {"dataset": "mnist"}, "unknown dataset 'mnist'"),
        ("scaling", {"epochs": 0}, "epochs must be a positive integer"),
        ("scaling", {"seeds": -1}, "seeds must be a positive integer"),
        ("scaling", {"train_subset": 0}, "train_subset must be a positive integer"),
        ("search", {"max_params": 0}, "max_params must be a positive integer"),
        ("scaling", {"max_params": 10**6}, "max_params applies to search presets"),
        ("search", {"reduction_factor": 1}, "reduction_factor must be an integer >= 2"),
        ("search", {"min_resource": 16}, "min_resource (16) must not exceed the epochs (15)"),
        ("scaling", {"n_startup_trials": 5}, "apply to search presets"),
        ("scaling", {"keep_models": "some"}, "unknown keep_models 'some': choose one of "
                                             "best, all, none"),
    ],
)
def test_bad_presets_and_flags(preset, overrides, message):
    with pytest.raises(PresetError) as err:
        presets.load(preset, **overrides)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mode = [", "is not valid TOML"),
        ('mode = "grid"\n', "needs [[grid]] tables"),
        ('mode = "grid"\ncolour = 1\n', "unknown key(s) colour"),
        ('mode = "grid"\n[[grid]]\nfamily = "cnn"\nparams = { width = [0] }\n',
         "width must be a positive integer"),
        ('mode = "grid"\n[[grid]]\nfamily = "transformer"\n', "unknown family"),
        ('mode = "grid"\n[train]\noptimizer = "lbfgs"\n[[grid]]\nfamily = "dense"\n',
         "optimizer must be one of"),
        ('mode = "grid"\n[train]\nlabel_smoothing = 1.0\n[[grid]]\nfamily = "dense"\n',
         "label_smoothing must be a number in [0, 1), got 1.0"),
        ('mode = "grid"\n[[grid]]\nfamily = "dense"\nparams = { erasing = [0.5, 2] }\n',
         "erasing must be a number from 0 to 1, got 2"),
        ('mode = "grid"\n[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n'
         '[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n', "appear twice"),
    ],
)
def test_malformed_preset_files(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PresetError) as err:
        presets.load(str(path))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_the_schedule_check_trains_v2_cells_and_seeds_with_twice_the_schedule():
    """Issue 19 B: the same cells and seeds, v2's training but for a schedule twice as long
    that every run trains to its end (best epoch restored), so that `report --against`
    pairs every unit and the schedule is what differs."""
    v2, check = presets.load("scaling-v2"), presets.load("scaling-v2-schedule")
    assert check.train == dataclasses.replace(v2.train, epochs=2 * v2.train.epochs,
                                              stop_after=1.0)
    assert check.seeds == v2.seeds and check.dataset == v2.dataset
    assert check.train_subset is None and v2.train_subset is None
    ours, theirs = ({c.key: c for c in s.cells()} for s in (check, v2))
    assert set(ours) <= set(theirs) and len(ours) == 6
    for key, cell in ours.items():  # the same cell name builds the same net
        same = theirs[key]
        assert (presets.resolve(cell.space.family, cell.values, check.train, (28, 28, 1))[0]
                == presets.resolve(same.space.family, same.values, v2.train, (28, 28, 1))[0])
