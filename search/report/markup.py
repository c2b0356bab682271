"""Plain text as HTML: escaped, with exponents raised; and tables of it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

POWER = re.compile(r"\^(-?)(\d+(?:\.\d+)?)")  # an exponent in plain text: N^-0.861


def markup(text: str) -> str:
    """Escaped HTML with exponents raised, ``N^-0.861`` as N<sup>&minus;0.861</sup>: the page
    reads as a formula while the CLI and scaling.json keep the plain text."""
    return POWER.sub(lambda m: f"<sup>{'&minus;' if m[1] else ''}{m[2]}</sup>", html.escape(text))


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table; every value is escaped (:func:`markup`)."""
    head = "".join(f"<th>{markup(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{markup(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
