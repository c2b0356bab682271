"""search.report's words: fits, formulas and the headline state the numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from pathlib import Path

import optuna

from search.analysis import analyze
from search.analysis.effects import DepthStep
from search.report import fit_text, write_report
from search.report.text import steps_text
from search.stats import mean_ci
from storage.records import to_record
from tests.search.report.studies import headed_study, synthetic_study


def test_a_law_the_cells_do_not_follow_is_said_so_in_words():
    study = synthetic_study(optuna.storages.InMemoryStorage(), "grid")
    fit = analyze([to_record(t) for t in study.trials]).fits[0]
    assert fit.lack_of_fit.p_value > 0.05
    assert "lack-of-fit p = 0.62" in fit_text(fit) and "scatter" not in fit_text(fit)
    misfit = replace(fit, lack_of_fit=replace(fit.lack_of_fit, p_value=2.2e-8))
    assert fit_text(misfit).endswith(
        "lack-of-fit p = 2.2e-08: the cells scatter about the law more than their seeds do, "
        "so it summarises them only roughly")


def test_formulas_have_superscripts_in_html_and_plain_text_elsewhere(tmp_path: Path):
    paths = write_report(synthetic_study(optuna.storages.InMemoryStorage(), "grid"), tmp_path,
                         dashboard=False)
    page = paths.html.read_text()
    assert re.search(r"err = [\d.]+·N<sup>&minus;[\d.]+</sup>", page), "no raised exponent"
    assert "N^-" not in page.split("<section>", 1)[1]  # none left in captions and tables
    assert page.count("N<sup>&minus;") >= 3  # headline, caption and fits table
    assert "<sup>" not in paths.scaling_json.read_text()
    assert any("·N^-" in line for line in paths.headline)


def test_headlines_are_per_head_in_common_units_with_steps_premature_stops_and_budget(
        tmp_path: Path):
    paths = write_report(headed_study(), tmp_path, dashboard=False)
    lines = list(paths.headline)
    assert lines[0].startswith("budget: ") and lines[0].endswith(
        "; 36 runs: 12 ran all 30 epochs, 12 schedule-limited (best epoch after 80 % of the "
        "epoch limit; cnn head gap 6 of 18, cnn head flatten 6 of 18), 1 premature stop(s) "
        "flagged")
    width = [line for line in lines if line.startswith("width effect: ")]
    assert [line.split(" at head ")[1].split(" ")[0] for line in width] == ["gap", "flatten"]
    # The premature stop (-5 pp at width 16) pulls +2 pp per doubling down for its seed;
    # parameters and FLOPs double with width here, so all three units agree.
    assert width[0] == ("width effect: +1.4 pp per doubling of width pooled over depths at "
                        "head gap (95 % CI [-0.9, +3.8], 3 seeds); per doubling of parameters "
                        "+1.4 pp [-0.9, +3.8]; per doubling of FLOPs +1.4 pp [-0.9, +3.8]")
    assert not any("heads" in line for line in lines)  # nothing pooled over heads
    (steps,) = [line for line in lines if line.startswith("depth steps at head gap")]
    assert "1->2 (receptive field 8->18 px) +3.0 pp [" in steps
    assert "2->3 (receptive field 18->30 px)" in steps
    assert steps.endswith(" (95 % CI, 3 seeds)")
    (sens,) = [line for line in lines if line.startswith("sensitivity")]
    assert sens.startswith("sensitivity without the 1 premature stop(s)")
    # Without it every seed gains exactly the planted +2 pp.
    assert "head gap: width/doubling +2.0 [+2.0, +2.0] (all +1.4 [-0.9, +3.8])" in sens
    assert "head flatten: " in sens
    assert [line.split(",")[0] for line in lines if line.startswith("scaling law")] == [
        "scaling law vs params", "scaling law vs params"]
    assert sum("at head gap" in line for line in lines if line.startswith("scaling law")) == 1

    data = json.loads(paths.scaling_json.read_text())
    assert data["premature_stops"]["runs"][0]["cell"] == "cnn:head=gap,width=16,depth=3"
    assert data["runs"]["schedule_limited"] == 12 and data["schedule_limited_rule"]
    rows = {r["cell"]: r for r in csv.DictReader(io.StringIO(paths.cells_csv.read_text()))}
    row = rows["cnn:head=gap,width=16,depth=3"]
    assert (row["receptive_field"], row["premature_stops"], row["seeds_ran_full"],
            row["seeds_schedule_limited"]) == ("30", "1", "1", "1")
    assert rows["cnn:head=flatten,width=8,depth=1"]["receptive_field"] == "8"
    page = paths.html.read_text()
    for title in ("Premature stops", "Depth steps and receptive fields",
                  "Sensitivity: every estimate without the premature stops",
                  "Width and depth effects per step and per doubling of parameters and FLOPs"):
        assert f"<h2>{title}</h2>" in page, title
    assert "stopped by early-stopping patience (converged) before 2/3 of its epoch limit" in page


def test_depth_steps_of_one_seed_claim_no_interval():
    """A running grid may hold one seed: the line says so instead of a 95 % CI."""
    step = DepthStep({"head": "gap"}, (1, 2), (8, 18), mean_ci([0.05]), {0: 0.05}, True,
                     ("width",), "cnn")
    assert steps_text([step]) == ("at head gap, mean over widths: 1->2 (receptive field "
                                  "8->18 px) +5.0 pp (no CI) (1 seed)")
