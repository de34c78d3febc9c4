"""The report as one self-contained HTML file: inline CSS, charts as inline SVG, no
requests of any kind, so it can be mailed, archived or printed as it is."""

from __future__ import annotations

import functools
import itertools
import re

import jinja2
from markupsafe import Markup, escape

from kmcomms.report import charts
from kmcomms.report.formats import ReportFormat
from kmcomms.report.markdown import byline
from kmcomms.report.model import Chart, Report, format_cell

__all__ = ["FORMAT", "STATUSES", "html", "inline_code"]

#: Values of a "Status" column, kept on one line and marked with a dot (always beside the
#: word, never colour alone; none for "no data").
STATUSES = ("met", "on track", "too early", "at risk", "missed", "no data")

_CODE = re.compile(r"`([^`]+)`")


def inline_code(text: str) -> Markup:
    """`text` escaped, with its `backticked` spans (commands, settings) as <code>: the
    report's words use Markdown's one piece of inline markup, so the Markdown output
    shows them as they are and HTML renders them."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(escape(text))))


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
    env.filters["code"] = inline_code
    return env


def html(report: Report) -> str:
    """The report as an HTML document, charts drawn inline."""
    drawn = itertools.count(1)

    def draw(chart: Chart) -> Markup:
        # Each drawing its own id prefix, in page order: ids stay unique even where two
        # campaigns of a unit report have the same chart with the same data.
        return Markup(charts.svg(chart, f"chart{next(drawn)}-"))

    nested = len(report.parts) > 1 or report.overview is not None
    return (
        _environment()
        .get_template("report.html.j2")
        .render(report=report, byline=byline(report), nested=nested, draw=draw, statuses=STATUSES)
    )


FORMAT = ReportFormat("html", ".html", "text/html", render=html, scheduled=True)
