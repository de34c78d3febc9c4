"""The report's tidy tables as CSV: one row per observation, for a spreadsheet or R/pandas.

`indicators.csv`: one row per indicator (its value as of the report date against baseline
and target); `reach.csv`: one row per campaign × audience × language × channel × metric.
"""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from pathlib import Path

from kmcomms.report.formats import ReportFormat
from kmcomms.report.model import IndicatorValue, ReachValue, Report

__all__ = ["FORMAT", "indicators_csv", "reach_csv", "write_csv"]


def _csv(kind: type, rows: tuple[object, ...]) -> str:
    names = [f.name for f in fields(kind)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_value(getattr(row, name)) for name in names])
    return buffer.getvalue()


def _value(value: object) -> object:
    # Whole numbers without ".0": counts read back as integers in a spreadsheet.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def indicators_csv(report: Report) -> str:
    return _csv(IndicatorValue, report.indicators)


def reach_csv(report: Report) -> str:
    return _csv(ReachValue, report.reach)


def write_csv(report: Report, folder: Path) -> list[Path]:
    """Write indicators.csv and reach.csv into `folder` (made if missing); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("indicators.csv", indicators_csv(report)), ("reach.csv", reach_csv(report))):
        path = folder / name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    return written


FORMAT = ReportFormat(
    "csv", ".csv", "text/csv", write_folder=write_csv, folder_of="two files (indicators.csv, reach.csv)"
)
