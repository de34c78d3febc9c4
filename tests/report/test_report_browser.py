"""The HTML report in headless Chromium: it renders with no console messages, every chart
is drawn, every table is readable (caption, header cells), and the page passes the
accessibility basics; in the unit report every chart label is whole and inside its chart,
as the browser lays it out. The screenshots are kept in build/test-artefacts/report/ for a
person to look at."""

from __future__ import annotations

import json
import re
from pathlib import Path

from browser import ARTEFACTS, open_page, page_problems, require_chromium
from conftest import make_workspace, run_cli, write_campaign
from test_report import AS_OF, CAMPAIGN, LATER, NOW, make_ledger
from workspaces import write_translations

#: Appended to a copy of a report: lists every chart text the browser draws outside its
#: chart (a label cut off), into <pre id="cut-off"> for the dumped DOM.
MEASURE = """<script>
const cut = [];
document.querySelectorAll("figure svg").forEach((chart, n) => {
  const outer = chart.getBoundingClientRect();
  chart.querySelectorAll("text").forEach((text) => {
    const box = text.getBoundingClientRect();
    if (box.left < outer.left - 0.5 || box.right > outer.right + 0.5 || box.top < outer.top - 0.5
        || box.bottom > outer.bottom + 0.5) cut.push(`chart ${n + 1}: ${text.textContent}`);
  });
});
const found = document.createElement("pre");
found.id = "cut-off";
found.textContent = JSON.stringify(cut);
document.body.append(found);
</script>
"""


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


def test_unit_report_charts_show_whole_labels_inside_the_picture(tmp_path: Path) -> None:
    require_chromium()
    root = make_workspace(tmp_path / "unit")
    write_campaign(root, CAMPAIGN, name="mmr", files={})
    long_title = "Closing gaps in vaccine uptake: evidence for commissioners, councils and Parliament"
    write_campaign(root, LATER.replace("title: Flu later", f'title: "{long_title}"'), name="later", files={})
    make_ledger(root, f"sqlite:///{tmp_path / 'ledger.db'}")
    target = tmp_path / "unit.html"
    code, _, err = run_cli(
        "--now", NOW, "report", "-w", root, "--unit", "--from", "2027-01-01", "--to", "2027-09-01", "-o", target
    )
    assert code == 0, err
    measured = tmp_path / "measured.html"
    measured.write_text(target.read_text().replace("</body>", MEASURE + "</body>"))

    page = open_page(measured, screenshot=ARTEFACTS / "report" / "unit.png", height=2400)

    assert page.console_errors == []
    [cut] = re.findall(r'<pre id="cut-off">(.*?)</pre>', page.dom, re.DOTALL)
    assert json.loads(cut.replace("&quot;", '"')) == []
    # The published-per-campaign chart names each campaign in full (wrapped, never shortened).
    overview = page.dom[page.dom.index('id="published"') :]
    drawing = overview[: overview.index("</svg>")]
    texts = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text\b[^>]*>(.*?)</text>", drawing, re.DOTALL)]
    assert long_title.replace("&", "&amp;") in " ".join(texts) or long_title in " ".join(texts)
    assert "…" not in "".join(texts)
