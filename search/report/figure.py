"""What a report figure is, the registry of the report's own figures, and the plot style
they share.

A figure is one function registered with :func:`register` under a stable key (its HTML id
and PNG name) and a slot (its fixed place: the page's order and the dashboard id
``NN-key``); neither depends on which other figures a study has data for. A figure drawn
for each cell the report looks inside (the best cell and the cells named with ``--cell``)
is registered with :func:`register_cell`; its key is then ``key-CELL``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, qualitative

from search.analysis import Analysis
from search.stats import Interval
from storage import TrialRecord

if TYPE_CHECKING:
    from search.report.inside import Look

PALETTE = qualitative.Plotly
SIZE_LABEL = {"params": "parameters", "flops": "forward FLOPs per example"}
# Hover lines naming a point from its customdata: (cell, seeds averaged) or (cell, seed).
MEAN_POINT = "%{customdata[0]}, mean of %{customdata[1]} seed(s)"
SEED_POINT = "%{customdata[0]}, seed %{customdata[1]}"
FRONTIER_HOVER = ("epoch %{customdata[2]}", "compute %{x:.3s}", "val %{y:.4f}")


@dataclass(frozen=True)
class Figure:
    """One figure of the report; ``key`` is its HTML id and PNG name."""

    key: str
    title: str
    caption: str
    figure: go.Figure
    scaling: bool = True  # ours (saved to the dashboard, PNG); False for Optuna's own plots
    slot: int = 0  # its fixed place among the report's own figures, from 1

    @property
    def dashboard_id(self) -> str:
        """The graph-object id, numbered so that sorting the ids gives the report's order;
        the number is the figure's fixed slot, so a re-run overwrites, never duplicates."""
        return f"{self.slot:02d}-{self.key}"


class Plot(NamedTuple):
    """What a figure function draws: a title, a caption that states the numbers, a figure."""

    title: str
    caption: str
    figure: go.Figure


# A figure function: None when the study has no data for its figure.
Draw = Callable[[Analysis, Sequence[TrialRecord]], Plot | None]


@dataclass(frozen=True)
class Registered:
    """A figure function with its key (HTML id, PNG name) and slot (fixed place, from 1)."""

    key: str
    slot: int
    draw: Draw


# A figure of one cell the report looks inside: None when it has no data for it.
CellDraw = Callable[["Look"], Plot | None]


@dataclass(frozen=True)
class RegisteredCell:
    """A per-cell figure function with its key (before the cell's) and slot."""

    key: str
    slot: int
    draw: CellDraw


# The report's own figures by key; filled by :func:`register` and :func:`register_cell`
# when their modules are imported. A key or slot is used once across both.
REGISTRY: dict[str, Registered] = {}
CELL_REGISTRY: dict[str, RegisteredCell] = {}


def _check_free(key: str, slot: int) -> None:
    taken = [*REGISTRY.values(), *CELL_REGISTRY.values()]
    if any(r.key == key or r.slot == slot for r in taken):
        raise ValueError(f"figure {key!r} at slot {slot}: key or slot already taken")


def register(key: str, slot: int) -> Callable[[Draw], Draw]:
    """Add a figure function to the report under ``key`` at ``slot``, each used once."""
    def add(draw: Draw) -> Draw:
        _check_free(key, slot)
        REGISTRY[key] = Registered(key, slot, draw)
        return draw
    return add


def register_cell(key: str, slot: int) -> Callable[[CellDraw], CellDraw]:
    """Add a figure drawn for each cell the report looks inside, under ``key-CELL`` at
    ``slot`` (shared by all its cells: their dashboard ids differ by the cell)."""
    def add(draw: CellDraw) -> CellDraw:
        _check_free(key, slot)
        CELL_REGISTRY[key] = RegisteredCell(key, slot, draw)
        return draw
    return add


def registered() -> list[Registered]:
    """Every registered figure function, in slot order."""
    return sorted(REGISTRY.values(), key=lambda r: r.slot)


def registered_cells() -> list[RegisteredCell]:
    """Every registered per-cell figure function, in slot order."""
    return sorted(CELL_REGISTRY.values(), key=lambda r: r.slot)


SLUG_CHARS = 80  # a search's cell names every value (300+ chars); a file name holds 255 bytes


def cell_slug(cell: str) -> str:
    """A cell key as an HTML id, file name and dashboard id part: ``cnn-width-8-depth-2``.
    A longer one keeps its start and ends in a hash of the whole key, so that it stays
    unique, and stable from one report to the next."""
    slug = re.sub(r"[^a-z0-9]+", "-", cell.lower()).strip("-")
    if len(slug) <= SLUG_CHARS:
        return slug
    digest = hashlib.sha256(cell.encode()).hexdigest()[:12]
    return f"{slug[:SLUG_CHARS - len(digest) - 1].rstrip('-')}-{digest}"


def rgba(color: str, alpha: float) -> str:
    """A Plotly hex colour made translucent."""
    r, g, b = hex_to_rgb(color)
    return f"rgba({r},{g},{b},{alpha})"


def layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    """The report's common style: titles, white template, height and margins."""
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white",
                      height=460, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def hover(point: str, data: Iterable[Sequence[object]], *values: str) -> dict[str, Any]:
    """Scatter arguments whose hover names each point by its ``customdata`` (``point``:
    MEAN_POINT or SEED_POINT, extra fields after those two), then ``values``."""
    return {"customdata": [list(d) for d in data],
            "hovertemplate": "<br>".join((point, *values)) + "<extra></extra>"}


def bounds(interval: Interval) -> tuple[float, float]:
    """CI bounds for a band, collapsed onto the mean where one seed gives none."""
    if math.isnan(interval.low):
        return interval.mean, interval.mean
    return interval.low, interval.high
