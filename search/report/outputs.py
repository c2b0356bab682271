"""The report's data files: cells.csv and the figures as static PNGs."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from search.analysis import Analysis
from search.errors import ReportError
from search.files import unlink_if_link
from search.report.figure import Figure
from search.report.text import num_text
from spaces import FAMILIES

PNG_OPTS = {"width": 960, "height": 540, "scale": 2}


def csv_columns() -> list[str]:
    """The spec fields cells.csv shows: the columns every registered family declares, in
    registration order, each once; one header for every study, so files concatenate."""
    return list(dict.fromkeys(k for f in FAMILIES.values() for k in f.columns))


def cells_csv(analysis: Analysis) -> str:
    """One row per cell: its settings, size, intervals, convergence and completeness."""
    incomplete = set(analysis.incomplete)
    fields = csv_columns()
    with io.StringIO(newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["family", "cell", *fields, "n", "seeds", "param_count", "flops",
                    "receptive_field", "test_mean", "test_std", "test_ci_low",
                    "test_ci_high", "val_mean", "val_std", "val_ci_low", "val_ci_high",
                    "train_acc_mean", "generalisation_gap", "seeds_converged",
                    "median_epochs", "last_epoch_gain", "still_improving", "seeds_ran_full",
                    "seeds_schedule_limited", "premature_stops", "train_seconds",
                    "incomplete"])
        for c in analysis.cells:
            d = c.convergence
            w.writerow([c.family, c.cell, *(c.arch.get(k, "") for k in fields), c.n,
                        " ".join(map(str, c.seeds)), c.param_count, c.flops,
                        "" if c.receptive_field is None else c.receptive_field,
                        *(num_text(v) for i in (c.test, c.val)
                          for v in (i.mean, i.std, i.low, i.high)),
                        num_text(c.train_acc.mean), num_text(c.gap),
                        "" if d is None or d.converged is None else d.converged,
                        "" if d is None else d.median_epochs,
                        "" if d is None else num_text(d.last_gain),
                        "" if d is None else d.still_improving,
                        *("" if d is None or (v := getattr(d, k)) is None else v
                          for k in ("ran_full", "schedule_limited", "premature")),
                        f"{c.train_seconds:.2f}", c.cell in incomplete])
        return fh.getvalue()


def write_pngs(figures: Sequence[Figure], folder: Path) -> tuple[Path, ...]:
    """Static PNGs through kaleido, which drives the system Chromium (found on PATH or
    ``BROWSER_PATH``); one browser session renders them all."""
    import kaleido  # starts nothing at import, but only the docs path needs it

    folder.mkdir(parents=True, exist_ok=True)
    paths = tuple(folder / f"{f.key}.png" for f in figures)
    for path in paths:
        unlink_if_link(path)
    try:
        kaleido.write_fig_from_object_sync(
            [{"fig": f.figure, "path": p, "opts": PNG_OPTS} for f, p in zip(figures, paths,
                                                                           strict=True)])
    except Exception as exc:  # kaleido reports a missing or failing browser in many ways
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReportError(f"cannot write PNGs (kaleido needs Chromium, e.g. "
                          f"apt-get install chromium): {reason}") from None
    return paths
