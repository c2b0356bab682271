"""What a person sees in the terminal: one line per trial, and tables of cells at the end."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

from optuna.trial import FrozenTrial

from search.analysis import CellStats, Interval
from spaces.cost import human
from spaces.space import parse_cell_key
from storage import records as R

MATRIX_COLUMN = 15  # "0.8650±0.0050" and a margin: 5 widths fit in 100 columns


def trial_line(trial: FrozenTrial) -> str:
    """E.g. ``[  3] cnn:width=16,depth=2 seed 1  params 120k  val 0.8712  test 0.8650  12.3 s``."""
    a = R.attrs(trial)
    cell = _short(a.get(R.CELL, "?"), 60)
    head = f"[{trial.number:>5}] {cell} seed {a.get(R.SEED, '?')}"
    size = f"params {human(a[R.PARAM_COUNT])}" if R.PARAM_COUNT in a else ""
    if trial.state.name == "COMPLETE":
        tail = (f"val {a[R.VAL_ACCURACY]:.4f}  test {a[R.TEST_ACCURACY]:.4f}  "
                f"{a[R.TRAIN_SECONDS]:.1f} s")
    elif trial.state.name == "PRUNED":
        tail = (f"duplicate of trial {a[R.DUPLICATE_OF]}" if R.DUPLICATE_OF in a
                else a.get(R.PRUNE_REASON)
                or f"pruned after {len(trial.intermediate_values)} epoch(s)")
    else:
        tail = f"{trial.state.name}: {a.get(R.FAIL_REASON, 'no reason stored')}"
    return "  ".join(part for part in (head, size, tail) if part)


def _short(text: str, width: int) -> str:
    """Search cells name every sampled value; keep lines readable."""
    return text if len(text) <= width else text[: width - 1] + "…"


def wrap_headline(lines: Sequence[str], width: int = 100) -> str:
    """Headline lines (``search.report.headline``) wrapped for the terminal, continuation
    lines indented; the report and scaling.json keep them whole."""
    return "\n".join(textwrap.fill(line, width, subsequent_indent="    ") for line in lines)


def ci_text(interval: Interval) -> str:
    if interval.n == 0:
        return "—"
    if math.isnan(interval.low):
        return f"{interval.mean:.4f} (n=1)"
    return f"{interval.mean:.4f}±{interval.half_width:.4f}"


def _matrix(family: str, cells: Sequence[CellStats]) -> list[str]:
    """Rows of depth, columns of width (else the first two varying values), one block per
    setting of any other varying value (e.g. per head or learning rate)."""
    parsed = [(parse_cell_key(c.cell)[1], c) for c in cells]
    names = list(parsed[0][0])
    if len(names) < 2 or any(list(v) != names for v, _ in parsed):
        return []
    col, row = ("width", "depth") if {"width", "depth"} <= set(names) else names[:2]
    rest = [n for n in names if n not in (col, row)]
    lines = [f"{family}: mean test accuracy ± 95 % CI half-width over seeds"]
    blocks: dict[tuple[str, ...], list[tuple[dict[str, str], CellStats]]] = {}
    for v, c in parsed:
        blocks.setdefault(tuple(v[n] for n in rest), []).append((v, c))
    for key, block in blocks.items():
        cols = list(dict.fromkeys(v[col] for v, _ in block))
        rows = list(dict.fromkeys(v[row] for v, _ in block))
        by = {(v[row], v[col]): c for v, c in block}
        if rest:
            lines.append(", ".join(f"{n}={k}" for n, k in zip(rest, key, strict=True)) + ":")
        corner = f"{row} \\ {col}"
        lines.append(f"{corner:<16}" + "".join(f"{c:>{MATRIX_COLUMN}}" for c in cols))
        for r in rows:
            lines.append(f"{r:<16}" + "".join(
                f"{ci_text(by[(r, c)].test) if (r, c) in by else '—':>{MATRIX_COLUMN}}"
                for c in cols))
    return lines


def _convergence(c: CellStats) -> str:
    """E.g. ``2/3`` seeds converged, with ``↑`` when still improving at the last epoch."""
    d = c.convergence
    if d is None:
        return "—"
    done = "?" if d.converged is None else f"{d.converged}/{d.seeds}"
    return done + ("↑" if d.still_improving else "")


def cell_table(cells: Sequence[CellStats], expected: int | None = None) -> str:
    """Per family a matrix when the grid is two-dimensional, then every cell as a row with
    its convergence (seeds stopped by patience, ↑ still improving, median epochs) and its
    generalisation gap (train minus validation accuracy, pp)."""
    if not cells:
        return "no completed trial yet"
    lines: list[str] = []
    families = list(dict.fromkeys(c.family for c in cells))
    for family in families:
        block = _matrix(family, [c for c in cells if c.family == family])
        if block:
            lines += [*block, ""]
    lines.append(f"{'cell':<35}{'n':>3}{'params':>7}{'FLOPs':>7}  {'test ±95 % CI':<14}"
                 f"{'val':>7}{'gap pp':>7}{'conv':>6}{'ep':>5}{'s/trial':>7}")
    for c in sorted(cells, key=lambda c: (families.index(c.family), c.param_count)):
        gap = "—" if math.isnan(c.gap) else f"{100 * c.gap:+.1f}"
        epochs = f"{c.convergence.median_epochs:g}" if c.convergence else "—"
        lines.append(f"{_short(c.cell, 34):<35}{c.n:>3}{human(c.param_count):>7}"
                     f"{human(c.flops):>7}  {ci_text(c.test):<14}{c.val.mean:>7.4f}{gap:>7}"
                     f"{_convergence(c):>6}{epochs:>5}{c.train_seconds:>7.1f}")
    if expected is not None and expected > len(cells):
        lines.append(f"{expected - len(cells)} of {expected} cells have no completed trial yet")
    return "\n".join(lines)
