"""Contacts: importing a CSV into a list (all rows or none, each bad row named with its
line), who a delivery goes to, suppression, and `kmcomms contacts`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import RunCli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from kmcomms.channels.contacts import import_contacts, read_contacts, recipients_for, summary
from kmcomms.errors import InvalidInput
from kmcomms.ledger.contacts import suppress
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import contacts, suppressions

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
HEADER = "email,name,language,audience,consent_date\n"
GOOD = (
    HEADER
    + "ada@example.org,Ada Lovelace,en,parents,2026-11-01\n"
    + "Jan.Kowalski@Example.ORG,Jan Kowalski,pl,parents,2026-12-01\n"
    + 'amina@example.org,"امینہ خان",ur,parents,2027-01-10\n'
)


@pytest.fixture
def engine(store_url: str, tmp_path: Path) -> Engine:
    engine = open_store(store_url, tmp_path)
    yield engine
    engine.dispose()


def write(tmp_path: Path, text: str | bytes, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def rows(engine: Engine) -> list[tuple]:
    with engine.connect() as db:
        return [
            tuple(r)
            for r in db.execute(
                select(
                    contacts.c.list,
                    contacts.c.email,
                    contacts.c.name,
                    contacts.c.language,
                    contacts.c.audience,
                    contacts.c.consent_date,
                ).order_by(contacts.c.email)
            )
        ]


def test_a_good_file_is_imported_and_a_second_import_updates(engine: Engine, tmp_path: Path) -> None:
    report = import_contacts(engine, write(tmp_path, GOOD), "news", NOW)
    assert (report.added, report.updated, report.unchanged, report.suppressed) == (3, 0, 0, 0)
    assert rows(engine) == [
        ("news", "ada@example.org", "Ada Lovelace", "en", "parents", datetime(2026, 11, 1, tzinfo=UTC)),
        ("news", "amina@example.org", "امینہ خان", "ur", "parents", datetime(2027, 1, 10, tzinfo=UTC)),
        # Addresses are kept in lower case: the same person however the file spells it.
        ("news", "jan.kowalski@example.org", "Jan Kowalski", "pl", "parents", datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    again = GOOD.replace("Jan Kowalski,pl", "Jan Kowalski,en") + "new@example.org,,en,clinicians,2027-01-01\n"
    report = import_contacts(engine, write(tmp_path, again), "news", NOW)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 2)
    assert {r[1]: r[3] for r in rows(engine)}["jan.kowalski@example.org"] == "en"
    assert {r[1]: r[2] for r in rows(engine)}["new@example.org"] is None
    # Another list is another set of rows for the same people.
    assert import_contacts(engine, write(tmp_path, GOOD), "policy-leads", NOW).added == 3
    assert len(rows(engine)) == 7


def test_columns_in_any_order_and_an_excel_byte_order_mark_are_fine(tmp_path: Path) -> None:
    text = "\ufeffConsent_Date, Email ,name,audience,language\r\n2027-01-01,a@example.org,A,parents,en\r\n"
    [contact] = read_contacts(write(tmp_path, text), date(2027, 1, 10))
    assert (contact.email, contact.name, contact.language, contact.audience, contact.consent_date, contact.line) == (
        "a@example.org",
        "A",
        "en",
        "parents",
        date(2027, 1, 1),
        2,
    )


BAD_ROWS = [
    (
        "not-an-address,A,en,parents,2027-01-01",
        'email "not-an-address" is not an e-mail address: it has no name before an @',
    ),
    ("a@b@example.org,A,en,parents,2027-01-01", "more than one @"),
    ("a@localhost,A,en,parents,2027-01-01", '"localhost" after the @ is not a domain name'),
    ("a b@example.org,A,en,parents,2027-01-01", "contains a space"),
    ("zofia@przykład.pl,A,en,parents,2027-01-01", "outside ASCII"),
    (",A,en,parents,2027-01-01", "it is empty"),
    ("a@example.org,A,english,parents,2027-01-01", 'language "english" is not a language code'),
    ("a@example.org,A,,parents,2027-01-01", "language is empty"),
    ("a@example.org,A,en,Parents & carers,2027-01-01", 'audience "Parents & carers" is not a valid id'),
    ("a@example.org,A,en,,2027-01-01", "audience is empty"),
    ("a@example.org,A,en,parents,01/01/2027", 'consent_date "01/01/2027" is not a date — write YYYY-MM-DD'),
    ("a@example.org,A,en,parents,2027-02-30", 'consent_date "2027-02-30" is not a date'),
    ("a@example.org,A,en,parents,2027-01-12", "consent_date 2027-01-12 is in the future"),
    ("a@example.org,A,en,parents,", "consent_date is empty"),
    ('a@example.org,"Line one\nline two",en,parents,2027-01-01', "name has a line break"),
    ("a@example.org,A,en,parents", "this row has 4 values, the header 5"),
    ("a@example.org,Smith, Ann,en,parents,2027-01-01", "this row has 6 values, the header 5 — quote a value"),
    ("ada@EXAMPLE.org,A,en,parents,2027-01-01", "ada@example.org is already on line 2 — keep one row per address"),
]


@pytest.mark.parametrize(("row", "expected"), BAD_ROWS, ids=[e for _, e in BAD_ROWS])
def test_each_bad_row_is_named_with_its_line_and_nothing_is_stored(
    engine: Engine, tmp_path: Path, row: str, expected: str
) -> None:
    text = (
        HEADER + "ada@example.org,Ada,en,parents,2027-01-01\n" + row + "\nbob@example.org,Bob,en,parents,2027-01-01\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        import_contacts(engine, path, "news", NOW)
    [finding] = caught.value.diagnostics
    assert (finding.path, finding.line) == (str(path), 3)
    assert expected in finding.message and " — " in finding.message
    assert rows(engine) == []


def test_every_bad_row_is_reported_once_with_all_its_problems(tmp_path: Path) -> None:
    text = (
        HEADER
        + 'a@example.org,"A multi-line\nname",en,parents,2027-01-01\n'  # lines 2-3
        + "bad,B,xx-nope,Bad Audience,2027-13-01\n"  # line 4: four problems
        + "c@example.org,C,en,parents,2027-01-01\n"  # line 5: fine
        + "\n"  # line 6: blank, skipped
        + "d@,D,en,parents,2027-01-01\n"
    )  # line 7
    with pytest.raises(InvalidInput) as caught:
        read_contacts(write(tmp_path, text), date(2027, 1, 10))
    found = caught.value.diagnostics
    assert [d.line for d in found] == [2, 4, 7]
    assert found[1].message.count(" — ") == 4
    assert all(str(d).startswith(f"{tmp_path / 'people.csv'}:{d.line}:1: error: ") for d in found)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("email,name,language,audience", "missing consent_date"),
        ("email,name,language,audience,consent_date,phone,notes", "unexpected 'phone', 'notes'"),
        ("email,name,language,audience,consent_date,email", "repeated email"),
        ("email;name;language;audience;consent_date", "separated by ; or tabs"),
        (
            "ada@example.org,Ada,en,parents,2027-01-01",
            "the first line must be exactly email,name,language,audience,consent_date",
        ),
    ],
)
def test_a_wrong_header_is_one_clear_error(tmp_path: Path, header: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_contacts(write(tmp_path, header + "\nb@example.org,B,en,parents,2027-01-01\n"), date(2027, 1, 10))
    [finding] = caught.value.diagnostics
    assert finding.line == 1 and expected in finding.message and finding.code == "contacts-header"


def test_an_empty_file_and_a_file_that_is_not_utf8_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="the file is empty"):
        read_contacts(write(tmp_path, "\n\n"), date(2027, 1, 10))
    latin1 = (HEADER + "a@example.org,A,en,parents,2027-01-01\nb@example.org,Jos\xe9,en,parents,2027-01-01\n").encode(
        "latin-1"
    )
    with pytest.raises(InvalidInput) as caught:
        read_contacts(write(tmp_path, latin1), date(2027, 1, 10))
    [finding] = caught.value.diagnostics
    assert finding.line == 3 and "not UTF-8" in finding.message


def test_a_broken_quote_is_reported_where_it_is(tmp_path: Path) -> None:
    text = HEADER + "a@example.org,A,en,parents,2027-01-01\n" + 'b@example.org,"B"x,en,parents,2027-01-01\n'
    with pytest.raises(InvalidInput) as caught:
        read_contacts(write(tmp_path, text), date(2027, 1, 10))
    [finding] = caught.value.diagnostics
    assert finding.line == 3 and "check the quotes" in finding.message


def test_a_suppressed_address_is_imported_but_never_a_recipient(engine: Engine, tmp_path: Path) -> None:
    assert suppress(engine, "ADA@example.org", "unsubscribed", "one-click", NOW)
    assert not suppress(engine, "ada@example.org", "bounced", "later", NOW)  # the first reason stands
    report = import_contacts(engine, write(tmp_path, GOOD), "news", NOW)
    assert (report.added, report.suppressed) == (3, 1)
    with engine.connect() as db:
        assert db.execute(select(suppressions.c.reason)).scalars().all() == ["unsubscribed"]
    assert [r.email for r in recipients_for(engine, "news", "parents", "en", "en", ["en", "pl", "ur"])] == []
    assert summary(engine) == [
        {"list": "news", "audience": "parents", "language": "en", "contacts": 1, "suppressed": 1},
        {"list": "news", "audience": "parents", "language": "pl", "contacts": 1, "suppressed": 0},
        {"list": "news", "audience": "parents", "language": "ur", "contacts": 1, "suppressed": 0},
    ]


def test_suppressing_stamps_the_contact_on_every_list(engine: Engine, tmp_path: Path) -> None:
    import_contacts(engine, write(tmp_path, GOOD), "news", NOW)
    import_contacts(engine, write(tmp_path, GOOD), "policy-leads", NOW)
    assert suppress(engine, "Jan.Kowalski@example.org", "bounced", "550 5.1.1 no such user", NOW)
    with engine.connect() as db:
        stamps = db.execute(
            select(contacts.c.list, contacts.c.bounced_at, contacts.c.unsubscribed_at)
            .where(contacts.c.email == "jan.kowalski@example.org")
            .order_by(contacts.c.list)
        ).all()
    assert [tuple(s) for s in stamps] == [("news", NOW, None), ("policy-leads", NOW, None)]
    with pytest.raises(ValueError, match="reason must be one of"):
        suppress(engine, "a@example.org", "annoyed", None, NOW)


def test_a_delivery_goes_to_its_audience_in_its_language_and_the_unreached_get_the_source(
    engine: Engine, tmp_path: Path
) -> None:
    text = (
        HEADER
        + "en@example.org,,en,parents,2027-01-01\n"
        + "pl@example.org,,pl,parents,2027-01-01\n"
        + "de@example.org,,de,parents,2027-01-01\n"  # German: the audience is not reached in it
        + "ur@example.org,,ur,parents,2027-01-01\n"
        + "clinician@example.org,,en,clinicians,2027-01-01\n"
        + "gone@example.org,,en,parents,2027-01-01\n"
    )
    import_contacts(engine, write(tmp_path, text), "news", NOW)
    import_contacts(engine, write(tmp_path, HEADER + "other@example.org,,en,parents,2027-01-01\n"), "other", NOW)
    suppress(engine, "gone@example.org", "bounced", None, NOW)
    languages = ["en", "pl", "ur"]

    def to(language: str, audience: str = "parents", source: str = "en") -> list[str]:
        return [r.email for r in recipients_for(engine, "news", audience, language, source, languages)]

    assert to("en") == ["de@example.org", "en@example.org"]
    assert to("pl") == ["pl@example.org"]
    assert to("ur") == ["ur@example.org"]
    assert to("en", "clinicians") == ["clinician@example.org"]
    # When the campaign is written in Polish, the German reader gets the Polish delivery.
    assert to("pl", source="pl") == ["de@example.org", "pl@example.org"] and to("en", source="pl") == ["en@example.org"]
    [recipient] = recipients_for(engine, "news", "parents", "ur", "en", languages)
    assert (recipient.email, recipient.name, recipient.language) == ("ur@example.org", None, "ur")


def test_a_list_name_must_be_an_id(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="the list name"):
        import_contacts(engine, write(tmp_path, GOOD), "News Letter", NOW)


# ---------------------------------------------------------------------------- junk never crashes

csv_ish = st.text(
    alphabet=st.sampled_from(list('abc@.,"\n\r;\t -_0123456789éامی\x00\ufeff')) | st.characters(), max_size=300
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=csv_ish,
    header=st.sampled_from([HEADER, "", "email,name\n", "email,name,language,audience,consent_date,x\n"]),
    raw=st.binary(max_size=200),
)
def test_junk_gives_invalid_input_or_contacts_never_anything_else(
    tmp_path: Path, body: str, header: str, raw: bytes
) -> None:
    for data in ((header + body).encode("utf-8", "surrogatepass"), raw, header.encode() + raw):
        try:
            found = read_contacts(tmp_path / "junk.csv", date(2027, 1, 10), data)
        except InvalidInput as exc:
            assert exc.diagnostics and all(d.message and d.line >= 0 for d in exc.diagnostics)
        else:
            assert all(c.email and c.language and c.audience for c in found)


# ---------------------------------------------------------------------------- the command line

AT = ("--now", NOW.isoformat())  # consent dates are checked against the (pretended) time


def test_the_cli_imports_lists_and_suppresses(workspace: Path, kmcomms: RunCli, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    code, out, err = kmcomms(*AT, "contacts", "import", path, "--list", "news", "-w", workspace)
    assert (code, out.strip(), err) == (0, "news: 3 added, 0 updated, 0 unchanged", "")
    code, out, _ = kmcomms("contacts", "suppress", "Ada@Example.org", "--reason", "unsubscribed", "-w", workspace)
    assert (code, out.strip()) == (0, "suppressed ada@example.org (unsubscribed): never sent anything again")
    code, out, _ = kmcomms("contacts", "suppress", "ada@example.org", "--reason", "bounced", "-w", workspace)
    assert (code, out.strip()) == (0, "ada@example.org was suppressed already; nothing changed")
    code, out, _ = kmcomms(*AT, "contacts", "import", path, "--list", "news", "-w", workspace, "--format", "json")
    assert code == 0 and json.loads(out) == {"list": "news", "added": 0, "updated": 0, "unchanged": 3, "suppressed": 1}

    code, out, _ = kmcomms("contacts", "list", "-w", workspace)
    assert code == 0 and "parents" in out and "ur" in out and "@" not in out  # no personal data by default
    code, out, _ = kmcomms("contacts", "list", "-w", workspace, "--format", "json")
    assert json.loads(out)[0] == {
        "list": "news",
        "audience": "parents",
        "language": "en",
        "contacts": 1,
        "suppressed": 1,
    }
    code, out, _ = kmcomms("contacts", "list", "-w", workspace, "--show-addresses", "--format", "json")
    assert [(r["email"], r["suppressed"]) for r in json.loads(out)] == [
        ("ada@example.org", "unsubscribed"),
        ("amina@example.org", None),
        ("jan.kowalski@example.org", None),
    ]
    code, out, _ = kmcomms("contacts", "list", "-w", workspace, "--list", "nobody")
    assert code == 0 and "no contacts on the list" in out


def test_the_cli_refuses_a_bad_file_whole_naming_each_line(workspace: Path, kmcomms: RunCli, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "bad,B,en,parents,2027-01-01\nc@example.org,C,en,parents,2099-01-01\n")
    code, out, err = kmcomms(*AT, "contacts", "import", path, "--list", "news", "-w", workspace)
    lines = err.splitlines()
    assert code == 1 and out == ""
    assert lines[0].endswith(
        ':5:1: error: email "bad" is not an e-mail address: it has no name before an @ — '
        "correct it or remove the row [contacts-row]"
    )
    assert ":6:1: error: consent_date 2099-01-01 is in the future" in lines[1]
    assert lines[2] == "✗ 2 problems; nothing was imported"
    engine = open_store("sqlite:///kmcomms.db", workspace)
    with engine.connect() as db:
        assert db.execute(select(func.count()).select_from(contacts)).scalar() == 0
    engine.dispose()
    code, out, _ = kmcomms(*AT, "contacts", "import", path, "--list", "news", "-w", workspace, "--format", "json")
    assert code == 1 and [d["line"] for d in json.loads(out)] == [5, 6]


def test_the_cli_says_when_no_channel_sends_to_the_list_and_refuses_a_bad_address(
    workspace: Path, kmcomms: RunCli, tmp_path: Path
) -> None:
    code, _, err = kmcomms(*AT, "contacts", "import", write(tmp_path, GOOD), "--list", "newz", "-w", workspace)
    assert code == 0 and 'no channel in kmcomms.toml sends to the list "newz" (lists: news, policy-leads)' in err
    code, _, err = kmcomms("contacts", "suppress", "nobody", "--reason", "bounced", "-w", workspace)
    assert code == 2 and '"nobody" is not an e-mail address' in err
