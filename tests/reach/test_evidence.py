"""Evidence records: `kmcomms evidence add` checked (one clear line, nothing stored when
wrong), listed, and exported in the shape of Researchfish's influence section."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import VALID_CAMPAIGN, RunCli, write_campaign

from kmcomms.ledger.store import open_store
from kmcomms.reach.records import KINDS, list_evidence

NOW = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)
AT = ("--now", NOW.isoformat())
WITH_AWARDS = VALID_CAMPAIGN.replace(
    "aims:", "outputs:\n  - award: NIHR200929\n  - doi: 10.1234/x\n  - award: NIHR300001\naims:", 1
)


@pytest.fixture
def unit(workspace: Path, store_url: str) -> Path:
    settings_path = workspace / "kmcomms.toml"
    settings_path.write_text(settings_path.read_text().replace('url = "sqlite:///kmcomms.db"', f'url = "{store_url}"'))
    write_campaign(workspace, WITH_AWARDS)
    write_campaign(
        workspace, VALID_CAMPAIGN.replace("title: Conversations", "id: other\ntitle: Conversations"), name="other"
    )
    return workspace


def records(root: Path, store_url: str) -> list[dict[str, object]]:
    engine = open_store(store_url, root)
    try:
        return list_evidence(engine)
    finally:
        engine.dispose()


def add(kmcomms: RunCli, root: Path, *args: str) -> tuple[int, str, str]:
    return kmcomms(*AT, "evidence", "add", "-w", root, *args)


CITATION = (
    "--campaign",
    "example",
    "--kind",
    "policy-citation",
    "--title",
    "UKHSA guidance on school vaccination",
    "--date",
    "2027-02-01",
    "--source",
    "UKHSA",
    "--url",
    "https://www.gov.uk/guidance/x",
    "--notes",
    "Cites the trial's uptake figures",
)


def test_evidence_is_added_listed_and_exported_for_researchfish(
    unit: Path, store_url: str, kmcomms: RunCli, tmp_path: Path
) -> None:
    assert add(kmcomms, unit, *CITATION) == (
        0,
        "stored evidence 1: Citation in other policy documents, 2027-02-01\n",
        "",
    )
    code, out, _ = add(
        kmcomms,
        unit,
        "--campaign",
        "example",
        "--kind",
        "media-coverage",
        "--title",
        "BBC Radio Leeds",
        "--date",
        "2027-01-20",
        "--format",
        "json",
    )
    assert (code, json.loads(out)) == (0, {"id": 2})
    assert (
        add(
            kmcomms,
            unit,
            "--campaign",
            "other",
            "--kind",
            "advisory-committee",
            "--title",
            "JCVI subcommittee",
            "--date",
            "2027-02-15",
        )[0]
        == 0
    )  # today is not the future
    assert records(unit, store_url) == [
        {
            "id": 2,
            "campaign": "example",
            "kind": "media-coverage",
            "researchfish": KINDS["media-coverage"].researchfish,
            "title": "BBC Radio Leeds",
            "date": "2027-01-20",
            "source": None,
            "url": None,
            "notes": None,
        },
        {
            "id": 1,
            "campaign": "example",
            "kind": "policy-citation",
            "researchfish": "Citation in other policy documents",
            "title": "UKHSA guidance on school vaccination",
            "date": "2027-02-01",
            "source": "UKHSA",
            "url": "https://www.gov.uk/guidance/x",
            "notes": "Cites the trial's uptake figures",
        },
        {
            "id": 3,
            "campaign": "other",
            "kind": "advisory-committee",
            "researchfish": "Participation in a guidance/advisory committee",
            "title": "JCVI subcommittee",
            "date": "2027-02-15",
            "source": None,
            "url": None,
            "notes": None,
        },
    ]

    code, out, err = kmcomms("evidence", "list", "-w", unit, "--campaign", "other", "--format", "json")
    assert (code, [r["id"] for r in json.loads(out)]) == (0, [3])
    code, out, _ = kmcomms("evidence", "list", "-w", unit)
    assert code == 0 and "UKHSA guidance on school vaccination" in out and "JCVI subcommittee" in out

    target = tmp_path / "researchfish.csv"
    code, out, err = kmcomms("evidence", "export", "--researchfish", "-o", target, "-w", unit)
    assert code == 0 and out == f"wrote 2 influence records to {target}\n"
    assert err.startswith("note: 1 other record (media coverage, broadcasts, talks, or unknown kinds) belong")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its byte-order mark
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        [
            "Award reference",
            "Type",
            "Description",
            "Impact",
            "Geographic reach",
            "Year",
            "Date",
            "URL",
            "Source",
            "Campaign",
            "kmcomms id",
        ],
        [
            "NIHR200929; NIHR300001",
            "Citation in other policy documents",
            "UKHSA guidance on school vaccination",
            "Cites the trial's uptake figures",
            "",
            "2027",
            "2027-02-01",
            "https://www.gov.uk/guidance/x",
            "UKHSA",
            "example",
            "1",
        ],
        [
            "",
            "Participation in a guidance/advisory committee",
            "JCVI subcommittee",
            "",
            "",
            "2027",
            "2027-02-15",
            "",
            "",
            "other",
            "3",
        ],
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("--kind", "policy-citaton"),
            'kind "policy-citaton" is not one of the evidence kinds (did you mean "policy-citation"?)',
        ),
        (("--campaign", "exampel"), 'campaign "exampel" is not a campaign of this workspace (did you mean "example"?)'),
        (("--date", "2027-02-16"), "date 2027-02-16 is in the future (today is 2027-02-15) — record what has happened"),
        (("--date", "1 Feb 2027"), 'date "1 Feb 2027" is not a date — write YYYY-MM-DD'),
        (
            ("--url", "ftp://example.org/x"),
            'url "ftp://example.org/x" is not a web address — give an http:// or https:// address',
        ),
        (("--url", "javascript:alert(1)"), 'url "javascript:alert(1)" is not a web address'),
        (("--title", "  "), "title is empty"),
        (("--notes", "two\nlines"), "notes has a line break or control character"),
    ],
)
def test_a_bad_record_is_one_line_and_nothing_is_stored(
    unit: Path, store_url: str, kmcomms: RunCli, change: tuple[str, str], expected: str
) -> None:
    args = list(CITATION)
    args[args.index(change[0]) + 1] = change[1]
    code, out, err = add(kmcomms, unit, *args)
    assert (code, out) == (1, "")
    finding, summary = err.splitlines()
    assert finding.startswith("kmcomms evidence add: error: ") and finding.endswith("[evidence-record]")
    assert expected in finding
    assert summary == "✗ 1 problem; nothing was stored"
    assert records(unit, store_url) == []


def test_every_kind_has_researchfish_wording_and_a_section() -> None:
    assert all(
        k.slug == slug and k.researchfish and k.section in ("influence", "engagement") for slug, k in KINDS.items()
    )
    assert len({k.researchfish for k in KINDS.values()}) == len(KINDS)


def test_export_needs_its_shape_named(unit: Path, kmcomms: RunCli, tmp_path: Path) -> None:
    code, out, err = kmcomms("evidence", "export", "-o", tmp_path / "x.csv", "-w", unit)
    assert (code, out, err) == (2, "", "kmcomms: error: say the shape of the export: --researchfish\n")
    assert not (tmp_path / "x.csv").exists()
