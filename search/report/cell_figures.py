"""The figures drawn for each cell the report looks inside (``search.report.inside``), one
registered function each (:func:`register_cell`): per-class test accuracy, the confusion
matrix, the misclassified test images, each block's feature maps and the first filters.

Images are Plotly Express images (PNG inside the figure), so the page stays offline and
the dashboard stores them compactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from search.report.figure import Figure, Plot, cell_slug, register_cell, registered_cells
from search.report.inside import Look
from search.seen import Example, Seen
from search.stats import Interval

MISTAKE_COLUMNS = 6
FILTERS_SHOWN = 32  # of the first convolution: its first filters, 8 to a row
FILTER_COLUMNS = 8
PANEL_PX = 120  # height of one row of image panels


def _pct(interval: Interval) -> str:
    """``87.3 % [85.1, 89.5]``, or the mean alone from one seed."""
    if math.isnan(interval.low):
        return f"{100 * interval.mean:.1f} % (1 seed, no CI)"
    return f"{100 * interval.mean:.1f} % [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"


def _style(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", height=height,
                      margin={"l": 40, "r": 20, "t": 70, "b": 30})
    return fig


@register_cell("per-class-accuracy", slot=21)
def per_class_accuracy(look: Look) -> Plot | None:
    """Test accuracy per class, mean over the cell's seeds with 95 % CI bars."""
    classes = look.classes
    if classes is None:
        return None
    acc = classes.accuracy
    has_ci = [not math.isnan(a.low) for a in acc]
    fig = go.Figure(go.Bar(
        x=list(look.labels), y=[a.mean for a in acc], marker_color="#4C78A8",
        error_y={"type": "data", "symmetric": False,
                 "array": [a.high - a.mean if ci else 0 for a, ci in zip(acc, has_ci, strict=True)],
                 "arrayminus": [a.mean - a.low if ci else 0
                                for a, ci in zip(acc, has_ci, strict=True)]},
        customdata=[[_pct(a)] for a in acc],
        hovertemplate="%{x}: %{customdata[0]}<extra></extra>"))
    title = f"Per-class test accuracy: {look.cell.cell}"
    _style(fig, title, 460)
    fig.update_layout(xaxis_title="true class",
                      yaxis_title="test accuracy (mean over seeds, 95 % CI)")
    fig.update_yaxes(range=[0, 1])  # an interval from few seeds may reach past 0 or 1
    order = sorted(range(len(acc)), key=lambda k: acc[k].mean)
    low, high = order[0], order[-1]
    caption = (f"Test accuracy on each class of {look.cell.cell} over {len(classes.seeds)} "
               f"seed(s) (mean, 95 % CI over seeds): lowest {look.labels[low]} "
               f"{_pct(acc[low])}, highest {look.labels[high]} {_pct(acc[high])}; all classes "
               f"together {100 * look.cell.test.mean:.1f} %.")
    return Plot(title, caption, fig)


@register_cell("confusion-matrix", slot=22)
def confusion_matrix(look: Look) -> Plot | None:
    """The kept model's test predictions: true class by predicted class."""
    seen = look.seen
    if seen is None:
        return None
    counts = seen.confusion
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    labels = list(look.labels)
    fig = go.Figure(go.Heatmap(
        z=share.tolist(), x=labels, y=labels, text=counts.tolist(), texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=1, colorbar={"title": {"text": "share of row"}},
        hovertemplate="true %{y}, predicted %{x}: %{text} (%{z:.1%} of the row)"
                      "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    title = f"Confusion matrix: {look.cell.cell}"
    _style(fig, title, 560)
    fig.update_layout(xaxis_title="predicted class", yaxis_title="true class")
    true, predicted, n = seen.most_confused()
    caption = (f"Test predictions of {_model_text(look, seen)} ({seen.total:,} images): rows "
               f"are the true class, columns the predicted one, the colour the share of the "
               f"row. The most frequent mistake: {labels[true]} taken for {labels[predicted]}, "
               f"{n:,} times ({100 * share[true, predicted]:.1f} % of the {labels[true]} "
               f"images).")
    return Plot(title, caption, fig)


def _image(pixels: np.ndarray) -> go.Image:
    """A uint8 image as a trace holding it as a PNG (encoded by Plotly Express)."""
    return px.imshow(pixels, binary_string=True).data[0]


def _panels(panels: Sequence[tuple[np.ndarray, str]], columns: int) -> go.Figure:
    """Images in a grid of ``columns``, each titled, without axes."""
    rows = max(1, math.ceil(len(panels) / columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[t for _, t in panels],
                        horizontal_spacing=0.01, vertical_spacing=min(0.3 / rows, 0.08))
    for i, (pixels, _) in enumerate(panels):
        fig.add_trace(_image(pixels), row=i // columns + 1, col=i % columns + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=10)
    return fig


def _model_text(look: Look, seen: Seen, full: bool = False) -> str:
    """Which model a figure shows; ``full``: why this one, and its test accuracy as stored
    and as its kept predictions give it (the two agree unless a file was swapped)."""
    model = look.model
    assert model is not None and model.test_accuracy is not None
    text = f"the model of {look.cell.cell}, seed {model.seed} (trial {model.number}"
    if not full:
        return text + ")"
    return (f"{text}: the best of the cell's seeds by validation accuracy that kept its "
            f"model; test accuracy {100 * model.test_accuracy:.2f} % stored, "
            f"{100 * seen.accuracy:.2f} % from its kept predictions)")


def _label(look: Look, example: Example) -> str:
    return look.labels[example.true] if example.true < len(look.labels) else str(example.true)


@register_cell("misclassified", slot=23)
def misclassified(look: Look) -> Plot | None:
    """The test images the cell's kept model gets wrong, the most confident first."""
    seen = look.seen
    if seen is None or not seen.mistakes:
        return None
    names = look.labels

    def title(e: Example) -> str:
        predicted = names[e.predicted] if e.predicted < len(names) else str(e.predicted)
        return f"{_label(look, e)} → {predicted} ({100 * e.probability:.0f} %)"

    fig = _panels([(e.image, title(e)) for e in seen.mistakes], MISTAKE_COLUMNS)
    rows = math.ceil(len(seen.mistakes) / MISTAKE_COLUMNS)
    title_text = f"Misclassified test images: {look.cell.cell}"
    _style(fig, title_text, 90 + rows * (PANEL_PX + 30))
    caption = (f"Of {seen.total:,} test images, {_model_text(look, seen, full=True)} "
               f"misclassifies {seen.wrong:,}; the {len(seen.mistakes)} shown are those it "
               "was most sure of, each titled true class → predicted class (its probability).")
    return Plot(title_text, caption, fig)


def _scaled(values: np.ndarray) -> np.ndarray:
    """An array stretched to 0-255 over its own range (a constant one is black)."""
    low, span = float(values.min()), float(np.ptp(values))
    return np.rint((values - low) / (span or 1.0) * 255).astype(np.uint8)


@register_cell("feature-maps", slot=24)
def feature_maps(look: Look) -> Plot | None:
    """Each block's output for the first test images: its most active channels."""
    seen = look.seen
    if seen is None or not seen.blocks:
        return None
    panels: list[tuple[np.ndarray, str]] = []
    for i, e in enumerate(seen.shown):
        panels.append((e.image, f"#{e.index} {_label(look, e)}"))
        panels += [(_scaled(b.maps[i, j]), f"{b.layer.split('_')[0]} ch {c}")
                   for b in seen.blocks for j, c in enumerate(b.channels)]
    columns = 1 + sum(len(b.channels) for b in seen.blocks)
    fig = _panels(panels, columns)
    title = f"Feature maps of each block: {look.cell.cell}"
    _style(fig, title, 90 + len(seen.shown) * (PANEL_PX + 30))
    shapes = ", ".join(f"{b.layer.split('_')[0]} {'x'.join(map(str, b.shape))}"
                       for b in seen.blocks)
    layers = ", ".join(b.layer for b in seen.blocks)
    caption = (f"What each block of {_model_text(look, seen)} hands on ({layers}) for the "
               f"first {len(seen.shown)} test images (a row each, the input first): the "
               f"{len(seen.blocks[0].channels)} channels of each block most active over these "
               f"images, each map stretched over its own range (black lowest, white highest). "
               f"Block outputs (height x width x channels): {shapes}.")
    return Plot(title, caption, fig)


@register_cell("first-filters", slot=25)
def first_filters(look: Look) -> Plot | None:
    """The first convolution's filters, all scaled together."""
    seen = look.seen
    if seen is None or seen.filters is None:
        return None
    kernel = seen.filters  # (kh, kw, in, out)
    shown = min(kernel.shape[3], FILTERS_SHOWN)
    colour = kernel.shape[2] == 3
    # Colour input: each filter as an RGB image; otherwise the mean over its input channels.
    values = kernel[..., :shown] if colour else kernel[..., :shown].mean(axis=2)
    pixels = _scaled(values)
    panels = [(pixels[..., f], f"filter {f}") for f in range(shown)]
    fig = _panels(panels, FILTER_COLUMNS)
    title = f"First-block filters: {look.cell.cell}"
    _style(fig, title, 90 + math.ceil(shown / FILTER_COLUMNS) * (PANEL_PX + 30))
    inputs = kernel.shape[2]
    caption = (f"The {f'first {shown} of the ' if shown < kernel.shape[3] else ''}"
               f"{kernel.shape[3]} {kernel.shape[0]}x{kernel.shape[1]} filters of "
               f"{seen.filter_layer} in {_model_text(look, seen)}, scaled together from "
               f"{float(values.min()):+.3f} (black) to {float(values.max()):+.3f} (white)"
               + ("." if colour or inputs == 1 else
                  f", each the mean over its {inputs} input channels."))
    return Plot(title, caption, fig)


def cell_figures(looks: Sequence[Look]) -> list[Figure]:
    """Every per-cell figure of every cell looked inside, cell by cell in slot order,
    skipping those a cell has no data for."""
    figures = []
    for look in looks:
        for r in registered_cells():
            plot = r.draw(look)
            if plot is not None:
                figures.append(Figure(f"{r.key}-{cell_slug(look.cell.cell)}", *plot,
                                      slot=r.slot))
    return figures
