"""`kmcomms report` on a real workspace and a real ledger (SQLite and PostgreSQL), in every
format. The ledger's rows are written here by hand, and every figure checked is worked out
by hand below from those rows, never by the code under test."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import make_workspace, run_cli, write_campaign
from sqlalchemy import insert
from workspaces import write_translations

from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries, evidence, publications, reach_samples

NOW = "2027-04-06T08:00Z"
AS_OF = "2027-04-05"

CAMPAIGN = """\
title: MMR conversations
owner: comms@example.org
timezone: Europe/London
language: en
starts: 2027-01-11
ends: 2027-03-31
aims:
  - id: uptake
    statement: More parents hear clinicians answer their questions
    objectives:
      - id: parents-hear
        statement: Parents hear clinicians
        audiences: [parents]
        indicators:
          - {id: views, metric: views, level: output, target: 100, by: 2027-03-31}
          - {id: clicks, metric: clicks, level: outtake, channels: [newsletter], target: 50, by: 2027-03-31}
      - id: clinicians-know
        statement: Clinicians know the findings
        audiences: [clinicians]
        indicators:
          - {id: briefed, metric: recipients, level: output, target: 8, by: 2027-02-28}
assumptions:
  - Parents trust clinicians more than leaflets
audiences:
  parents:
    name: Parents and carers
    kind: public
    languages: [en, ur]
    intent: act
    reading_age: 11
    needs: [offline]
    channels: [blog, newsletter]
  clinicians:
    name: Practice nurses
    kind: clinicians
    languages: [en]
    intent: understand
    channels: [blog]
  commissioners:
    name: Commissioners
    kind: policy
    languages: [en]
    intent: act
    channels: [blog]
messages:
  - id: launch
    audiences: [parents, clinicians]
    at: 2027-01-12 09:00
    title: The films are out
    body: Clinicians answer what parents ask most.
"""

LATER = (
    CAMPAIGN.replace("title: MMR conversations", "title: Flu later")
    .replace("starts: 2027-01-11", "starts: 2027-06-01")
    .replace("ends: 2027-03-31", "ends: 2027-08-31")
    .replace("2027-01-12 09:00", "2027-06-02 09:00")
    .replace("by: 2027-03-31", "by: 2027-08-31")
    .replace("by: 2027-02-28", "by: 2027-08-31")
)

# Deliveries: (id, audience, language, channel, state).
DELIVERIES = [
    ("d1", "parents", "en", "blog", "published"),
    ("d2", "parents", "ur", "blog", "published"),
    ("d3", "parents", "en", "newsletter", "published"),
    ("d4", "parents", "ur", "newsletter", "failed"),
    ("d5", "clinicians", "en", "blog", "published"),
]


def at(day: str, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(minutes=minute)


# Reach samples: (delivery, metric, value, observed_at, source, quality).
SAMPLES = [
    ("d1", "views", 30, at("2027-01-12"), "api", None),
    ("d1", "views", 70, at("2027-01-20"), "api", None),
    ("d1", "views", 70, at("2027-01-20"), "api", None),  # the same reading sent twice: once
    ("d2", "views", 20, at("2027-01-15"), "api", None),
    ("d2", "views", 45, at("2027-04-10"), "api", None),  # after the as-of date: not counted
    ("d3", "recipients", 40, at("2027-01-12"), "api", None),
    ("d3", "opens", 30, at("2027-01-14"), "api", "opens include machine opens"),
    *[("d3", "clicks", 1, at("2027-01-12", k), "tracking", None) for k in range(12)],  # 12 events add up
    ("d5", "views", 9, at("2027-01-13"), "api", None),
    (None, "views", 10, at("2027-02-01"), "manual", None),  # leaflets read at an event: add up
    (None, "views", 15, at("2027-02-02"), "manual", None),
    (None, "recipients", 8, at("2027-01-13"), "manual", None),
]
# By hand, as of the end of 2027-04-05:
#   views (parents, any channel; campaign-wide records count, no filter of its own):
#     d1 latest 70 + d2 20 (45 came later) + manual 10 + 15 = 115 ≥ 100 → met
#   clicks (newsletter, parents): 12 tracking events = 12 < 50, deadline 31 March passed → missed
#   briefed (recipients, clinicians): d5 has none; campaign-wide 8 → 8 ≥ 8 → met
#   objectives: parents-hear = worst(met, missed) = missed; clinicians-know = met
#   reach: parents/en/blog views 70, parents/ur/blog views 20, parents/en/newsletter clicks 12,
#     opens 30, recipients 40, clinicians/en/blog views 9, campaign-wide views 25, recipients 8
#   gaps: commissioners have no deliveries
#   clicks per recipient on the newsletter 12/40 = 0.3 (40 ≥ 30: not small numbers);
#   views per listing on the blog (d1, d2, d5 published) (70+20+9)/3 = 33 (3 < 30: small numbers)
#   health: 4 published, 1 failed


def make_ledger(root: Path, url: str, campaign: str = "mmr") -> None:
    settings = root / "kmcomms.toml"
    settings.write_text(settings.read_text().replace('url = "sqlite:///kmcomms.db"', f'url = "{url}"'))
    engine = open_store(url, root)
    due = at("2027-01-12 09:00")
    with engine.begin() as db:
        db.execute(
            insert(deliveries),
            [
                {
                    "id": i,
                    "campaign": campaign,
                    "message": "launch",
                    "occurrence": "o1",
                    "audiences": a,
                    "language": lang,
                    "channel": ch,
                    "due_at": due,
                    "timezone": "Europe/London",
                    "state": state,
                    "attempts": 1,
                    "planned_at": due - timedelta(days=1),
                    "updated_at": due,
                }
                for i, a, lang, ch, state in DELIVERIES
            ],
        )
        db.execute(
            insert(publications),
            [
                {
                    "delivery_id": i,
                    "remote_id": f"r-{i}",
                    "url": f"https://example.org/{i}",
                    "published_at": due,
                    "content_hash": "0" * 64,
                }
                for i, *_, state in DELIVERIES
                if state == "published"
            ],
        )
        db.execute(
            insert(reach_samples),
            [
                {
                    "delivery_id": d,
                    "campaign": campaign,
                    "metric": m,
                    "value": v,
                    "observed_at": t,
                    "source": s,
                    "quality": q,
                }
                for d, m, v, t, s, q in SAMPLES
            ],
        )
        db.execute(
            insert(evidence),
            [
                {
                    "campaign": campaign,
                    "kind": "citation-in-clinical-guidelines",
                    "title": "Cited in the regional guideline",
                    "happened_on": at("2027-03-01"),
                    "source": "Overton",
                    "url": "https://example.org/guideline",
                    "notes": None,
                }
            ],
        )
    engine.dispose()


@pytest.fixture
def unit(tmp_path: Path, store_url: str) -> Path:
    root = make_workspace(tmp_path / "unit")
    write_campaign(root, CAMPAIGN, name="mmr", files={})
    write_translations(root, {"ur": "UR "})
    make_ledger(root, store_url)
    return root


def report(root: Path, *args: str | Path) -> tuple[int, str, str]:
    return run_cli("--now", NOW, "report", "-w", root, *args)


def test_json_report_has_the_hand_worked_figures(unit: Path) -> None:
    code, out, err = report(unit, "mmr", "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    values = {row["indicator"]: (row["value"], row["status"]) for row in data["indicators"]}
    assert values == {"views": (115, "met"), "clicks": (12, "missed"), "briefed": (8, "met")}
    [part] = data["parts"]
    sections = {s["key"]: s for s in part["sections"]}
    assert list(sections) == [
        "summary",
        "theory-of-change",
        "reach",
        "results",
        "channels",
        "influence",
        "inclusion",
        "learning",
        "methods",
    ]
    objectives = {row[0]: row[2] for row in sections["summary"]["tables"][0]["rows"]}
    assert objectives == {"parents-hear": "missed", "clinicians-know": "met"}
    reach = {(r["audience"], r["language"], r["channel"], r["metric"]): r["value"] for r in data["reach"]}
    assert reach == {
        ("clinicians", "en", "blog", "views"): 9,
        ("parents", "en", "blog", "views"): 70,
        ("parents", "en", "newsletter", "clicks"): 12,
        ("parents", "en", "newsletter", "opens"): 30,
        ("parents", "en", "newsletter", "recipients"): 40,
        ("parents", "ur", "blog", "views"): 20,
        (None, None, None, "recipients"): 8,
        (None, None, None, "views"): 25,
    }
    tables = {t["key"]: t for s in part["sections"] for t in s["tables"]}
    assert tables["gaps"]["rows"] == [["commissioners", "(all languages)", "no deliveries", 0]]
    assert tables["health"]["rows"] == [["published", 4], ["failed", 1]]
    rates = {(r[0], r[1]): (r[4], r[6]) for r in tables["channel-rates"]["rows"]}
    assert rates[("newsletter", "clicks per recipient")] == (0.3, "")
    assert rates[("blog", "views per listing")] == (33.0, "small numbers")
    assert tables["evidence"]["rows"][0][:3] == [
        "citation in clinical guidelines",
        "2027-03-01",
        "Cited in the regional guideline",
    ]
    [urdu] = tables["translations"]["rows"]
    assert urdu[0] == "ur" and urdu[1] == urdu[2] == urdu[3] > 0 and urdu[4:] == [0, 0, 1]  # d2 only: d4 failed
    assert "Data caveat: opens include machine opens." in sections["channels"]["paragraphs"]


def test_html_report_is_self_contained_with_charts_and_accessible_tables(unit: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    code, _, err = report(unit, "mmr", "--as-of", AS_OF, "-o", target)
    assert code == 0, err
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en"' in page
    for title in (
        "Summary",
        "Campaign and theory of change",
        "Reach and equity",
        "Results by AMEC level",
        "Channel performance",
        "Policy and practice influence",
        "Accessibility and inclusion",
        "Learning: what worked",
        "Methods, data sources and limitations",
    ):
        assert f">{title}</h2>" in page
    # Charts: progress, then one per reach metric (views, clicks, opens, recipients), all inline.
    assert page.count("<svg ") == page.count("<figure") == 5
    assert page.count("<figcaption>") == 5 and "@media print" in page
    assert page.count("<table>") == page.count("<caption>")
    assert 'scope="col"' in page and 'scope="row"' in page
    # No requests of any kind: every href and src is a fragment (or the empty icon), no CSS import.
    assert re.findall(r'(?:src|href)="(?!#|data:,")', page) == [] and "@import" not in page and "url(http" not in page
    assert '<td class="num">115</td>' in page and 'data-status="missed"' in page


def test_markdown_report_has_every_section_and_table(unit: Path) -> None:
    code, out, err = report(unit, "mmr", "--as-of", AS_OF, "--format", "md")
    assert code == 0, err
    assert out.startswith("# MMR conversations: evaluation report\n")
    assert "## Reach and equity" in out and "## Methods, data sources and limitations" in out
    assert "| views | parents-hear | views | 0 | 100 | 2027-03-31 | 115 | – | met | 4 |" in out
    assert "| commissioners | (all languages) | no deliveries | 0 |" in out


def test_csv_writes_tidy_indicator_and_reach_tables(unit: Path, tmp_path: Path) -> None:
    code, _, err = report(unit, "mmr", "--as-of", AS_OF, "--format", "csv", "-o", tmp_path / "csv")
    assert code == 0, err
    with (tmp_path / "csv" / "indicators.csv").open(newline="") as f:
        indicators = list(csv.DictReader(f))
    assert [(r["indicator"], r["value"], r["status"], r["by"]) for r in indicators] == [
        ("views", "115", "met", "2027-03-31"),
        ("clicks", "12", "missed", "2027-03-31"),
        ("briefed", "8", "met", "2027-02-28"),
    ]
    # views: the latest running total of d1 and of d2 (one reading each), two manual records
    assert indicators[0]["observations"] == "4"
    with (tmp_path / "csv" / "reach.csv").open(newline="") as f:
        reach = list(csv.DictReader(f))
    assert len(reach) == 8
    assert {
        "campaign": "mmr",
        "audience": "parents",
        "language": "ur",
        "channel": "blog",
        "metric": "views",
        "value": "20",
        "deliveries": "1",
    } in reach


def test_as_of_earlier_counts_only_what_was_seen_by_then(unit: Path) -> None:
    # By the end of 2027-01-14: d1's first reading, 30; d2's came on the 15th, the manual
    # views in February.
    code, out, err = report(unit, "mmr", "--as-of", "2027-01-14", "--format", "json")
    assert code == 0, err
    values = {row["indicator"]: row["value"] for row in json.loads(out)["indicators"]}
    assert values["views"] == 30


def test_unit_report_covers_the_campaigns_running_in_the_period(unit: Path) -> None:
    write_campaign(unit, LATER, name="later", files={})
    code, out, err = report(unit, "--unit", "--from", "2027-01-01", "--to", "2027-04-05", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [p["campaign"] for p in data["parts"]] == ["mmr"]
    assert data["period"] == ["2027-01-01", "2027-04-05"]
    [row] = data["overview"]["tables"][0]["rows"]
    # Campaign, objectives, met, on track, too early, at risk, missed, no data, published, evidence
    assert row == ["MMR conversations", 2, 1, 0, 0, 0, 1, 0, 4, 1]
    code, out, err = report(unit, "--unit", "--from", "2027-01-01", "--to", "2027-09-01", "--format", "md")
    assert code == 0, err
    assert "## MMR conversations" in out and "## Flu later" in out and "### Reach and equity" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "name one CAMPAIGN"),
        (("mmr", "--unit"), "name one CAMPAIGN"),
        (("nope",), 'no valid campaign "nope"'),
        (("mmr", "--format", "csv"), "give -o FOLDER"),
        (("mmr", "--from", "2027-01-01"), "--from and --to are for --unit"),
        (("--unit", "--from", "2027-05-01", "--to", "2027-01-01"), "is after --to"),
    ],
)
def test_wrong_usage_is_one_line_and_exit_2(unit: Path, args: tuple[str, ...], says: str) -> None:
    code, out, err = report(unit, *args)
    assert code == 2 and out == ""
    assert says in err and err.count("\n") == 1
