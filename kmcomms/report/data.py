"""The report as JSON: its data (`Report.as_dict`), for other tools to read."""

from __future__ import annotations

import json

from kmcomms.report.formats import ReportFormat
from kmcomms.report.model import Report

__all__ = ["FORMAT", "json_text"]


def json_text(report: Report) -> str:
    """The report's data as one JSON document, indented, not escaped to ASCII."""
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"


FORMAT = ReportFormat("json", ".json", "application/json", render=json_text)
