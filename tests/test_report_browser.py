"""The HTML report in headless Chromium: it renders with no console messages, every chart
is drawn, every table is readable (caption, header cells), and the page passes the
accessibility basics. The screenshot is kept in build/test-artefacts/report/ for a person
to look at."""

from __future__ import annotations

from pathlib import Path

from browser import ARTEFACTS, open_page, page_problems, require_chromium
from conftest import make_workspace, run_cli, write_campaign
from test_report import AS_OF, CAMPAIGN, NOW, make_ledger
from workspaces import write_translations

import kmcomms.cli.report  # noqa: F401  (registers `kmcomms report`)


def test_the_html_report_renders_in_a_browser(tmp_path: Path) -> None:
    require_chromium()
    root = make_workspace(tmp_path / "unit")
    write_campaign(root, CAMPAIGN, name="mmr", files={})
    write_translations(root, {"ur": "UR "})
    make_ledger(root, f"sqlite:///{tmp_path / 'ledger.db'}")
    target = tmp_path / "report.html"
    code, _, err = run_cli("--now", NOW, "report", "-w", root, "mmr", "--as-of", AS_OF, "-o", target)
    assert code == 0, err

    page = open_page(target, screenshot=ARTEFACTS / "report" / "campaign.png", height=2400)

    assert page.console_errors == []
    # The report is one document with no site navigation: header, nav, main, footer all present.
    assert page_problems(page.dom) == []
    dom = page.dom
    assert dom.count("<svg") == dom.count("<figure") == 5  # the progress chart and one per reach metric
    assert dom.count("<table>") == dom.count("<caption>") > 0
    assert dom.count('<th scope="col"') >= dom.count("<table>")
    assert (ARTEFACTS / "report" / "campaign.png").stat().st_size > 0
