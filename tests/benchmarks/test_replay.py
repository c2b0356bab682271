"""benchmarks/replay.py on a small synthetic table stored as a real journal study."""

import itertools
import json

import optuna
import pytest

from benchmarks import replay
from storage import open_storage

SPACE = {"width": [16, 32], "batch_norm": [False, True], "learning_rate": [0.001, 0.003]}
EPOCHS, SEEDS = 4, 2


def curve(index: int, seed: int) -> list[float]:
    """Distinct per configuration, seed and epoch, so a mixed-up lookup cannot pass."""
    return [round(0.5 + 0.03 * index + 0.02 * e + 0.001 * seed, 6) for e in range(EPOCHS)]


@pytest.fixture(scope="module")
def table_url(tmp_path_factory):
    url = f"journal:///{tmp_path_factory.mktemp('table')}/t.journal"
    study = optuna.create_study(storage=open_storage(url), study_name="t",
                                direction="maximize")
    study.set_user_attr("identity", json.dumps({"mode": "grid"}))
    choices = {n: optuna.distributions.CategoricalDistribution(v) for n, v in SPACE.items()}
    for index, values in enumerate(itertools.product(*SPACE.values())):
        params = dict(zip(SPACE, values, strict=True))
        for seed in range(SEEDS):
            val = curve(index, seed)
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions=choices, value=val[-1],
                intermediate_values=dict(enumerate(val)),
                user_attrs={"family": "cnn", "seed": seed, "val_accuracy": val[-1],
                            "test_accuracy": val[-1] - 0.005,
                            "test_curve": [v - 0.005 for v in val],
                            "epoch_seconds": [1.0 + 0.1 * index] * EPOCHS}))
    return url


@pytest.fixture(scope="module")
def table(table_url):
    return replay.load_table(table_url, "t")


def test_the_table_is_read_with_its_space_and_qualities(table):
    assert table.epochs == EPOCHS and len(table.runs) == 8
    assert table.names == ("batch_norm", "learning_rate", "width")
    best = max(table.runs, key=table.quality)
    assert best == (True, 0.003, 32)  # the last configuration has the highest curves
    assert table.quality(best) == pytest.approx(curve(7, 0)[-1] + 0.0005 - 0.005)


@pytest.mark.parametrize("searcher", ["optuna-tpe-hyperband:n_startup_trials=3",
                                      "optuna-random-median", "optuna-tpe"])
def test_an_optuna_search_sees_exactly_the_recorded_values(table, searcher):
    name, settings = replay.parse_searcher(searcher)
    study = replay._optuna_study(name, settings, table, seed=1)
    rng = replay.np.random.default_rng(1)
    budget = 12 * table.mean_training_seconds()
    trace = replay.replay_optuna(table, study, budget, rng)
    assert trace.seen and trace.seconds[-1] <= budget
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.RUNNING:
            continue  # cut off by the budget
        config = table.config(trial.params)
        runs = table.runs[config]
        reported = [trial.intermediate_values[e] for e in sorted(trial.intermediate_values)]
        assert any(list(run.val[:len(reported)]) == reported for run in runs), trial.number
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert trial.value == reported[-1] and len(reported) == EPOCHS
    for config, seed, epoch, value in trace.seen:
        assert table.runs[config][seed].val[epoch - 1] == value


@pytest.mark.parametrize("searcher", ["kt-hyperband", "kt-bayesian:num_initial_points=3",
                                      "kt-random"])
def test_a_keras_tuner_search_sees_exactly_the_recorded_values(table, searcher, tmp_path):
    name, settings = replay.parse_searcher(searcher)
    oracle = replay._oracle(name, settings, table, 1, str(tmp_path))
    budget = 12 * table.mean_training_seconds()
    trace = replay.replay_keras_tuner(table, oracle, budget,
                                      replay.np.random.default_rng(1))
    done = [oracle.trials[i] for i in oracle.end_order]
    assert len(done) == len(trace.seen) > 3
    seed_of = {}
    for trial, (config, seed, epoch, value) in zip(done, trace.seen, strict=True):
        values = trial.hyperparameters.values
        assert table.config(values) == config
        assert trial.metrics.get_last_value(replay.METRIC) == value
        assert table.runs[config][seed].val[epoch - 1] == value
        assert epoch == values.get("tuner/epochs", EPOCHS)
        parent = values.get("tuner/trial_id")
        if parent:  # a continued Hyperband round goes on with its parent's run
            assert seed == seed_of[parent]
        seed_of[trial.trial_id] = seed
    if name == "kt-hyperband":
        assert any(v.hyperparameters.values.get("tuner/trial_id") for v in done)


def test_regret_before_a_first_result_is_a_random_picks(table):
    """Not 100 pp: a search with nothing to return yet is charged the mean configuration."""
    best = max(table.runs, key=table.quality)
    worst = min(table.runs, key=table.quality)
    trace = replay.Trace(seconds=[5.0, 9.0], epochs=[4, 8], incumbent=[worst, best])
    mean = sum(map(table.quality, table.runs)) / len(table.runs)
    assert replay.regret(table, trace, 4.9) == pytest.approx(100 * (table.quality(best) - mean))
    assert replay.regret(table, trace, 5.0) == pytest.approx(
        100 * (table.quality(best) - table.quality(worst)))
    assert replay.regret(table, trace, 9.0) == 0


def test_a_real_search_is_put_on_the_replay_clock_and_ranked_among_its_replays(table, tmp_path):
    url = f"journal:///{tmp_path}/real.journal"
    study = optuna.create_study(storage=open_storage(url), study_name="real",
                                direction="maximize")
    choices = {n: optuna.distributions.CategoricalDistribution(v) for n, v in SPACE.items()}
    configs = sorted(table.runs, key=table.quality)  # worst first
    plan = [(configs[2], EPOCHS, 0.60), (configs[7], 2, None), (configs[5], EPOCHS, 0.70),
            (configs[1], EPOCHS, 0.65)]  # (config, epochs trained, value if complete)
    for config, epochs, value in plan:
        val = [0.5] * (epochs - 1) + [value or 0.5]  # real values, not the table's
        state = optuna.trial.TrialState.COMPLETE if value else optuna.trial.TrialState.PRUNED
        study.add_trial(optuna.trial.create_trial(
            params=dict(zip(table.names, config, strict=True)), distributions=choices,
            state=state, value=value, intermediate_values=dict(enumerate(val)),
            user_attrs={"val_accuracy": value, "test_accuracy": 0.5} if value else {}))
    records = replay.trial_records(study)
    trace = replay.real_trace(table, records)

    def cost(config, epochs):
        return sum(table.runs[config][0].seconds[:epochs])  # equal over seeds here

    first = cost(configs[2], EPOCHS)
    third = first + cost(configs[7], 2) + cost(configs[5], EPOCHS)
    assert trace.seconds == pytest.approx([first, third, third + cost(configs[1], EPOCHS)])
    assert trace.incumbent == [configs[2], configs[5], configs[5]]  # by the real values

    better = replay.Trace(seconds=[1.0], epochs=[1], incumbent=[configs[-1]])
    worse = replay.Trace(seconds=[1.0], epochs=[1], incumbent=[configs[0]])
    rows = replay.compare_real(table, trace, [better, worse, better, worse], 2 * third)
    at_end = rows["100%"]
    assert at_end["real_regret_pp"] == pytest.approx(replay.regret(table, trace, 2 * third))
    assert at_end["replays_better"] == 0.5


def test_a_searcher_setting_that_does_not_exist_is_refused():
    with pytest.raises(SystemExit, match="optuna-tpe takes n_startup_trials, min_resource, "
                                         "reduction_factor as KEY=INTEGER, got 'startup=3'"):
        replay.parse_searcher("optuna-tpe:startup=3")


def test_main_writes_its_summary_and_reproduces_it(table_url, tmp_path, capsys):
    def run(folder, jobs):
        args = ["--storage", table_url, "--study-name", "t", "--repetitions", "4",
                "--jobs", str(jobs),
                "--budget-trainings", "6", "--searcher", "optuna-tpe-hyperband:n_startup_trials=3",
                "--searcher", "kt-random", "--json", str(folder / "r.json"),
                "--html", str(folder / "a.html")]
        assert replay.main(args) == 0
        return json.loads((folder / "r.json").read_text())

    first, second = run(tmp_path / "a", 1), run(tmp_path / "b", 2)
    # Seeded per searcher and repetition: the same table every time, in any number of
    # processes.
    assert first["summary"] == second["summary"]
    table = replay.load_table(table_url, "t")
    budget = 12 * table.mean_training_seconds()
    traces = [replay.search_once("optuna-tpe-hyperband:n_startup_trials=3", table, budget, 0).seen
              for _ in range(2)]
    assert traces[0] == traces[1]  # value by value, Hyperband's brackets included
    rows = first["summary"]["searchers"]
    assert set(rows) == {"optuna-tpe-hyperband:n_startup_trials=3", "kt-random"}
    for row in rows.values():
        assert row["repetitions"] == 4
        assert 0 <= row["regret_pp"]["100%"]["value"] <= 100 * 0.03 * 7
        assert 0 <= row["best"]["fraction"]["value"] <= 1
    assert len(first["verdict"]) == 3 and (tmp_path / "a" / "a.html").is_file()
    out = capsys.readouterr().out
    assert "regret pp @100%" in out and "best: reached, median s" in out


def test_a_single_searcher_is_replayed_without_a_ranking(table_url, tmp_path):
    """One searcher (as in a ``--real`` check of one) has nothing to be ranked against."""
    args = ["--storage", table_url, "--study-name", "t", "--repetitions", "2",
            "--budget-trainings", "4", "--searcher", "optuna-random",
            "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "a.html")]
    assert replay.main(args) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert list(result["summary"]["searchers"]) == ["optuna-random"]
    assert result["verdict"] == []
