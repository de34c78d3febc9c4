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
AXIS = "#444444"
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

    Simple bars on axes without tick machinery: each bar is labelled at its start and
    carries its value at its end, so ticks and grid would only repeat what the text says
    (and drawing matplotlib's tick axes was most of a chart's cost, in a unit report of
    a hundred charts). Margins are worked out from the labels, not by a tight or
    constrained layout, which draws every chart twice.
    """
    try:
        from matplotlib import rc_context
        from matplotlib.figure import Figure
    except ImportError:
        return None
    count = max(len(chart.labels), 1)
    labels = [_shorten(label) for label in chart.labels]
    values = list(chart.values)
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": chart.key, "font.size": 10,
                     "font.family": "sans-serif"}):
        height = 0.8 + 0.38 * count
        figure = Figure(figsize=(7, height))
        longest = max((len(label) for label in labels), default=1)
        left = min(0.04 + 0.011 * longest, 0.5)
        axes = figure.add_axes((left, 0.45 / height, 0.93 - left, 1 - 0.6 / height))
        axes.set_axis_off()
        positions = range(len(values))
        axes.barh(positions, values, color=BAR, height=0.8)
        low = min(0.0, *values) if values else 0.0
        high = max(0.0, *values, *(() if chart.reference is None else (chart.reference,))) if values else 1.0
        span = (high - low) or 1.0
        axes.set_xlim(low - 0.02 * span if low < 0 else 0.0, high + 0.15 * span)
        axes.set_ylim(count - 0.5, -0.5)  # first label on top, as in the table
        axes.axvline(0, color=AXIS, linewidth=1)
        if chart.reference is not None:
            axes.axvline(chart.reference, color=REFERENCE, linestyle="--", linewidth=1.5)
        for position, (label, value) in enumerate(zip(labels, values, strict=False)):
            axes.annotate(label, (min(0.0, value), position), xytext=(-4, 0), textcoords="offset points", va="center",
                          ha="right")
            axes.annotate(f"{value:,.0f}", (max(0.0, value), position), xytext=(3, 0), textcoords="offset points",
                          va="center")
        figure.text(0.5 * (left + 0.93), 0.12 / height, chart.unit, ha="center", va="bottom")
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
