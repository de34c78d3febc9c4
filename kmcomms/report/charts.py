"""Charts as inline SVG, drawn with matplotlib."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from kmcomms.report.model import Chart, format_number

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["svg"]

# Colour-blind-safe (Okabe–Ito blue), dark enough against white for WCAG's 3:1 for graphics.
BAR = "#0072B2"
REFERENCE = "#D55E00"
AXIS = "#444444"
GRID = "#d9d9d9"

#: Layout, in points (1/72 inch): the figure's width, a label's widest line before it
#: wraps, the font size, and the space around the bars.
WIDTH = 504.0
LABEL_WIDTH = 200.0
FONT_SIZE = 10.0
_LINE = 1.25 * FONT_SIZE
_BAR = 18.0
_GAP = 6.0
_TOP = 8.0
_BOTTOM = 34.0  # tick labels, then the unit
_RIGHT_PAD = 10.0

_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_ID = re.compile(r'\sid="([^"]+)"')
_REFERENCE = re.compile(r'url\(#([^)]+)\)|href="#([^"]+)"')


def svg(chart: Chart, prefix: str = "") -> str:
    """The chart as an `<svg>` element to put inside HTML.

    `prefix` starts every id the drawing keeps: give each chart of a page its own, as ids
    must be unique in a document (matplotlib numbers its groups from 1 in every drawing,
    so two charts would both have `figure_1`). Ids nothing refers to are dropped.

    Drawn on a bare `Figure` (no pyplot, so no global backend or state: the SVG canvas
    only), text kept as text (searchable, small), no date in the metadata so the same
    data gives the same bytes. Horizontal bars, each labelled at the left (long labels
    wrap; the margin is measured to fit them, never cut) and carrying its value at its
    end, over a value axis with a few ticks, so a bar of 0 still shows where it stands.
    The margins are worked out from the measured text, not by a tight or constrained
    layout, which draws every chart twice.
    """
    # The XML prologue and doctype are not allowed inside an HTML document.
    text = _PROLOGUE.sub("", _drawing(chart), count=1)
    text = _METADATA.sub("", text, count=1)  # RDF about the file, not the chart
    text = _own_ids(text, prefix)
    # The figure/figcaption/table carry the meaning; the picture is labelled, not read out twice.
    return text.replace("<svg ", f'<svg role="img" aria-label="{_attribute(chart.title)}" ', 1)


def _drawing(chart: Chart) -> str:
    """The SVG document matplotlib draws of `chart` (see `svg`)."""
    # Imported here: matplotlib takes a while to load, and only HTML reports draw charts.
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": chart.key, "font.size": FONT_SIZE, "font.family": "sans-serif"}
    ):
        width = _measure()
        labels = [_wrap(label, width) for label in chart.labels]
        values = list(chart.values)
        texts = [format_number(v) + chart.suffix for v in values]
        left = max((width(line) for label in labels for line in label.split("\n")), default=0.0) + 2 * _GAP
        right = max((width(t) for t in texts), default=0.0) + _GAP + _RIGHT_PAD
        # Wider than the page allows only for a word too long to wrap; the SVG scales down.
        figure_width = max(WIDTH, left + right + 160.0)
        row = max(label.count("\n") + 1 for label in labels) * _LINE + 2 * _GAP if labels else 2 * _LINE
        count = max(len(values), 1)
        height = _TOP + count * row + _BOTTOM
        figure = Figure(figsize=(figure_width / 72, height / 72))
        axes = figure.add_axes(
            (left / figure_width, _BOTTOM / height, 1 - (left + right) / figure_width, count * row / height)
        )
        # Bars of one thickness however many lines their labels take.
        axes.barh(range(len(values)), values, color=BAR, height=min(0.7, _BAR / row), zorder=2)
        low = min(0.0, *values) if values else 0.0
        high = max(0.0, *values, *(() if chart.reference is None else (chart.reference,))) if values else 0.0
        if high == low:  # every value 0 and nothing to compare with: a scale of 0 to 1
            high = low + 1.0
        axes.set_xlim(low, high)
        axes.set_ylim(count - 0.5, -0.5)  # first label on top, as in the table
        _value_axis(axes, low, high, chart, integers=all(float(v).is_integer() for v in values))
        _bar_labels(axes, labels, values, texts)
        figure.text(
            (left + (figure_width - left - right) / 2) / figure_width,
            4 / height,
            chart.unit,
            ha="center",
            va="bottom",
            color=AXIS,
        )
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _value_axis(axes: Axes, low: float, high: float, chart: Chart, *, integers: bool) -> None:
    """The value axis drawn by hand, a line, a few ticks and light grid lines: matplotlib's
    own axis (tick objects, layout) would double the cost of a chart."""
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MaxNLocator

    axes.set_axis_off()
    below = axes.get_xaxis_transform()  # x in data, y in axes fractions
    ticks = [t for t in MaxNLocator(nbins=2, integer=integers).tick_values(low, high) if low <= t <= high]
    lines = [((tick, 0), (tick, 1)) for tick in ticks]
    grid = LineCollection(lines, colors=GRID, linewidths=0.8, zorder=0, transform=below)
    axes.add_collection(grid, autolim=False)
    for tick in ticks:
        axes.annotate(
            format_number(tick) + chart.suffix,
            (tick, 0),
            xycoords=below,
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            color=AXIS,
            fontsize=FONT_SIZE - 1,
            annotation_clip=False,
        )
    # The axis line and the bars' 0, solid; the target (100%), dashed.
    axes.add_collection(
        LineCollection(
            [((low, 0), (high, 0)), ((0, 0), (0, 1))],
            colors=AXIS,
            linewidths=1,
            zorder=3,
            transform=below,
            clip_on=False,
        ),
        autolim=False,
    )
    if chart.reference is not None:
        axes.add_collection(
            LineCollection(
                [((chart.reference, 0), (chart.reference, 1))],
                colors=REFERENCE,
                linestyles="--",
                linewidths=1.5,
                zorder=3,
                transform=below,
            ),
            autolim=False,
        )


def _bar_labels(axes: Axes, labels: list[str], values: list[float], texts: list[str]) -> None:
    """Each bar's label at the left of the plot and its value at the bar's end."""
    side = axes.get_yaxis_transform()  # x in axes fractions, y in data
    for position, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        axes.annotate(
            label,
            (0, position),
            xycoords=side,
            xytext=(-_GAP, 0),
            textcoords="offset points",
            va="center",
            ha="right",
            annotation_clip=False,
        )
        axes.annotate(
            text,
            (max(0.0, value), position),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            annotation_clip=False,
        )


@functools.cache
def _measure() -> Callable[[str], float]:
    """A text's width in points, in the charts' font (what the browser draws when it has
    DejaVu Sans, matplotlib's own; the usual fallbacks are narrower), remembered: a unit
    report names the same indicators and numbers again and again."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font, measure = FontProperties(family="sans-serif", size=FONT_SIZE), TextToPath()

    @functools.lru_cache(maxsize=4096)
    def width(text: str) -> float:
        return float(measure.get_text_width_height_descent(text, font, ismath=False)[0])

    return width


def _wrap(label: str, width: Callable[[str], float]) -> str:
    """`label` in lines of at most `LABEL_WIDTH` points as `width` measures them, broken
    between words (a single longer word keeps its own line: the margin grows to fit it)."""
    lines: list[str] = []
    for word in label.split():
        if lines and width(f"{lines[-1]} {word}") <= LABEL_WIDTH:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def _own_ids(text: str, prefix: str) -> str:
    """Every id the drawing refers to (clip paths, tick markers) given `prefix`, along with
    its references; the others (matplotlib's numbered groups) dropped."""
    referenced = {a or b for a, b in _REFERENCE.findall(text)}
    text = _ID.sub(lambda m: f' id="{prefix}{m[1]}"' if m[1] in referenced else "", text)
    return _REFERENCE.sub(lambda m: f"url(#{prefix}{m[1]})" if m[1] else f'href="#{prefix}{m[2]}"', text)


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
