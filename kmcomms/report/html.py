"""The report as one self-contained HTML file: inline CSS, charts as inline SVG, no
requests of any kind, so it can be mailed, archived or printed as it is."""

from __future__ import annotations

import functools

import jinja2

from kmcomms.report import charts
from kmcomms.report.markdown import byline
from kmcomms.report.model import Report, format_cell

__all__ = ["STATUSES", "html"]

#: Cell values marked with a coloured dot (always beside the word, never colour alone).
STATUSES = ("met", "on track", "at risk", "missed")


@functools.cache  # templates are parsed once per process
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kmcomms", "templates/report"),
        autoescape=True,  # every value is text from campaign files or the ledger
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = format_cell
    return env


def html(report: Report) -> str:
    """The report as an HTML document. Charts are drawn when matplotlib is installed;
    otherwise each chart's table stands alone (and `report.notes` should say so)."""
    sections = [s for p in report.parts for s in p.sections]
    if report.overview is not None:
        sections.append(report.overview)
    # Keyed by the chart itself: a unit report has the same chart keys in every campaign.
    svgs = {chart: charts.svg(chart) for section in sections for chart in section.charts}
    nested = len(report.parts) > 1 or report.overview is not None
    return _environment().get_template("report.html.j2").render(
        report=report, byline=byline(report), nested=nested, svgs=svgs, statuses=STATUSES)
