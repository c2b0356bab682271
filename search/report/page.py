"""The report page: one self-contained HTML file that opens without a network."""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.io as pio

from search.analysis import Analysis
from search.report.figure import Figure
from search.report.markup import markup
from search.report.setup import Setup
from search.report.tables import TABLES

ERROR_SINK = "js-errors"  # the page writes any JavaScript error here, so a test can see it


def page_html(title: str, analysis: Analysis, setup: Setup, figures: Sequence[Figure],
              lines: Sequence[str]) -> str:
    """One self-contained page: the Set-up first, then the headline, figures and tables (a
    table with nothing to show, e.g. a fixed grid's sequential seeds, is left out);
    Plotly's JavaScript is inlined with the first figure."""
    sections = []
    for i, f in enumerate(figures):
        div = pio.to_html(f.figure, full_html=False, include_plotlyjs=i == 0, div_id=f.key,
                          default_height="460px", config={"displaylogo": False})
        sections.append(f"<section><h2>{markup(f.title)}</h2>{div}"
                        f"<p class='caption'>{markup(f.caption)}</p></section>")
    facts = "".join(f"<li><b>{markup(label)}</b>: {markup(text)}</li>"
                    for label, text in setup.lines())
    items = "".join(f"<li>{markup(line)}</li>" for line in lines)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}}
.caption{{color:#333;font-size:0.95em}} table{{border-collapse:collapse;font-size:0.9em}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}} #{ERROR_SINK}{{color:#b00}}</style>
<script>window.addEventListener("error", function (e) {{
  document.getElementById("{ERROR_SINK}").textContent += "JavaScript error: " + e.message + "\\n";
}});</script></head>
<body><h1>{html.escape(title)}</h1><pre id="{ERROR_SINK}"></pre>
<section id="setup"><h2>Set-up</h2><ul>{facts}</ul></section>
<ul>{items}</ul>
{"".join(sections)}
{"".join(f"<section><h2>{markup(t)}</h2>{body}</section>"
         for t, table in TABLES if (body := table(analysis)))}
</body></html>
"""
