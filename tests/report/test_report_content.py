"""What a report says and how its HTML is built, as a unit lead meets it: no projection
from too little data, summaries that agree with their tables, empty sections that say
what would fill them, words a person reads (no backticks, no "(whole campaign) · –"),
ids unique in the page, figures with their caption first, charts that never cut a label
or leave an empty frame, and `report --unit` with no dates in any workspace."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import make_workspace, run_cli, write_campaign
from test_report import CAMPAIGN, LATER, make_ledger, report
from workspaces import write_translations

from kmcomms.report.charts import svg
from kmcomms.report.model import Chart, Table

REPO = Path(__file__).resolve().parents[2]
VNU_JAR = Path(__file__).resolve().parents[1] / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """test_report's workspace and ledger, on SQLite (test_report runs both databases)."""
    root = make_workspace(tmp_path / "unit")
    write_campaign(root, CAMPAIGN, name="mmr", files={})
    write_translations(root, {"ur": "UR "})
    make_ledger(root, f"sqlite:///{tmp_path / 'ledger.db'}")
    return root


# ----------------------------------------------------------------------------- parsing


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    """Every id, every reference to one, each figure's child elements, and the text a
    reader sees (not inside <svg>, <style> or <code>)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.references: list[str] = []
        self.figures: list[list[str]] = []
        self.text: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        for name, value in attrs:
            if value and name in ("href", "xlink:href") and value.startswith("#"):
                self.references.append(value[1:])
            self.references += re.findall(r"url\(#([^)]+)\)", value or "")
        if self._stack and self._stack[-1] == "figure":
            self.figures[-1].append(tag)
        if tag == "figure":
            self.figures.append([])
        if tag not in _VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # <path … /> in SVG
        before = list(self._stack)
        self.handle_starttag(tag, attrs)
        self._stack = before

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not {"svg", "style", "code", "title"} & set(self._stack):
            self.text.append(data)


def page(text: str) -> _Page:
    parsed = _Page()
    parsed.feed(text)
    parsed.close()
    return parsed


def tables(part: dict) -> dict[str, dict]:
    return {t["key"]: t for s in part["sections"] for t in [*s["tables"], *(c["table"] for c in s["charts"])]}


def strings(data: object) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    return []


# ------------------------------------------------------------------ too early to project


def test_one_day_of_data_is_too_early_to_project(unit: Path, tmp_path: Path) -> None:
    # As of the end of 12 January, a day after the start: d1's first 30 views and 12
    # tracked clicks. The old straight line made 30 views in a day 1,200 by 31 March:
    # "on track". A trend is projected once 14 days and a quarter of the time have passed:
    # start 11 January 00:00 GMT, deadline 31 March 23:00 UTC (end of the day in BST),
    # 79 days 23 hours; a quarter is 19 days 23 h 45 min: 30 January 23:45, London time.
    code, out, err = report(unit, "mmr", "--as-of", "2027-01-12", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    found = {row["indicator"]: (row["value"], row["projected"], row["status"]) for row in data["indicators"]}
    assert found == {
        "views": (30, None, "too early"),
        "clicks": (12, None, "too early"),
        "briefed": (None, None, "no data"),
    }
    [part] = data["parts"]
    summary = part["sections"][0]["paragraphs"]
    assert "Headline: views 30 of 100 (too early to project; a trend is projected from 2027-01-30)." in summary
    assert tables(part)["objectives"]["rows"][0][2] == "too early"
    results = tables(part)["level-output"]
    assert "Too early to project yet: views from 2027-01-30." in results["note"]
    # The CSV says the same as the JSON.
    code, _, err = report(unit, "mmr", "--as-of", "2027-01-12", "--format", "csv", "-o", tmp_path / "csv")
    assert code == 0, err
    with (tmp_path / "csv" / "indicators.csv").open(newline="") as f:
        assert {r["indicator"]: (r["projected"], r["status"]) for r in csv.DictReader(f)} == {
            "views": ("", "too early"),
            "clicks": ("", "too early"),
            "briefed": ("", "no data"),
        }


# ------------------------------------------------------- summaries agree with the details

_SUMMARY = re.compile(r"(\d+) objectives?: (.+); (\d+) of (\d+) indicators? measured so far\.")
_WORDS = {"too early to project": "too early"}


def _counted(words: str) -> Counter[str]:
    """ "1 met, 2 too early to project" → {"met": 1, "too early": 2}."""
    found: Counter[str] = Counter()
    for part in words.split(", "):
        number, _, status = part.partition(" ")
        found[_WORDS.get(status, status)] = int(number)
    return found


def _check_summary(part: dict, indicators: list[dict]) -> None:
    first = part["sections"][0]["paragraphs"][0]
    matched = _SUMMARY.fullmatch(first)
    assert matched, first
    rows = tables(part)["objectives"]["rows"]
    assert int(matched[1]) == len(rows)
    assert _counted(matched[2]) == Counter(row[2] for row in rows)
    own = [i for i in indicators if i["campaign"] == part["campaign"]]
    assert (int(matched[3]), int(matched[4])) == (sum(i["value"] is not None for i in own), len(own))
    # The Measured column counts the same indicators per objective.
    for row in rows:
        mine = [i for i in own if i["objective"] == row[0]]
        assert row[3] == f"{sum(i['value'] is not None for i in mine)} of {len(mine)}"
    # Each headline names its indicator's status as the indicator table has it.
    statuses = {i["indicator"]: i["status"] for i in own}
    for paragraph in part["sections"][0]["paragraphs"]:
        if paragraph.startswith("Headline: "):
            name = paragraph.split(" ")[1]
            assert f"({statuses[name]}" in paragraph.replace("too early to project", "too early")


@pytest.mark.parametrize("as_of", ["2027-01-12", "2027-02-01", "2027-04-05"])
def test_the_summary_counts_what_its_tables_show(unit: Path, as_of: str) -> None:
    code, out, err = report(unit, "mmr", "--as-of", as_of, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    _check_summary(data["parts"][0], data["indicators"])


def test_the_unit_overview_adds_up_its_table(unit: Path) -> None:
    write_campaign(unit, LATER, name="later", files={})
    code, out, err = report(unit, "--unit", "--from", "2027-01-01", "--to", "2027-09-01", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    overview = data["overview"]
    table = overview["tables"][0]
    counts = Counter(
        {
            status: sum(row[k] for row in table["rows"])
            for k, status in enumerate(table["columns"])
            if k >= 2 and k < len(table["columns"]) - 2
        }
    )
    matched = re.fullmatch(
        r"(\d+) campaigns? active between \S+ and \S+, with (\d+) objectives?: (.+)\.", overview["paragraphs"][0]
    )
    assert matched, overview["paragraphs"][0]
    assert int(matched[1]) == len(table["rows"]) == len(data["parts"]) == 2
    assert int(matched[2]) == sum(row[1] for row in table["rows"])
    assert _counted(matched[3]) == +counts
    for part in data["parts"]:
        _check_summary(part, data["indicators"])


# ----------------------------------------------------------------- words a person reads


def test_an_empty_ledger_says_what_would_fill_each_section(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "unit")
    write_campaign(root, CAMPAIGN, name="mmr", files={})
    code, out, err = report(root, "mmr", "--format", "json")
    assert code == 0, err
    [part] = json.loads(out)["parts"]
    empty = {key: t["empty"] for key, t in tables(part).items() if not t["rows"]}
    assert {
        "reach",
        "health",
        "channel-rates",
        "channel-health",
        "evidence",
        "language-rates",
        "audience-rates",
        "sources",
    } <= set(empty)
    # Each says what fills it; those the user fills name the command that does.
    assert "Nothing recorded yet." not in empty.values()
    for key in ("reach", "channel-rates", "evidence", "sources", "health"):
        assert "`kmcomms " in empty[key], (key, empty[key])
    assert "--campaign mmr --kind KIND" in empty["evidence"]
    for fmt in ("md", "html"):
        code, out, err = report(root, "mmr", "--format", fmt)
        assert code == 0, err
        assert "None." not in out
    html = page(out)
    seen = " ".join(html.text)
    assert "`" not in seen  # the commands are <code>, not Markdown left as it was
    assert "<code>kmcomms evidence add --campaign mmr --kind KIND --title TITLE --date YYYY-MM-DD</code>" in out
    assert "<table>" in out and out.count("<table>") == out.count("<caption>")


def test_reach_recorded_for_the_whole_campaign_is_named_in_words(unit: Path) -> None:
    code, out, err = report(unit, "mmr", "--as-of", "2027-04-05", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    said = strings(data["parts"])
    assert not [s for s in said if "· –" in s or "(whole campaign)" in s]
    reach_views = tables(data["parts"][0])["reach-views"]["rows"]
    assert ["whole campaign", 25] in reach_views and ["parents · en", 70] in reach_views


# -------------------------------------------------------------------- HTML's structure


def test_html_ids_are_unique_and_figures_have_their_caption_first(unit: Path, tmp_path: Path) -> None:
    write_campaign(unit, LATER, name="later", files={})
    for args in (("mmr", "--as-of", "2027-04-05"), ("--unit", "--from", "2027-01-01", "--to", "2027-09-01")):
        code, out, err = report(unit, *args, "--format", "html")
        assert code == 0, err
        parsed = page(out)
        duplicates = [name for name, n in Counter(parsed.ids).items() if n > 1]
        assert duplicates == [], args
        assert set(parsed.references) <= set(parsed.ids)  # every clip path and marker found
        assert out.count("<svg ") == len(parsed.figures) > 0
        for children in parsed.figures:
            assert children[0] == "figcaption" and "figcaption" not in children[1:], children


# ---------------------------------------------------------------------------- charts


def _texts(picture: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text\b[^>]*>(.*?)</text>", picture, re.DOTALL)]


def _chart(labels: tuple[str, ...], values: tuple[float, ...], **more: object) -> Chart:
    data = Table("data", "Data", ("Label", "Value"), tuple(zip(labels, values, strict=True)))
    return Chart("c", "A chart", "Its data.", labels, values, "units", data, **more)


def test_a_chart_of_zeros_has_an_axis_and_its_values() -> None:
    picture = svg(_chart(("clinician-opens",), (0.0,), reference=100.0, suffix="%"))
    assert picture is not None
    texts = _texts(picture)
    assert {"0%", "100%"} <= set(texts)  # the axis' ends...
    assert texts.count("0%") == 2  # ...and the bar's value beside the label
    nothing = svg(_chart(("MMR", "Flu"), (0.0, 0.0)))
    assert nothing is not None and {"0", "1"} <= set(_texts(nothing)) and _texts(nothing).count("0") == 3


def test_long_labels_wrap_whole_and_ids_take_the_prefix() -> None:
    title = "Closing gaps in vaccine uptake: evidence for commissioners and Parliament"
    picture = svg(_chart((title, "MMR"), (3.0, 12.0)), "chart7-")
    assert picture is not None
    lines = [t for t in _texts(picture) if t not in ("3", "12", "MMR", "units") and not t.isdigit()]
    assert " ".join(lines) == title and len(lines) > 1  # wrapped, nothing cut
    parsed = page(picture)
    assert parsed.ids and all(name.startswith("chart7-") for name in parsed.ids)
    assert set(parsed.references) <= set(parsed.ids)


# ------------------------------------------------------------ report --unit's period


def _repository_workspace(folder: Path) -> Path:
    """A copy of this repository's own workspace (its ledger would be made beside it)."""
    folder.mkdir()
    shutil.copy(REPO / "kmcomms.toml", folder)
    for name in ("campaigns", "translations"):
        shutil.copytree(REPO / name, folder / name)
    return folder


def test_report_unit_with_no_dates_works_in_the_repository_workspace(tmp_path: Path) -> None:
    root = _repository_workspace(tmp_path / "repo")
    files = [yaml.safe_load(path.read_text()) for path in (root / "campaigns").glob("*/campaign.yaml")]
    first, last = min(str(c["starts"]) for c in files), max(str(c["ends"]) for c in files)
    assert first > "2026-12-06"  # the examples lie ahead of this day: the whole span, all planned
    code, out, err = run_cli("--now", "2026-12-06T12:00Z", "report", "-w", root, "--unit", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["period"] == [first, last]
    assert len(data["parts"]) == len(files)
    assert any("has not begun" in p for p in data["overview"]["paragraphs"])
    # Once they have begun: from the first start to today.
    code, out, err = run_cli("--now", "2027-02-01T12:00Z", "report", "-w", root, "--unit", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["period"] == [first, "2027-02-01"]


@pytest.mark.parametrize(
    ("now", "args", "period"),
    [
        # the fixture's campaign runs from 2027-01-11 to 2027-03-31
        ("2027-04-06T08:00Z", (), ["2027-01-11", "2027-04-06"]),
        ("2027-04-06T08:00Z", ("--from", "2027-02-01"), ["2027-02-01", "2027-04-06"]),
        ("2027-04-06T08:00Z", ("--to", "2027-02-01"), ["2027-01-11", "2027-02-01"]),
        ("2026-12-06T08:00Z", (), ["2027-01-11", "2027-03-31"]),
        ("2026-12-06T08:00Z", ("--from", "2027-02-01"), ["2027-02-01", "2027-03-31"]),
        ("2026-12-06T08:00Z", ("--from", "2027-05-01"), ["2027-05-01", "2027-05-01"]),
        ("2026-12-06T08:00Z", ("--to", "2027-01-05"), ["2027-01-05", "2027-01-05"]),
    ],
)
def test_a_date_given_alone_combines_with_the_other_default(
    unit: Path, now: str, args: tuple[str, ...], period: list[str]
) -> None:
    code, out, err = run_cli("--now", now, "report", "-w", unit, "--unit", *args, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["period"] == period
    if not data["parts"]:  # no campaign in the period: the overview says where they are
        [table] = data["overview"]["tables"]
        assert table["rows"] == [] and "run from 2027-01-11 to 2027-03-31" in table["empty"]


# ------------------------------------------------------------------- the Nu checker


def test_report_html_passes_the_nu_checker(unit: Path, tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None or not VNU_JAR.is_file():
        reason = "the W3C Nu checker needs Java and tests/node_modules/vnu-jar (npm ci --prefix tests)"
        if os.environ.get("KMCOMMS_REQUIRE_VALIDATORS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    write_campaign(unit, LATER, name="later", files={})
    empty = make_workspace(tmp_path / "empty")
    write_campaign(empty, CAMPAIGN, name="mmr", files={})
    outputs = []
    for root, args in (
        (unit, ("mmr", "--as-of", "2027-04-05")),
        (unit, ("mmr", "--as-of", "2027-01-12")),
        (unit, ("--unit", "--from", "2027-01-01", "--to", "2027-09-01")),
        (empty, ("mmr",)),
        (empty, ("--unit", "--to", "2026-01-01")),
    ):
        target = tmp_path / f"report-{len(outputs)}.html"
        code, _, err = report(root, *args, "-o", target)
        assert code == 0, err
        outputs.append(target)
    done = subprocess.run(
        [java, "-jar", VNU_JAR, "--errors-only", *outputs], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
