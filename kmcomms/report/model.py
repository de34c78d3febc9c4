"""The report as plain data: what every output format (HTML, Markdown, CSV, JSON) renders.

`build` makes it from evaluations; the renderers only lay it out, so the four formats
always say the same thing. A report is sections of paragraphs, tables and charts (each
chart carries its data as a table, the text alternative the HTML shows beside it), plus
two tidy tables, one row per observation, for the CSV export and for JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = [
    "Cell",
    "Chart",
    "IndicatorValue",
    "Part",
    "ReachValue",
    "Report",
    "Section",
    "Table",
    "format_cell",
    "format_number",
]

Cell = str | int | float | None


def format_cell(value: Cell) -> str:
    """A cell as a person reads it: thousands separated, at most two decimals, "–" for none."""
    if value is None:
        return "–"
    if isinstance(value, bool):  # a bool is an int to Python, but not a count
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return value


def format_number(value: float) -> str:
    """A number in running text or on a chart: thousands separated, at most one decimal,
    none for a whole number (1,234; 10.5; 0)."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Table:
    """A table with a caption; `key` names it in JSON and in the HTML's ids."""

    key: str
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str | None = None
    """What a reader must know to read it right (small numbers, machine opens)."""
    empty: str = "Nothing recorded yet."
    """Said instead of the table when it has no rows: what would fill it, and the
    command that records it (`code` in backticks)."""

    def numeric(self, column: int) -> bool:
        """Whether a column holds numbers (right-aligned)."""
        values = [row[column] for row in self.rows if row[column] is not None]
        return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


@dataclass(frozen=True)
class Chart:
    """Horizontal bars, one per label: `values` in `unit`, an optional `reference` line
    (100% of target). `table` holds the same data, for readers who cannot see the picture."""

    key: str
    title: str
    description: str
    """One sentence saying what the chart shows: its text alternative."""
    labels: tuple[str, ...]
    values: tuple[float, ...]
    unit: str
    table: Table
    reference: float | None = None
    suffix: str = ""
    """Written after each value on the chart ("%")."""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class Part:
    """One campaign's sections (a unit report has one part per campaign)."""

    campaign: str
    title: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator's value as of the report date: a row of indicators.csv."""

    campaign: str
    aim: str
    objective: str
    indicator: str
    metric: str
    level: str
    baseline: float
    target: float
    by: date
    value: float | None
    projected: float | None
    status: str
    observations: int
    as_of: date


@dataclass(frozen=True)
class ReachValue:
    """One metric's reach in one audience × language × channel: a row of reach.csv
    (audience, language and channel empty for records about the campaign as a whole)."""

    campaign: str
    audience: str | None
    language: str | None
    channel: str | None
    metric: str
    value: float
    deliveries: int


@dataclass(frozen=True)
class Report:
    title: str
    unit: str
    language: str
    generated_at: datetime
    as_of: date
    period: tuple[date, date] | None
    overview: Section | None
    """A unit report's summary across campaigns; None for one campaign."""
    parts: tuple[Part, ...]
    indicators: tuple[IndicatorValue, ...] = ()
    reach: tuple[ReachValue, ...] = ()
    notes: tuple[str, ...] = field(default=())
    """Lines about how the report itself was made (no charts without matplotlib)."""

    def as_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data (dates as ISO strings)."""
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
