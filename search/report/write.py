"""``write_report``: a study's stored records in, the report's files (and its dashboard
figures and note) out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna

from search.analysis import AgainstError, RuleError, analyze, study_rule
from search.errors import ReportError
from search.files import write_atomically
from search.report.cell_figures import cell_figures
from search.report.figures import scaling_figures
from search.report.inside import looks
from search.report.notes import note, save_to_dashboard
from search.report.optuna_figures import optuna_figures
from search.report.outputs import cells_csv, write_pngs
from search.report.page import page_html
from search.report.setup import study_setup, training_images
from search.report.summary import budget_text, headline
from storage import ReadOnlyStorageError, TrialRecord
from storage.records import to_record
from storage.studies import IDENTITY


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    scaling_json: Path
    cells_csv: Path
    figures: tuple[str, ...]
    pngs: tuple[Path, ...] = ()
    headline: tuple[str, ...] = ()  # what the CLI prints, without analysing twice
    in_dashboard: bool = False  # the figures and note were saved into the study
    warnings: tuple[str, ...] = ()  # a kept model or the test images could not be read


# What a study trained on: two studies set against each other must agree on these.
DATA_KEYS = ("dataset", "train_subset")


def _base(name: str, identity: dict[str, Any], against: optuna.Study | None
          ) -> tuple[str, list[TrialRecord]] | None:
    """The study to set the cells against, as :func:`analyze` takes it, once it is known to
    have trained on the same data."""
    if against is None:
        return None
    theirs = json.loads(against.user_attrs.get(IDENTITY, "{}"))
    for key in DATA_KEYS:
        if identity.get(key) != theirs.get(key):
            raise ReportError(f"study {name!r} and {against.study_name!r} trained on other "
                              f"data ({key} {identity.get(key)!r} and {theirs.get(key)!r}): "
                              "their cells cannot be set against each other")
    return against.study_name, [to_record(t) for t in against.get_trials(deepcopy=False)]


def write_report(study: optuna.Study, out: Path, *, png: bool = False,
                 dashboard: bool = True, budget: str | None = None,
                 cells: Sequence[str] = (), artifacts: Path | None = None,
                 against: optuna.Study | None = None) -> ReportPaths:
    """Write report.html, scaling.json and cells.csv into ``out`` (PNGs in ``out/figures``
    when ``png``); with ``dashboard``, save the scaling figures and a note into the study.

    The training images per epoch come from the study identity (``train_subset`` or the
    dataset's training split) and scale the compute frontier; ``budget`` overrides how the
    headline describes them. The best cell and the ``cells`` named are looked inside
    (``search.report.inside``): from the stored counts, and with the artifact folder
    ``artifacts`` from what their kept models did with the test images too. ``against``
    (a study on the same data) sets the cells against the same cells and seeds there.
    """
    trials = study.get_trials(deepcopy=False)  # fetched once: records and Set-up share them
    records = [to_record(t) for t in trials]
    identity = json.loads(study.user_attrs.get(IDENTITY, "{}"))
    try:
        rule = study_rule(identity)  # a sequential grid's: where its comparisons stand
    except RuleError as exc:
        raise ReportError(f"study {study.study_name!r}: its sequential rule cannot be read: "
                          f"{exc}") from None
    try:
        analysis = analyze(records, images=training_images(identity), rule=rule,
                           base=_base(study.study_name, identity, against))
    except AgainstError as exc:
        raise ReportError(str(exc)) from None
    if not analysis.cells:
        raise ReportError(f"study {study.study_name!r} has no completed trial to report")
    setup = study_setup(trials, records, analysis, identity.get("dataset"))
    inside, warnings = looks(analysis, records, identity, cells, artifacts)
    figures = scaling_figures(analysis, records) + cell_figures(inside)
    if identity.get("mode") == "search":
        figures += optuna_figures(study)
    lines = headline(analysis, budget)
    paths = ReportPaths(out / "report.html", out / "scaling.json", out / "cells.csv",
                        tuple(f.key for f in figures), headline=tuple(lines),
                        warnings=tuple(warnings))
    try:
        out.mkdir(parents=True, exist_ok=True)
        # Replaced whole, never written through a link someone left at one of these names.
        write_atomically(paths.html, page_html(f"Scaling report: {study.study_name}", analysis,
                                               setup, figures, lines))
        write_atomically(paths.scaling_json, json.dumps(
            {"study": study.study_name, "setup": setup.to_dict(), "headline": lines,
             "budget": budget_text(analysis, budget), **analysis.to_dict(),
             "inside": [look.to_dict() for look in inside]},
            indent=2) + "\n")
        write_atomically(paths.cells_csv, cells_csv(analysis))
    except OSError as exc:
        raise ReportError(f"cannot write to {out}: {exc.strerror}") from None
    ours = [f for f in figures if f.scaling]
    if dashboard:
        try:
            save_to_dashboard(study, ours, note(study.study_name, analysis, setup, budget))
            paths = replace(paths, in_dashboard=True)
        except (ReadOnlyStorageError, PermissionError):
            pass  # a published, read-only store: the files are the report
    if png:
        return replace(paths, pngs=write_pngs(ours, out / "figures"))
    return paths
