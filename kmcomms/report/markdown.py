"""The report as Markdown: the same sections as the HTML, charts given as their tables."""

from __future__ import annotations

from kmcomms.report.formats import ReportFormat
from kmcomms.report.model import Report, Section, Table, format_cell

__all__ = ["FORMAT", "byline", "markdown"]


def markdown(report: Report) -> str:
    """The whole report as one Markdown document (GitHub-flavoured tables)."""
    lines = [f"# {report.title}", "", byline(report), ""]
    lines += [f"> {note}" for note in report.notes]
    if report.notes:
        lines.append("")
    if report.overview is not None:
        lines += _section(report.overview, 2)
    nested = len(report.parts) > 1 or report.overview is not None
    for part in report.parts:
        if nested:
            lines += [f"## {part.title}", ""]
        for section in part.sections:
            lines += _section(section, 3 if nested else 2)
    return "\n".join(lines).rstrip() + "\n"


def byline(report: Report) -> str:
    """Unit, period, as-of date and when it was made, on one line."""
    period = f"{report.period[0]} to {report.period[1]}" if report.period else None
    return " · ".join(
        filter(
            None, (report.unit, period, f"as of {report.as_of}", f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC")
        )
    )


def _section(section: Section, level: int) -> list[str]:
    lines = ["#" * level + " " + section.title, ""]
    for paragraph in section.paragraphs:
        lines += [paragraph, ""]
    for chart in section.charts:
        lines += [f"*{chart.title}*: {chart.description}", ""]
        lines += _table(chart.table)
    for table in section.tables:
        lines += _table(table)
    return lines


def _table(table: Table) -> list[str]:
    if not table.rows:
        return [f"**{_escape(table.caption)}**: {table.empty}", ""]
    lines = [f"**{_escape(table.caption)}**", ""]
    lines.append("| " + " | ".join(_escape(c) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if table.numeric(i) else "---" for i in range(len(table.columns))) + "|")
    lines += ["| " + " | ".join(_escape(format_cell(v)) for v in row) + " |" for row in table.rows]
    lines.append("")
    if table.note:
        lines += [f"*{_escape(table.note)}*", ""]
    return lines


def _escape(text: str) -> str:
    """Text safe inside a table cell: a pipe or a newline would break the row."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


FORMAT = ReportFormat("md", ".md", "text/markdown", render=markdown, scheduled=True)
