"""Reports: what a campaign (or a unit's campaigns over a period) achieved, from evaluations.

    report = build_campaign_report(...)            # kmcomms.report.build: evaluations → Report
    html(report) / markdown(report) / report.as_dict() / write_csv(report, folder)

The `Report` (kmcomms.report.model) is plain data; each format only lays it out.
May import: errors, files, logs, campaign, plan, translations, ledger, channels (mail),
reach, evaluate.
"""
