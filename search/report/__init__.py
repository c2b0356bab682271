"""The scaling report: Plotly figures with captions that state the numbers, in one offline page.

:func:`write_report` reads the study's stored records only (through :mod:`search.analysis`),
writes ``report.html`` (Plotly's JavaScript inlined once, so it opens without a network),
``scaling.json`` and ``cells.csv``, and saves the scaling figures and a note into the study
so optuna-dashboard shows the same answer. The note never holds the storage URL. The page,
the JSON and the note open with the Set-up (data, training rule, seeds, dates, hosts,
versions), so no number is read without its budget.

The rooms: ``text`` (numbers as phrases), ``summary`` (the headline), ``setup`` (the
Set-up), ``figure`` (what a figure is, its registry, the shared plot style), ``figures``
(one registered function per figure: a new figure is one function there), ``inside``
(the best and named cells' per-class accuracy and confusion, and what their kept models
show, read by ``trained``, the one room that imports Keras, only for a kept model),
``cell_figures`` (one registered function per figure of such a cell),
``optuna_figures``, ``markup``, ``tables`` and ``page`` (the HTML), ``outputs`` (cells.csv,
PNGs), ``notes`` (the dashboard note and figures, read back through
``compat.optuna_dashboard``) and ``write`` (:func:`write_report`).

Each public name below is loaded from its room on first use, so a light command (``show``
needs only :func:`training_images`) does not load Plotly or optuna-dashboard.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from search.errors import ReportError

if TYPE_CHECKING:
    from search.report.setup import training_images
    from search.report.summary import headline
    from search.report.text import fit_text
    from search.report.write import ReportPaths, write_report

# Each public name and the room that defines it.
_ROOMS = {"training_images": "setup", "headline": "summary", "fit_text": "text",
          "ReportPaths": "write", "write_report": "write"}
__all__ = ["ReportError", "ReportPaths", "fit_text", "headline", "training_images",
           "write_report"]


def __getattr__(name: str) -> Any:
    """Load a public name from its room on first use (PEP 562)."""
    if name not in _ROOMS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_ROOMS[name]}"), name)
    globals()[name] = value
    return value
