"""search.report's Set-up: the budget and context come first, in the page, JSON and note."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import optuna
import optuna_dashboard

from search.report import write_report
from storage.studies import IDENTITY
from tests.search.report.studies import HOST, SCALING_KEYS, TRAIN, dashboard_detail, synthetic_study


def test_the_set_up_comes_first_and_reaches_json_and_the_dashboard_note(tmp_path: Path):
    storage = optuna.storages.InMemoryStorage()
    study = synthetic_study(storage, "grid")
    study.set_user_attr(IDENTITY, json.dumps({"mode": "grid", "dataset": "fashion_mnist",
                                              "train_subset": 600}))
    paths = write_report(study, tmp_path)
    page = paths.html.read_text()
    setup = page.index("<h2>Set-up</h2>")
    assert setup < page.index("<section><h2>") < page.index(f'id="{SCALING_KEYS[0]}"')
    section = page[setup:page.index("</section>", setup)]
    for fact in ("fashion_mnist, 600 training images per epoch",
                 "2 epochs; optimizer adam, learning rate 0.001, schedule constant, "
                 "batch size 64", "3 seed(s) per cell",
                 "9 of 9 cells complete, 27 of 27 trials complete", f"{HOST} (27 trials)",
                 f"python {platform.python_version()}", f"optuna {optuna.__version__}"):
        assert fact in section, fact

    data = json.loads(paths.scaling_json.read_text())["setup"]
    trials = study.get_trials()
    assert data["dataset"] == "fashion_mnist" and data["training_images"] == 600
    assert data["training_rule"] == "2 epochs"
    assert data["train"] == {k: [v] for k, v in TRAIN.items() if k != "epochs"}
    assert (data["trials_complete"], data["trials"], data["cells_complete"], data["cells"]) == (
        27, 27, 9, 9)
    assert data["first_start"] == min(t.datetime_start for t in trials).isoformat()
    assert data["last_complete"] == max(t.datetime_complete for t in trials).isoformat()
    assert data["hosts"] == {HOST: 27} and data["versions"]["optuna"] == optuna.__version__

    body = dashboard_detail(optuna_dashboard.wsgi(storage), "synthetic-grid")["note"]["body"]
    assert body.index("## Set-up") < body.index("- budget: 600 training images")
    assert f"optuna {optuna.__version__}" in body and f"{HOST} (27 trials)" in body
