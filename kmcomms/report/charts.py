"""Charts as inline SVG, drawn with matplotlib when it is installed (the `reports` extra).

Without matplotlib a report still works: `svg` returns None and the report shows the
chart's table alone, with the note `MISSING_NOTE`.
"""

from __future__ import annotations

import io
import re

from kmcomms.report.model import Chart

__all__ = ["MISSING_NOTE", "available", "svg"]

MISSING_NOTE = "charts left out: matplotlib is not installed — pip install 'kmcomms[reports]' (the tables hold the same data)"

# Colour-blind-safe (Okabe–Ito blue), dark enough against white for WCAG's 3:1 for graphics.
BAR = "#0072B2"
REFERENCE = "#D55E00"
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def available() -> bool:
    """Whether charts can be drawn (matplotlib importable)."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def svg(chart: Chart) -> str | None:
    """The chart as an `<svg>` element to put inside HTML, or None without matplotlib.

    Drawn on a bare `Figure` (no pyplot, so no global backend or state: the Agg-free SVG
    canvas only), text kept as text (searchable, small), ids salted with the chart's key so
    several charts on one page never share a clip-path id, no date in the metadata so the
    same data gives the same bytes.
    """
    try:
        from matplotlib import rc_context
        from matplotlib.figure import Figure
    except ImportError:
        return None
    count = max(len(chart.labels), 1)
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": chart.key, "font.size": 10,
                     "font.family": "sans-serif"}):
        height = 0.9 + 0.38 * count
        figure = Figure(figsize=(7, height))
        # Margins worked out from the labels instead of constrained layout, which draws every
        # chart twice and is most of its cost in a unit report of hundreds of charts.
        longest = max((len(_shorten(label)) for label in chart.labels), default=1)
        figure.subplots_adjust(left=min(0.1 + 0.011 * longest, 0.5), right=0.95, bottom=0.55 / height,
                               top=1 - 0.15 / height)
        axes = figure.add_subplot()
        positions = list(range(count))
        axes.barh(positions, chart.values or [0], color=BAR)
        axes.set_yticks(positions, [_shorten(label) for label in chart.labels] or [""])
        axes.invert_yaxis()  # first label on top, as in the table
        if chart.reference is not None:
            axes.axvline(chart.reference, color=REFERENCE, linestyle="--", linewidth=1.5)
        for position, value in zip(positions, chart.values, strict=False):
            axes.annotate(f"{value:,.0f}", (value, position), xytext=(3, 0), textcoords="offset points", va="center")
        axes.set_xlabel(chart.unit)
        axes.spines[["top", "right"]].set_visible(False)
        axes.margins(x=0.12)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    # The XML prologue and doctype are not allowed inside an HTML document.
    text = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    text = _METADATA.sub("", text, count=1)  # RDF about the file, not the chart
    # The figure/figcaption/table carry the meaning; the picture is labelled, not read out twice.
    return text.replace("<svg ", f'<svg role="img" aria-label="{_attribute(chart.title)}" ', 1)


def _shorten(label: str, limit: int = 40) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
