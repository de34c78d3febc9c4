"""Reports: what a campaign (or a unit's campaigns over a period) achieved, from evaluations.

    report = build_campaign_report(...)            # kmcomms.report.build: evaluations → Report
    html(report) / markdown(report) / report.as_dict() / write_csv(report, folder)

The `Report` (kmcomms.report.model) is plain data; each format only lays it out.
"""

from kmcomms.report.html import html
from kmcomms.report.markdown import markdown
from kmcomms.report.model import (
           Chart,
           IndicatorValue,
           Part,
           ReachValue,
           Report,
           Section,
           Table,
)
from kmcomms.report.tables import indicators_csv, reach_csv, write_csv

__all__ = ["Chart", "IndicatorValue", "Part", "ReachValue", "Report", "Section", "Table", "html", "indicators_csv",
           "markdown", "reach_csv", "write_csv"]
