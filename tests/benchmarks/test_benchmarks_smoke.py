"""Every benchmark runs end to end on a tiny setting and writes JSON with its documented keys.

No timing is asserted: targets live in the benchmarks (they print whether each is met).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest

from storage.studies import IDENTITY

ROOT = Path(__file__).resolve().parents[2]
MACHINE_KEYS = {"cpu_model", "cores", "tensorflow", "python"}


def run_script(script: str, *args: str, out: Path, timeout: float = 120) -> dict[str, Any]:
    """Run ``benchmarks/SCRIPT`` with ``--json out`` as a user would; return the JSON."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, f"benchmarks/{script}", *args, "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def run_benchmark(script: str, *args: str, out: Path, timeout: float = 120) -> dict[str, Any]:
    """:func:`run_script`, and the header every benchmark's JSON shares."""
    data = run_script(script, *args, out=out, timeout=timeout)
    assert data["benchmark"] == script.removesuffix(".py")
    assert set(data["machine"]) >= MACHINE_KEYS
    assert data["date"]
    return data


@pytest.mark.parametrize("name", ["throughput", "memory", "overhead", "accuracy",
                                  "epoch_time", "search_efficiency", "paired_accuracy",
                                  "_postgres"])
def test_scripts_import_without_running(name):
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.__doc__
    if not name.startswith("_"):  # the docstring names the exact command
        assert f"python benchmarks/{name}.py" in module.__doc__


def test_gpu_script_parses():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    subprocess.run([bash, "-n", str(ROOT / "benchmarks" / "gpu.sh")], check=True)


@pytest.mark.trains
@pytest.mark.slow
def test_throughput_small_model_and_a_variant(tmp_path):
    data = run_benchmark("throughput.py", "--models", "small", "--samples", "256",
                         "--epochs", "1", "--matmul-size", "256", "--matmul-seconds", "0.2",
                         "--variants", "data", "--repeats", "1", out=tmp_path / "t.json")
    assert data["matmul_peak_gflops"] > 0
    [model] = data["models"]
    assert {"name", "param_count", "flops", "raw_samples_per_s", "pipeline_samples_per_s",
            "pipeline_over_raw", "train_gflops", "peak_ratio"} <= set(model)
    assert model["name"] == "small"
    assert model["param_count"] > 0 and model["flops"] > 0
    assert model["raw_samples_per_s"] > 0 and model["pipeline_samples_per_s"] > 0
    assert model["pipeline_over_raw"] == pytest.approx(
        model["pipeline_samples_per_s"] / model["raw_samples_per_s"], rel=0.01)
    assert model["peak_ratio"] == pytest.approx(
        model["train_gflops"] / data["matmul_peak_gflops"], rel=0.02)
    assert model["train_gflops"] == pytest.approx(
        3 * model["flops"] * model["raw_best_train_samples_per_s"] / 1e9, rel=0.01)
    assert model["raw_best_train_samples_per_s"] >= model["raw_train_samples_per_s"]
    assert [v["data"] for v in data["variants"]] == ["numpy", "tf.data"]
    assert data["variants"][0]["over_baseline"] == 1.0


@pytest.mark.trains
@pytest.mark.slow
def test_memory_three_trials(tmp_path):
    data = run_benchmark("memory.py", "--trials", "3", "--every", "2", "--samples", "256",
                         out=tmp_path / "m.json")
    assert data["trials_run"] == 3
    assert [s["trial"] for s in data["samples"]] == [0, 1, 2, 3]
    assert all(s["rss_mb"] > 0 for s in data["samples"])
    assert data["growth_to_trial"] == 3
    assert data["growth_mb"] == pytest.approx(
        data["samples"][-1]["rss_mb"] - data["samples"][data["growth_from_trial"]]["rss_mb"],
        abs=0.15)
    assert data["target_growth_mb"] == 200


@pytest.mark.slow
def test_overhead_five_trials_sqlite_and_journal(tmp_path):
    data = run_benchmark("overhead.py", "--trials", "5", "--storages", "sqlite,journal",
                         out=tmp_path / "o.json")
    runs = {(r["storage"], r["mode"]): r for r in data["runs"]}
    assert set(runs) == {(s, m) for s in ("sqlite", "journal") for m in ("grid", "search")}
    for r in runs.values():
        assert r["trials"] == 5 and sum(r["states"].values()) == 5
        assert r["ms_per_trial"] > 0 and r["records_ms_per_trial"] >= 0
    assert runs["sqlite", "grid"]["states"] == {"COMPLETE": 5}
    assert data["target_ms_per_trial_sqlite_1000"] == 50


@pytest.mark.slow
def test_overhead_with_live_readers_runs_the_dashboard_and_reports_meanwhile(tmp_path):
    data = run_benchmark("overhead.py", "--trials", "300", "--storages", "sqlite", "--modes",
                         "grid", "--readers", "live", out=tmp_path / "o.json")
    (run,) = data["runs"]
    assert run["readers"] == "live" and run["states"] == {"COMPLETE": 300}
    assert run["dashboard_fetches"] >= 1 and "reports" in run


@pytest.mark.trains
@pytest.mark.slow
def test_accuracy_tiny_arch_two_seeds(tmp_path):
    arch = json.dumps({"family": "cnn", "width": 8, "depth": 1, "dense_units": 0})
    data = run_benchmark("accuracy.py", "--arch", arch, "--train-subset", "300",
                         "--epochs", "1", "--seeds", "2", out=tmp_path / "a.json")
    assert data["family"] == "cnn" and data["param_count"] > 0 and data["flops"] > 0
    assert [r["seed"] for r in data["runs"]] == [0, 1]
    test = data["test_accuracy"]
    assert test["n"] == 2 and 0 <= test["mean"] <= 1
    low, high = test["ci95"]
    assert low <= test["mean"] <= high
    assert data["settings"]["train_source"] == "TrainConfig defaults"
    assert data["settings"]["train"]["epochs"] == 1
    assert data["wall_seconds"] > 0
    assert data["goal"]["met"] is False


@pytest.mark.trains
@pytest.mark.slow
def test_epoch_round_two_candidates_interleaved(tmp_path):
    cells = ["dense:units=8", "cnn:width=4,depth=1"]
    data = run_benchmark("epoch_round.py", "--preset", "scaling", "--samples", "512",
                         "--cells", *cells, "--candidates", "tf", "fused2", "--rounds", "2",
                         out=tmp_path / "e.json", timeout=300)
    assert data["candidates"] == ["tf", "fused2"] and len(data["raw"]) == 2
    assert data["target_ratio"] == 1.5
    assert data["target_met"] == (data["adopt_per_cell_ratio"] >= 1.5)
    assert set(data["per_cell_epoch_seconds"]) == set(cells)
    assert data["ratio_to_tf"]["tf"] == 1.0
    for key, row in data["per_cell_epoch_seconds"].items():
        assert row["tf"] > 0 and row["fused2"] > 0
        assert data["fastest_per_cell"][key] == min(row, key=row.get)
    # Each cell on its pick, against tf, within each round; the median over rounds.
    ratios = [sum(r["tf"]["cells"][k]["epoch_seconds"] for k in cells)
              / sum(r[data["fastest_per_cell"][k]]["cells"][k]["epoch_seconds"] for k in cells)
              for r in data["raw"]]
    assert data["adopt_per_cell_ratio"] == pytest.approx(sorted(ratios)[0] / 2
                                                         + sorted(ratios)[1] / 2)


# Three dense cells (cheapest, median and dearest: a two-point-plus fit) and one CNN cell
# (a family measured once: its fit is a constant).
EPOCH_TIME_PRESET = """mode = "grid"
dataset = "fashion_mnist"
train_subset = 300
seeds = 2
[train]
epochs = 5
batch_size = 64
[[grid]]
family = "dense"
params = { units = [8, 16, 32] }
[[grid]]
family = "cnn"
params = { width = [4] }
fixed = { depth = 1 }
"""


@pytest.mark.trains
@pytest.mark.slow
def test_epoch_time_measures_the_default_cells_and_predicts_the_grid(tmp_path):
    preset = tmp_path / "tiny.toml"
    preset.write_text(EPOCH_TIME_PRESET)
    data = run_benchmark("epoch_time.py", "--preset", str(preset), "--samples", "128",
                         "--epochs", "2", out=tmp_path / "e.json", timeout=600)
    dense = ["dense:units=8", "dense:units=16", "dense:units=32"]
    assert data["preset"] == "tiny" and data["seeds"] == 2 and data["expected_epochs"] == 5
    assert [m["cell"] for m in data["measured"]] == [*dense, "cnn:width=4"]
    for m in data["measured"]:
        assert len(m["all_epochs"]) == 2 and min(m["all_epochs"]) > 0
        # The second epoch (the first traces), scaled from 128 images to the training set.
        assert m["epoch_seconds"] == pytest.approx(
            m["all_epochs"][1] * data["train_images"] / 128)
    assert set(data["fits"]) == {"dense", "cnn"}
    assert data["fits"]["cnn"]["b_seconds_per_flop"] == 0.0  # one cell: a constant
    assert set(data["predicted_epoch_seconds"]) == {*dense, "cnn:width=4"}
    for family, cells in (("dense", dense), ("cnn", ["cnn:width=4"])):
        seconds = sum(data["predicted_epoch_seconds"][c] for c in cells) * 2 * 5
        assert data["hours_per_family"][family] == pytest.approx(seconds / 3600)
    assert data["hours_total"] == pytest.approx(sum(data["hours_per_family"].values()))


@pytest.mark.trains
@pytest.mark.slow
def test_search_efficiency_runs_every_contender_on_a_one_epoch_budget(tmp_path):
    outputs = ["--html", str(tmp_path / "s.html"), "--png", str(tmp_path / "s.png")]
    data = run_benchmark("search_efficiency.py", "--train-subset", "100", "--test-subset",
                         "50", "--epochs", "1", "--repetitions", "1", "--target", "0", *outputs,
                         out=tmp_path / "s.json", timeout=600)
    contenders = ["optuna-tpe-hyperband", "optuna-random-median", "kt-hyperband",
                  "kt-bayesian"]
    settings = data["settings"]
    assert settings["contenders"] == contenders and settings["budget_epochs"] == 1
    assert settings["train_subset"] == 100 and settings["test_subset"] == 50
    assert list(data["runs"]) == list(data["summary"]) == contenders
    for name in contenders:
        [run] = data["runs"][name]
        assert run["seed"] == 1 and run["epochs_used"] == 1  # one trial of one epoch
        assert sum(run["trials"].values()) == 1
        assert [p["epochs"] for p in run["points"]] == [1]
        assert data["summary"][name]["reached_target"] == "1/1"  # any finished trial >= 0
        assert 0 <= run["final_best_test"] <= 1
    assert data["verdict"].startswith("goal ")
    assert (tmp_path / "s.html").is_file()

    # --replot re-summarizes the same runs for another target, without training.
    again = run_benchmark("search_efficiency.py", "--replot", str(tmp_path / "s.json"),
                          "--target", "1.01", *outputs, out=tmp_path / "r.json")
    assert again["runs"] == data["runs"] and again["settings"]["target"] == 1.01
    assert {s["reached_target"] for s in again["summary"].values()} == {"0/1"}


def _seeded_study(url: str, name: str, accuracies: dict[tuple[int, int], float]) -> None:
    """A grid study of cnn cells of width w, one trial per (w, seed) of ``accuracies``."""
    from tests.search.report.studies import trial

    study = optuna.create_study(storage=url, study_name=name, direction="maximize")
    study.set_user_attr(IDENTITY, json.dumps({"mode": "grid"}))
    for (width, seed), acc in accuracies.items():
        study.add_trial(trial("cnn", {"width": width}, seed, acc, 1000 * width))


def test_paired_accuracy_pairs_by_cell_and_seed(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    # Candidate: widths 4 and 8, seeds 0-1 (within-cell SD 1 pp); the baseline has seed 0
    # of both and a cell the candidate lacks (unpaired, so left out).
    _seeded_study(url, "candidate", {(4, 0): 0.80, (4, 1): 0.82, (8, 0): 0.85, (8, 1): 0.87})
    _seeded_study(url, "baseline", {(4, 0): 0.79, (8, 0): 0.855, (16, 0): 0.9})
    data = run_benchmark("paired_accuracy.py", "--candidate", url, "candidate",
                         "--baseline", url, "baseline", out=tmp_path / "p.json")
    assert [(p["cell"], p["seed"]) for p in data["pairs"]] == [("cnn:width=4", 0),
                                                             ("cnn:width=8", 0)]
    diff = data["test_difference"]
    assert diff["n"] == 2 and diff["mean"] == pytest.approx((0.01 - 0.005) / 2)
    assert data["seed_sd"]["test"] == pytest.approx(0.02 / math.sqrt(2))
    assert data["seed_sd"]["df"] == 2
    # Two pairs give a wide t-interval (12.7 x the differences' SE): beyond one seed SD.
    assert diff["high"] > data["seed_sd"]["test"] and data["target_met"] is False
