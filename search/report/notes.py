"""The study's dashboard note and figures: what optuna-dashboard shows of the report."""

from __future__ import annotations

import json
from collections.abc import Sequence

import optuna
import optuna_dashboard

from compat.optuna_dashboard import saved_by_dashboard
from search.analysis import Analysis, best_cell
from search.report.figure import Figure
from search.report.setup import Setup
from search.report.summary import headline


def note(study_name: str, analysis: Analysis, setup: Setup, budget: str | None = None) -> str:
    """Markdown for the dashboard's study note: the Set-up (budget, versions), headline
    numbers and the best architecture."""
    lines = [f"# Scaling report: {study_name}", "", "## Set-up", "",
             *(f"- **{label}**: {text}" for label, text in setup.lines()), "",
             "## Headline", "", *(f"- {h}" for h in headline(analysis, budget))]
    if analysis.cells:
        best = best_cell(analysis.cells)
        lines += ["", f"## Best architecture: `{best.cell}`", "", "```json",
                  json.dumps(best.arch, indent=2), "```"]
    lines += ["", "The scaling figures are saved with this study (graph objects below)."]
    return "\n".join(lines)


def save_to_dashboard(study: optuna.Study, figures: Sequence[Figure], text: str) -> None:
    """Save the figures and the note into the study for optuna-dashboard, skipping each one
    stored exactly so already.

    Every save appends to a journal file (one report appended 213 KB of figures to the
    definitive study's journal), so a report re-made from an unchanged study, e.g. by
    someone exploring a published journal, leaves the file as it was. What is stored is
    read through :mod:`compat.optuna_dashboard` (optuna-dashboard has no public
    reader for it).
    """
    saved, body = saved_by_dashboard(study)
    for f in figures:
        if saved.get(f.dashboard_id) != f.figure.to_json():
            optuna_dashboard.save_plotly_graph_object(study, f.figure,
                                                      graph_object_id=f.dashboard_id)
    if body != text:
        optuna_dashboard.save_note(study, text)
