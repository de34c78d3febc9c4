"""Manual reach records: `kmcomms reach add` and `kmcomms reach import` checked against the
campaigns (each bad row one line, with its line number), stored whole or not at all, and
linked to a delivery only when they name exactly one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import RunCli, write_campaign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from kmcomms.campaign.load import load_paths
from kmcomms.errors import InvalidInput
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries, reach_samples
from kmcomms.reach.records import Known, read_reach

#: Mid-February in London (UTC+0 then): 2027-02-15 is today, 2027-02-16 the future.
NOW = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)
AT = ("--now", NOW.isoformat())
HEADER = "campaign,message,audience,language,channel,metric,value,date,note\n"
GOOD_ROW = "example,,parents,en,,leaflets,200,2027-02-01,\n"


def _delivery(delivery_id: str, message: str, language: str, channel: str, state: str = "published") -> dict:
    moment = datetime(2027, 1, 11, 9, tzinfo=UTC)
    return {
        "id": delivery_id,
        "campaign": "example",
        "message": message,
        "occurrence": delivery_id,
        "audiences": "parents",
        "language": language,
        "channel": channel,
        "due_at": moment,
        "timezone": "Europe/London",
        "state": state,
        "attempts": 1,
        "planned_at": moment,
        "updated_at": moment,
    }


@pytest.fixture
def unit(workspace: Path, store_url: str) -> Path:
    """The `example` campaign (parents in en and ur; launch once on blog and newsletter,
    reminder every two weeks on newsletter) in a workspace on `store_url`, with a ledger
    holding: launch in ur on blog (one delivery); reminder in en on newsletter twice (a
    repeat); launch in en on blog cancelled."""
    settings_path = workspace / "kmcomms.toml"
    settings_path.write_text(settings_path.read_text().replace('url = "sqlite:///kmcomms.db"', f'url = "{store_url}"'))
    write_campaign(workspace)
    engine = open_store(store_url, workspace)
    with engine.begin() as db:
        db.execute(
            insert(deliveries),
            [
                _delivery("d-launch-ur-blog", "launch", "ur", "blog"),
                _delivery("d-remind-1", "reminder", "en", "newsletter"),
                _delivery("d-remind-2", "reminder", "en", "newsletter", "planned"),
                _delivery("d-launch-en-blog", "launch", "en", "blog", "cancelled"),
            ],
        )
    engine.dispose()
    return workspace


def stored(root: Path) -> list[tuple]:
    engine = open_store(load_paths([root]).workspaces[0].settings.store.url, root)
    try:
        with engine.connect() as db:
            return [
                tuple(r)
                for r in db.execute(
                    select(
                        reach_samples.c.delivery_id,
                        reach_samples.c.campaign,
                        reach_samples.c.metric,
                        reach_samples.c.value,
                        reach_samples.c.observed_at,
                        reach_samples.c.source,
                        reach_samples.c.quality,
                    ).order_by(reach_samples.c.id)
                )
            ]
    finally:
        engine.dispose()


def named(root: Path) -> list[tuple]:
    """Each stored row's message, audience, language and channel, in order."""
    engine = open_store(load_paths([root]).workspaces[0].settings.store.url, root)
    try:
        with engine.connect() as db:
            return [
                tuple(r)
                for r in db.execute(
                    select(
                        reach_samples.c.message,
                        reach_samples.c.audience,
                        reach_samples.c.language,
                        reach_samples.c.channel,
                    ).order_by(reach_samples.c.id)
                )
            ]
    finally:
        engine.dispose()


def write(tmp_path: Path, text: str | bytes, name: str = "reach.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def day(d: int) -> datetime:
    """A day of February 2027, midnight UTC."""
    return datetime(2027, 2, d, tzinfo=UTC)


def test_a_record_added_on_the_command_line_is_stored_and_linked_to_its_one_delivery(
    unit: Path, kmcomms: RunCli
) -> None:
    code, out, err = kmcomms(
        *AT,
        "reach",
        "add",
        "--campaign",
        "example",
        "--metric",
        "leaflets",
        "--value",
        "500",
        "--date",
        "2027-02-10",
        "--message",
        "launch",
        "--audience",
        "parents",
        "--language",
        "ur",
        "--channel",
        "blog",
        "--note",
        "counted by the clinic",
        "-w",
        unit,
    )
    assert (code, err) == (0, "")
    assert out == "stored 1 reach record (1 linked to a delivery, the rest to their campaign)\n"
    assert stored(unit) == [
        (
            "d-launch-ur-blog",
            "example",
            "leaflets",
            500.0,
            datetime(2027, 2, 10, tzinfo=UTC),
            "manual",
            "counted by the clinic",
        )
    ]
    # Today (in the campaign's time zone) is not the future; a record needs no more than this.
    code, out, err = kmcomms(
        *AT,
        "reach",
        "add",
        "--campaign",
        "example",
        "--metric",
        "attendees",
        "--value",
        "12.5",
        "--date",
        "2027-02-15",
        "-w",
        unit,
        "--format",
        "json",
    )
    assert (code, err, json.loads(out)) == (0, "", {"stored": 1, "linked": 0})
    assert stored(unit)[1] == (None, "example", "attendees", 12.5, datetime(2027, 2, 15, tzinfo=UTC), "manual", None)


def test_an_imported_file_is_stored_whole_linking_only_records_that_name_exactly_one_delivery(
    unit: Path, kmcomms: RunCli, tmp_path: Path
) -> None:
    text = (
        "\ufeffNote,Value,Date,Metric,Channel,Language,Audience,Message,Campaign\r\n"  # any order, Excel's BOM
        "at the mosque,300,2027-02-01,leaflets,blog,ur,parents,launch,example\r\n"
        ",40,2027-02-02,attendees,newsletter,en,parents,reminder,example\r\n"  # a repeat: two deliveries
        ",7,2027-02-03,broadcasts,blog,en,parents,launch,example\r\n"  # its only delivery was cancelled
        "\r\n"
        '"radio, Urdu service",2,2027-02-04,broadcasts,,ur,,,example\r\n'
    )
    code, out, err = kmcomms(*AT, "reach", "import", write(tmp_path, text), "-w", unit)
    assert (code, err) == (0, "")
    assert out == "stored 4 reach records (1 linked to a delivery, the rest to their campaign)\n"
    assert stored(unit) == [
        ("d-launch-ur-blog", "example", "leaflets", 300.0, day(1), "manual", "at the mosque"),
        (None, "example", "attendees", 40.0, day(2), "manual", None),
        (None, "example", "broadcasts", 7.0, day(3), "manual", None),
        (None, "example", "broadcasts", 2.0, day(4), "manual", "radio, Urdu service"),
    ]
    # A campaign-wide row keeps the message, audience, language and channel it names; a
    # linked one names nothing itself (its delivery places it).
    assert named(unit) == [
        (None, None, None, None),
        ("reminder", "parents", "en", "newsletter"),
        ("launch", "parents", "en", "blog"),
        (None, None, "ur", None),
    ]


def test_the_formats_own_columns_import_and_optional_columns_may_be_left_out(
    unit: Path, kmcomms: RunCli, tmp_path: Path
) -> None:
    # The header campaign-format.md gives, word for word: no note column.
    text = (
        "campaign,message,audience,language,channel,date,metric,value\n"
        "example,launch,parents,ur,blog,2027-02-01,leaflets,300\n"
        "example,,,,,2027-02-02,attendees,40\n"
    )
    code, out, err = kmcomms(*AT, "reach", "import", write(tmp_path, text), "-w", unit)
    assert (code, err) == (0, ""), err
    assert out == "stored 2 reach records (1 linked to a delivery, the rest to their campaign)\n"
    # Only what every record needs, in another order: campaign-level records.
    code, out, err = kmcomms(
        *AT,
        "reach",
        "import",
        write(tmp_path, "value,metric,campaign,date\n12,broadcasts,example,2027-02-03\n"),
        "-w",
        unit,
    )
    assert (code, err) == (0, ""), err
    assert stored(unit) == [
        ("d-launch-ur-blog", "example", "leaflets", 300.0, day(1), "manual", None),
        (None, "example", "attendees", 40.0, day(2), "manual", None),
        (None, "example", "broadcasts", 12.0, day(3), "manual", None),
    ]
    assert named(unit)[1:] == [(None, None, None, None), (None, None, None, None)]


BAD_ROWS = [
    (
        "exmaple,,,,,leaflets,5,2027-02-01,",
        'campaign "exmaple" is not a campaign of this workspace (did you mean "example"?)',
    ),
    (",,,,,leaflets,5,2027-02-01,", "campaign is empty"),
    (
        "example,,parent,,,leaflets,5,2027-02-01,",
        'audience "parent" is not one of campaign example\'s audiences (did you mean "parents"?)',
    ),
    (
        "example,,parents,fr,,leaflets,5,2027-02-01,",
        'language "fr" is not one of the languages parents is reached in — use one of: en, ur',
    ),
    ("example,,,pl,,leaflets,5,2027-02-01,", 'language "pl" is not one of campaign example\'s languages'),
    (
        "example,,,,blgo,leaflets,5,2027-02-01,",
        'channel "blgo" is not one of the workspace\'s channels (did you mean "blog"?)',
    ),
    (
        "example,lanch,,,,leaflets,5,2027-02-01,",
        'message "lanch" is not one of campaign example\'s messages (did you mean "launch"?)',
    ),
    (
        "example,reminder,parents,en,blog,leaflets,5,2027-02-01,",
        "no delivery of message reminder to parents goes out on blog (it goes out on newsletter)",
    ),
    ("example,,,,,view,5,2027-02-01,", 'metric "view" is not counted by any indicator (did you mean "views"?)'),
    ("example,,,,,Leaflets,5,2027-02-01,", 'metric "Leaflets" is not a metric name'),
    ("example,,,,,,5,2027-02-01,", "metric is empty"),
    ("example,,,,,leaflets,-5,2027-02-01,", "value -5 is not a count — write a number of zero or more"),
    ("example,,,,,leaflets,nan,2027-02-01,", "value nan is not a count"),
    ('example,,,,,leaflets,"1,000",2027-02-01,', 'value "1,000" is not a number — write digits only'),
    ("example,,,,,leaflets,,2027-02-01,", "value is empty"),
    ("example,,,,,leaflets,5,2027-02-16,", "date 2027-02-16 is in the future (today is 2027-02-15)"),
    ("example,,,,,leaflets,5,01/02/2027,", 'date "01/02/2027" is not a date — write YYYY-MM-DD'),
    ("example,,,,,leaflets,5,2027-02-30,", 'date "2027-02-30" is not a date'),
    ("example,,,,,leaflets,5,,", "date is empty"),
    ('example,,,,,leaflets,5,2027-02-01,"two\nlines"', "note has a line break"),
]


@pytest.mark.parametrize(("row", "expected"), BAD_ROWS, ids=[e.split(" — ")[0][:40] for _, e in BAD_ROWS])
def test_each_bad_row_is_one_line_with_its_line_number_and_nothing_is_stored(
    unit: Path, kmcomms: RunCli, tmp_path: Path, row: str, expected: str
) -> None:
    csv_file = write(tmp_path, HEADER + GOOD_ROW + row + "\n" + GOOD_ROW)
    code, out, err = kmcomms(*AT, "reach", "import", csv_file, "-w", unit)
    assert (code, out) == (1, "")
    finding, summary = err.splitlines()
    assert finding.startswith(f"{csv_file}:3:1: error: ") and finding.endswith(" [reach-row]"), finding
    assert expected in finding
    assert summary == "✗ 1 problem; nothing was stored"
    assert stored(unit) == []


def test_every_bad_row_is_named_once_with_all_its_problems(unit: Path, tmp_path: Path) -> None:
    known = Known.from_loaded(load_paths([unit]))
    text = (
        HEADER
        + GOOD_ROW
        + "example,,,,,leaflets,-1,2027-03-01,\n"
        + GOOD_ROW
        + '"example","lanch",,,,leaflets,5,2027-02-01,"a\nnote"\n'
        + "example,,,,,leaflets,5,2027-02-01\n"
    )
    with pytest.raises(InvalidInput) as caught:
        read_reach(write(tmp_path, text), known, NOW)
    found = [(d.line, d.code, d.message.split(" — ")[0]) for d in caught.value.diagnostics]
    assert found == [
        (3, "reach-row", "value -1 is not a count"),
        (5, "reach-row", 'message "lanch" is not one of campaign example\'s messages (did you mean "launch"?)'),
        (7, "csv-fields", "this row has 8 values, the header 9"),  # the quoted note spans lines 5 and 6
    ]
    assert (
        "date 2027-03-01 is in the future" in caught.value.diagnostics[0].message
    )  # both problems of line 3, one line


#: How the header messages name the columns.
COLUMNS = (
    "campaign,message,audience,language,channel,date,metric,value,note "
    "(message, audience, language, channel and note may be left out)"
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "campaign,message,audience,language,channel,value,date,note\n",
            [f"the header has no column metric — the first line names the columns, in any order: {COLUMNS}"],
        ),
        (
            HEADER.strip() + ",count,extra\n",
            [f"the header has unexpected columns 'count', 'extra' — remove or rename them: the columns are {COLUMNS}"],
        ),
        (
            "campaign,message,audience,langauge,channel,metric,vlaue,date\n",
            [
                f"the header has no column value — the first line names the columns, in any order: {COLUMNS}",
                (
                    "the header has unexpected columns 'langauge', 'vlaue' (did you mean \"language\"?) — remove or rename them: "
                    f"the columns are {COLUMNS}"
                ),
            ],
        ),
        (HEADER.replace(",", ";"), ["the columns are separated by ; or tabs — export the file as CSV with commas"]),
        (HEADER.strip() + ",value\n", ["the header repeats value — keep one column of each"]),
    ],
)
def test_a_wrong_header_is_one_clear_line_per_problem(
    unit: Path, tmp_path: Path, header: str, expected: list[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_reach(write(tmp_path, header + GOOD_ROW), Known.from_loaded(load_paths([unit])), NOW)
    assert [(d.line, d.message) for d in caught.value.diagnostics] == [(1, e) for e in expected]


def test_a_file_that_is_empty_not_utf8_missing_or_badly_quoted_is_refused(unit: Path, tmp_path: Path) -> None:
    known = Known.from_loaded(load_paths([unit]))

    def finding(data: bytes | None, name: str = "reach.csv") -> tuple[int, str]:
        with pytest.raises(InvalidInput) as caught:
            read_reach(tmp_path / name, known, NOW, data)
        [d] = caught.value.diagnostics
        return d.line, d.message

    assert finding(b"\n\n") == (
        1,
        (
            "the file is empty — the first line must be the header "
            "campaign,message,audience,language,channel,date,metric,value,note"
        ),
    )
    assert finding((HEADER + GOOD_ROW).encode() + b"example,,,,,leaflets,5,2027-02-01,caf\xe9\n") == (
        3,
        'this line is not UTF-8 text — save the file as "CSV UTF-8"',
    )
    assert finding(None, "nowhere.csv")[1].startswith("cannot read the file: No such file or directory")
    line, message = finding((HEADER + GOOD_ROW + 'example,,,,,leaflets,5,2027-02-01,"open\n').encode())
    assert (
        line == 3
        and message.startswith("cannot read the CSV here")
        and message.endswith("check the quotes on this line")
    )


csv_ish = st.text(
    alphabet=st.sampled_from(list('example,parents,en,ur,blog,launch,leaflets,5,-1,2027-02-01,"\n\r;\t \x00\ufeffé'))
    | st.characters(),
    max_size=300,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=csv_ish,
    header=st.sampled_from([HEADER, "", "campaign,metric\n", HEADER.strip() + ",x\n"]),
    raw=st.binary(max_size=200),
)
def test_junk_gives_invalid_input_or_records_never_anything_else(
    workspace: Path, tmp_path: Path, body: str, header: str, raw: bytes
) -> None:
    write_campaign(workspace)
    known = Known.from_loaded(load_paths([workspace]))
    for data in ((header + body).encode("utf-8", "surrogatepass"), raw, header.encode() + raw):
        try:
            found = read_reach(tmp_path / "junk.csv", known, NOW, data)
        except InvalidInput as exc:
            assert exc.diagnostics and all(d.message and d.line >= 0 for d in exc.diagnostics)
        else:
            assert all(r.campaign == "example" and r.value >= 0 and r.day <= NOW.date() for r in found)


def test_a_bad_add_is_one_line_naming_every_problem_and_stores_nothing(unit: Path, kmcomms: RunCli) -> None:
    code, out, err = kmcomms(
        *AT,
        "reach",
        "add",
        "--campaign",
        "example",
        "--metric",
        "leaflets",
        "--value",
        "-3",
        "--date",
        "2027-03-01",
        "--audience",
        "parnets",
        "-w",
        unit,
    )
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        (
            'kmcomms reach add: error: audience "parnets" is not one of campaign example\'s audiences (did you mean "parents"?) '
            "— use one of: parents; value -3 is not a count — write a number of zero or more, e.g. 500; date 2027-03-01 is in "
            "the future (today is 2027-02-15) — record what has happened [reach-record]"
        ),
        "✗ 1 problem; nothing was stored",
    ]
    assert stored(unit) == []
