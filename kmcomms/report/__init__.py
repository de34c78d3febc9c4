"""Reports: what a campaign (or a unit's campaigns over a period) achieved, from evaluations.

    report = build_campaign_report(...)            # kmcomms.report.build: evaluations → Report
    report_format("html").render(report)           # kmcomms.report.formats: the registry

The `Report` (kmcomms.report.model) is plain data; each format (html, markdown, tables
for csv, data for json: one module each) only lays it out.
May import: errors, files, logs, campaign, plan, translations, ledger, channels (mail),
reach, evaluate.
"""
