"""What a person sees in the terminal: one line per trial, and tables of cells at the end."""

from __future__ import annotations

import math
from collections.abc import Sequence

from optuna.trial import FrozenTrial

from search.analysis import CellStats, Interval
from spaces.cost import human
from spaces.space import parse_cell_key


def trial_line(trial: FrozenTrial) -> str:
    """E.g. ``[  3] cnn:width=16,depth=2 seed 1  params 120k  val 0.8712  test 0.8650  12.3 s``."""
    a = trial.user_attrs
    cell = _short(a.get("cell", "?"), 60)
    head = f"[{trial.number:>5}] {cell} seed {a.get('seed', '?')}"
    size = f"params {human(a['param_count'])}" if "param_count" in a else ""
    if trial.state.name == "COMPLETE":
        tail = (f"val {a['val_accuracy']:.4f}  test {a['test_accuracy']:.4f}  "
                f"{a['train_seconds']:.1f} s")
    elif trial.state.name == "PRUNED":
        tail = ("duplicate of trial {}".format(a["duplicate_of"]) if "duplicate_of" in a
                else a.get("prune_reason")
                or f"pruned after {len(trial.intermediate_values)} epoch(s)")
    else:
        tail = f"{trial.state.name}: {a.get('fail_reason', 'no reason stored')}"
    return "  ".join(part for part in (head, size, tail) if part)


def _short(text: str, width: int) -> str:
    """Search cells name every sampled value; keep lines readable."""
    return text if len(text) <= width else text[: width - 1] + "…"


def ci_text(interval: Interval) -> str:
    if interval.n == 0:
        return "—"
    if math.isnan(interval.low):
        return f"{interval.mean:.4f} (n=1)"
    return f"{interval.mean:.4f}±{interval.half_width:.4f}"


def _matrix(family: str, cells: Sequence[CellStats]) -> list[str]:
    """Rows of the second varying value, columns of the first (e.g. depth x width)."""
    parsed = [(parse_cell_key(c.cell)[1], c) for c in cells]
    names = list(parsed[0][0])
    if len(names) != 2 or any(list(v) != names for v, _ in parsed):
        return []
    col, row = names
    cols = list(dict.fromkeys(v[col] for v, _ in parsed))
    rows = list(dict.fromkeys(v[row] for v, _ in parsed))
    by = {(v[row], v[col]): c for v, c in parsed}
    width = 18
    corner = f"{row} \\ {col}"
    lines = [f"{family}: mean test accuracy ± 95 % CI half-width over seeds",
             f"{corner:<16}" + "".join(f"{c:>{width}}" for c in cols)]
    for r in rows:
        lines.append(f"{r:<16}" + "".join(
            f"{ci_text(by[(r, c)].test) if (r, c) in by else '—':>{width}}" for c in cols))
    return lines


def cell_table(cells: Sequence[CellStats], expected: int | None = None) -> str:
    """Per family a matrix when the grid is two-dimensional, then every cell as a row."""
    if not cells:
        return "no completed trial yet"
    lines: list[str] = []
    families = list(dict.fromkeys(c.family for c in cells))
    for family in families:
        block = _matrix(family, [c for c in cells if c.family == family])
        if block:
            lines += [*block, ""]
    lines.append(f"{'cell':<34}{'n':>3}{'params':>9}{'FLOPs':>9}  {'test mean [95 % CI]':<26}"
                 f"{'val mean':>9}{'s/trial':>9}")
    for c in sorted(cells, key=lambda c: (families.index(c.family), c.param_count)):
        ci = (f"[{c.test.low:.4f}, {c.test.high:.4f}]" if not math.isnan(c.test.low)
              else "(one seed)")
        name = _short(c.cell, 33)
        lines.append(f"{name:<34}{c.n:>3}{human(c.param_count):>9}{human(c.flops):>9}  "
                     f"{c.test.mean:.4f} {ci:<19}{c.val.mean:>9.4f}{c.train_seconds:>9.1f}")
    if expected is not None and expected > len(cells):
        lines.append(f"{expected - len(cells)} of {expected} cells have no completed trial yet")
    return "\n".join(lines)
