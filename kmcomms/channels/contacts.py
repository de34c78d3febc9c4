"""Contacts: the people a newsletter or briefing list goes to, kept in the store (they are
personal data, never in campaign files), and the addresses never written to again.

    import_contacts(engine, path, "news", now)   # a CSV into a list: all rows or none
    recipients_for(engine, "news", audience, language, source_language, audience_languages)
    kmcomms.ledger.contacts.suppress(engine, email, "unsubscribed", detail, now)

The CSV has a header and exactly the columns `email,name,language,audience,consent_date`
(any order), UTF-8 (a byte-order mark, as Excel writes, is fine). Every row is checked
before anything is stored: the address, the language code, the audience id, the date of
consent (YYYY-MM-DD, not in the future), no address twice. A file with any bad row raises
`InvalidInput` with one diagnostic per bad row (`FILE:LINE: what is wrong — how to fix`)
and stores nothing. A good file is upserted in one transaction: new addresses added, known
ones updated; addresses missing from the file are left as they are.

Addresses are compared without regard to case (stored in lower case). An address in
`suppressions` (unsubscribed or hard-bounced) stays suppressed whatever list it is imported
into: it is kept with its list but never sent anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TypedDict

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, Engine, case, func, or_, select

from kmcomms.campaign.fields import LanguageCode, Slug
from kmcomms.channels.letters import address_problem
from kmcomms.errors import Diagnostic, InvalidInput, one_line
from kmcomms.files import error as _error
from kmcomms.files import records
from kmcomms.ledger.contacts import normal_address, save_contacts
from kmcomms.ledger.tables import contacts, suppressions

__all__ = [
    "COLUMNS",
    "Contact",
    "ImportReport",
    "Recipient",
    "addresses",
    "import_contacts",
    "read_contacts",
    "recipients_for",
    "summary",
]

COLUMNS = ("email", "name", "language", "audience", "consent_date")
#: Longest name kept: enough for any real name, short enough for a `To` header.
NAME_LIMIT = 200

_LANGUAGE = TypeAdapter(LanguageCode)
_SLUG = TypeAdapter(Slug)
#: A contact never written to: its address is suppressed (the stamps on the contact row
#: are set by `kmcomms.ledger.contacts.suppress` too, and are checked as well so neither
#: can be missed).
_SUPPRESSED = or_(
    contacts.c.email.in_(select(suppressions.c.email)),
    contacts.c.unsubscribed_at.is_not(None),
    contacts.c.bounced_at.is_not(None),
)


@dataclass(frozen=True, slots=True)
class Contact:
    email: str
    name: str
    language: str
    audience: str
    consent_date: date
    line: int
    """Where the row starts in its file."""


class _Stored(TypedDict):
    """A contact as the ledger keeps it: what an import compares with what was there."""

    email: str
    name: str | None
    language: str
    audience: str
    consent_date: datetime


@dataclass(frozen=True, slots=True)
class ImportReport:
    list: str
    added: int
    updated: int
    unchanged: int
    suppressed: int
    """Of the imported addresses, how many are suppressed (never sent to)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str | None
    language: str


def _pydantic_reason(adapter: TypeAdapter[str], value: str) -> str | None:
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        return exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
    return None


def _row_problems(row: dict[str, str], today: date) -> list[str]:
    """What is wrong with one row's values, each as "what — how to fix"."""
    problems = []
    address = row["email"]
    why = address_problem(address)
    if why:
        problems.append(f'email "{address}" is not an e-mail address: {why} — correct it or remove the row')
    name = row["name"]
    if one_line(name) != name:
        problems.append("name has a line break or control character — write the name on one line")
    elif len(name) > NAME_LIMIT:
        problems.append(f"name is {len(name)} characters long — shorten it to at most {NAME_LIMIT}")
    if not row["language"]:
        problems.append('language is empty — write the code of the language this person reads, e.g. "en" or "ur"')
    elif reason := _pydantic_reason(_LANGUAGE, row["language"]):
        problems.append(f"language {reason}")
    if not row["audience"]:
        problems.append('audience is empty — write the id of the audience in the campaigns, e.g. "parents"')
    elif reason := _pydantic_reason(_SLUG, row["audience"]):
        problems.append(f"audience {reason}")
    consent = row["consent_date"]
    if not consent:
        problems.append(
            "consent_date is empty — write the date this person agreed to get news (YYYY-MM-DD); "
            "do not import anyone without consent"
        )
    else:
        try:
            given = date.fromisoformat(consent) if len(consent) == 10 else None
        except ValueError:
            given = None
        if given is None:
            problems.append(f'consent_date "{consent}" is not a date — write YYYY-MM-DD, e.g. 2027-01-11')
        elif given > today:
            problems.append(f"consent_date {consent} is in the future — write the date consent was given")
    return problems


def _header_problem(header: list[str]) -> str | None:
    names = [h.strip().lower() for h in header]
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        return "the columns are separated by ; or tabs — export the file as CSV with commas"
    missing = [c for c in COLUMNS if c not in names]
    extra = [h for h in names if h not in COLUMNS]
    twice = sorted({h for h in names if names.count(h) > 1})
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected {', '.join(repr(h) for h in extra)}")
    if twice:
        parts.append(f"repeated {', '.join(twice)}")
    if parts:
        return f"the header {'; '.join(parts)} — the first line must be exactly {','.join(COLUMNS)} (in any order)"
    return None


def read_contacts(path: Path, today: date, data: bytes | None = None) -> list[Contact]:
    """Every contact in the CSV at `path` (or in `data`, named `path`), checked. Raises
    `InvalidInput` with one diagnostic per bad row, or one for the file (not UTF-8, no
    header, a broken quote), and nothing else."""
    found: list[Diagnostic] = []
    result: list[Contact] = []
    header: list[str] | None = None
    first_seen: dict[str, int] = {}
    try:
        for start, fields in records(path, "contacts", data):
            if header is None:
                problem = _header_problem(fields)
                if problem:
                    raise InvalidInput([_error(path, start, "contacts-header", problem)])
                header = [h.strip().lower() for h in fields]
                continue
            if len(fields) != len(header):
                found.append(
                    _error(
                        path,
                        start,
                        "contacts-fields",
                        f"this row has {len(fields)} values, the header "
                        f"{len(header)} — quote a value that holds a comma",
                    )
                )
                continue
            row = {name: value.strip() for name, value in zip(header, fields, strict=True)}
            problems = _row_problems(row, today)
            address = normal_address(row["email"])
            if not problems and address in first_seen:
                problems.append(f"{address} is already on line {first_seen[address]} — keep one row per address")
            if problems:
                found.append(_error(path, start, "contacts-row", "; ".join(problems)))
                continue
            first_seen[address] = start
            result.append(
                Contact(
                    address,
                    row["name"],
                    row["language"],
                    row["audience"],
                    date.fromisoformat(row["consent_date"]),
                    start,
                )
            )
    except InvalidInput as exc:
        if header is None:  # nothing was read: the file-level problem is the only one
            raise
        found.extend(exc.diagnostics)  # a broken quote: kept with the rows found bad before it
    if header is None and not found:
        found.append(
            _error(
                path, 1, "contacts-header", f"the file is empty — the first line must be the header {','.join(COLUMNS)}"
            )
        )
    if found:
        raise InvalidInput(found)
    return result


def import_contacts(
    engine: Engine, path: Path, contact_list: str, now: datetime, data: bytes | None = None
) -> ImportReport:
    """Check the CSV at `path` and, when every row is good, upsert it into `contact_list`
    in one transaction. Raises `InvalidInput` (and stores nothing) otherwise."""
    if reason := _pydantic_reason(_SLUG, contact_list):
        raise InvalidInput([_error(path, 0, "contacts-list", f"the list name {reason}")])
    # Consent given "today" anywhere on Earth is not in the future: UTC+14 is furthest ahead.
    rows = read_contacts(path, (now.astimezone(UTC) + timedelta(hours=14)).date(), data)
    values: list[_Stored] = [
        {
            "email": c.email,
            "name": c.name or None,
            "language": c.language,
            "audience": c.audience,
            "consent_date": datetime.combine(c.consent_date, time(), UTC),
        }
        for c in rows
    ]
    known, suppressed = save_contacts(engine, contact_list, values)
    added = sum(1 for v in values if v["email"] not in known)
    unchanged = sum(
        1
        for v in values
        if v["email"] in known and known[v["email"]] == (v["name"], v["language"], v["audience"], v["consent_date"])
    )
    return ImportReport(
        contact_list,
        added,
        len(values) - added - unchanged,
        unchanged,
        sum(1 for v in values if v["email"] in suppressed),
    )


def recipients_for(
    bind: Engine | Connection,
    contact_list: str,
    audience: str,
    language: str,
    source_language: str,
    audience_languages: Sequence[str],
) -> list[Recipient]:
    """Who a delivery to `audience` in `language` on a channel sending to `contact_list`
    goes to: the list's contacts of that audience who read `language` — and, when
    `language` is the campaign's source language, those whose language the audience is
    not reached in — except suppressed addresses. Sorted by address. Given a Connection,
    reads inside its transaction."""
    reads = contacts.c.language == language
    if language == source_language:
        reads = or_(reads, contacts.c.language.not_in(list(audience_languages)))
    query = (
        select(contacts.c.email, contacts.c.name, contacts.c.language)
        .where(contacts.c.list == contact_list, contacts.c.audience == audience, reads, ~_SUPPRESSED)
        .order_by(contacts.c.email)
    )
    if isinstance(bind, Engine):
        with bind.connect() as db:
            return [Recipient(*row) for row in db.execute(query)]
    return [Recipient(*row) for row in bind.execute(query)]


def summary(engine: Engine, contact_list: str | None = None) -> list[dict[str, object]]:
    """Contacts per list, audience and language: how many, and how many of them are
    suppressed. No addresses."""
    group = (contacts.c.list, contacts.c.audience, contacts.c.language)
    query = select(*group, func.count(), func.sum(case((_SUPPRESSED, 1), else_=0)))
    if contact_list is not None:
        query = query.where(contacts.c.list == contact_list)
    with engine.connect() as db:
        rows = db.execute(query.group_by(*group).order_by(*group)).all()
    return [
        {"list": r[0], "audience": r[1], "language": r[2], "contacts": r[3], "suppressed": int(r[4] or 0)} for r in rows
    ]


def addresses(engine: Engine, contact_list: str | None = None) -> list[dict[str, object]]:
    """Every contact (personal data: for `--show-addresses` only), with why it is
    suppressed, if it is."""
    query = (
        select(
            contacts.c.list,
            contacts.c.email,
            contacts.c.name,
            contacts.c.language,
            contacts.c.audience,
            contacts.c.consent_date,
            suppressions.c.reason,
        )
        .join_from(contacts, suppressions, suppressions.c.email == contacts.c.email, isouter=True)
        .order_by(contacts.c.list, contacts.c.email)
    )
    if contact_list is not None:
        query = query.where(contacts.c.list == contact_list)
    with engine.connect() as db:
        rows = db.execute(query).all()
    return [
        {
            "list": r.list,
            "email": r.email,
            "name": r.name or "",
            "language": r.language,
            "audience": r.audience,
            "consent_date": r.consent_date.date().isoformat() if r.consent_date else None,
            "suppressed": r.reason,
        }
        for r in rows
    ]
