"""Manual records: what no API sees, checked against the campaigns and stored in the ledger.

Two kinds, both typed in by a person and both refused whole when anything is wrong:

* **Reach records** (leaflets handed out, event attendees, radio broadcasts, survey
  results): `ReachRecord`, from `kmcomms reach add` (`check_reach`) or a CSV with the
  columns `campaign,message,audience,language,channel,date,metric,value` and `note`
  (`read_reach`, any column order, UTF-8; message, audience, language, channel and note
  may be left out, or empty). Each becomes one `reach_samples` row with
  source "manual", `observed_at` 00:00 UTC of its date, the note as its quality note, and
  `delivery_id` set only when the campaign, message, audience, language and channel all
  given match exactly one delivery in the ledger (a repeated message has several: the
  record stays the campaign's). The row keeps the record's message, audience, language
  and channel either way, so a campaign-wide record still counts where it names
  (indicator filters, reach by audience × language × channel). Manual records count what
  happened on their date, so reports add them up (a channel's samples are running totals
  instead).
* **Evidence records** (outcomes and impact: a policy citation, an evidence submission,
  an advisory committee): `EvidenceRecord`, kinds from `KINDS`, the wording Researchfish
  uses; stored in `evidence`. `researchfish_rows` makes the rows of a CSV for the
  "Influence on Policy, Practice, Patients & the Public" section (see `RESEARCHFISH_COLUMNS`).

Checks: the campaign is a loaded (valid) one; audience, language, channel and message are
the campaign's, and together name something the campaign plans (a message to that
audience, on that channel); a metric close to one of the campaign's indicator metrics
but not equal is taken for a typo; value a finite number ≥ 0; dates YYYY-MM-DD, not after
today in the campaign's time zone at `as_of`; evidence URLs http(s). A problem raises
`InvalidInput`: one diagnostic per bad row (`FILE:LINE: what — how to fix`), and nothing
is stored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from kmcomms.campaign.fields import close_match, closest
from kmcomms.campaign.load import LoadResult
from kmcomms.campaign.models import Campaign
from kmcomms.campaign.schedule import message_channels
from kmcomms.errors import Diagnostic, InvalidInput, Severity, one_line
from kmcomms.files import error as _error
from kmcomms.files import records
from kmcomms.ledger import reach
from kmcomms.ledger.ledger import State
from kmcomms.ledger.tables import deliveries, evidence

__all__ = [
    "KINDS",
    "REACH_COLUMNS",
    "REACH_OPTIONAL",
    "RESEARCHFISH_COLUMNS",
    "EvidenceRecord",
    "Kind",
    "Known",
    "ReachRecord",
    "StoredReach",
    "add_evidence",
    "check_evidence",
    "check_reach",
    "csv_rows",
    "list_evidence",
    "read_reach",
    "researchfish_rows",
    "store_reach",
]

#: The columns of a reach record, in the order of the format (campaign-format.md), then a note.
REACH_COLUMNS = ("campaign", "message", "audience", "language", "channel", "date", "metric", "value", "note")
#: Those a CSV may leave out: a row without them is a campaign-level record, with no note.
REACH_OPTIONAL = ("message", "audience", "language", "channel", "note")
_METRIC = re.compile(r"(?=.{1,64}$)[a-z0-9]+(?:-[a-z0-9]+)*")
#: Longest note or evidence text kept: a paragraph, not a document.
TEXT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Kind:
    """An evidence kind: its slug, the Researchfish section it is returned in, and that
    section's wording for it."""

    slug: str
    section: str
    """"influence" (Influence on Policy, Practice, Patients & the Public) or "engagement"
    (Engagement activities)."""
    researchfish: str


# Researchfish's wording, from its common question set; check it against the current
# question set before a return (Researchfish revises the lists between years).
KINDS: dict[str, Kind] = {
    k.slug: k
    for k in (
        Kind("guideline-citation", "influence", "Citation in clinical guidelines"),
        Kind("review-citation", "influence", "Citation in systematic reviews"),
        Kind("policy-citation", "influence", "Citation in other policy documents"),
        Kind("evidence-submission", "influence", "Gave evidence to a government review"),
        Kind("advisory-committee", "influence", "Participation in a guidance/advisory committee"),
        Kind("guideline-committee", "influence", "Membership of a guideline committee"),
        Kind("consultation", "influence", "Participation in a national consultation"),
        Kind("training", "influence", "Influenced training of practitioners or researchers"),
        Kind(
            "implementation-advice",
            "influence",
            "Implementation circular/rapid advice/letter to e.g. Ministry of Health",
        ),
        Kind("practice-change", "influence", "Contribution to new or improved professional practice"),
        Kind(
            "media-coverage", "engagement", "A press release, press conference or response to a media enquiry/interview"
        ),
        Kind("broadcast", "engagement", "A broadcast e.g. TV/radio/film/podcast (other than news/press)"),
        Kind("talk", "engagement", "A talk or presentation"),
    )
}

#: The export's columns. Researchfish asks each influence for its type, a description,
#: the impact, its geographic reach, the year and a URL, attributed to an award: the award
#: references are the campaign's outputs'; kmcomms does not record geographic reach
#: (Local/Municipal/Regional, National, Europe, Multiple continents/international), so
#: that column is left for a person to fill in.
RESEARCHFISH_COLUMNS = (
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
)


@dataclass(frozen=True, slots=True)
class Known:
    """What records are checked against: the valid campaigns by id, the workspace's
    channel names, and whether some campaigns were left out for their errors."""

    campaigns: Mapping[str, Campaign]
    channels: frozenset[str]
    broken: bool = False

    @classmethod
    def from_loaded(cls, loaded: LoadResult) -> Known:
        channels = {name for w in loaded.workspaces for name in w.settings.channels}
        return cls({c.campaign.id: c.campaign for c in loaded.campaigns}, frozenset(channels), bool(loaded.errors))


@dataclass(frozen=True, slots=True)
class ReachRecord:
    campaign: str
    metric: str
    value: float
    day: date
    message: str | None = None
    audience: str | None = None
    language: str | None = None
    channel: str | None = None
    note: str | None = None
    line: int = 0
    """Where the row starts in its file (0: typed on the command line)."""


@dataclass(frozen=True, slots=True)
class StoredReach:
    stored: int
    linked: int
    """How many of them were linked to a delivery."""


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    campaign: str
    kind: str
    title: str
    day: date
    source: str | None = None
    url: str | None = None
    notes: str | None = None


# ---------------------------------------------------------------------------- checks


def _today(campaign: Campaign | None, as_of: datetime) -> date:
    """Today where the campaign is; with no campaign, the furthest-ahead zone's (UTC+14),
    so that no one's today is called the future."""
    if campaign is None:
        return (as_of.astimezone(UTC) + timedelta(hours=14)).date()
    return as_of.astimezone(ZoneInfo(campaign.timezone)).date()


def _date_problem(name: str, text: str, today: date) -> tuple[date | None, str | None]:
    if not text:
        return None, f"{name} is empty — write the day it happened as YYYY-MM-DD, e.g. {today.isoformat()}"
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return None, f'{name} "{text}" is not a date — write YYYY-MM-DD, e.g. {today.isoformat()}'
    if day > today:
        return None, f"{name} {text} is in the future (today is {today.isoformat()}) — record what has happened"
    return day, None


def _text_problem(name: str, text: str) -> str | None:
    if one_line(text) != text:
        return f"{name} has a line break or control character — write it on one line"
    if len(text) > TEXT_LIMIT:
        return f"{name} is {len(text)} characters long — shorten it to at most {TEXT_LIMIT}"
    return None


def _one_of(name: str, value: str, choices: Sequence[str], where: str) -> str | None:
    if value in choices:
        return None
    listed = ", ".join(sorted(choices)) or "none"
    return f'{name} "{value}" is not one of {where}{close_match(value, choices)} — use one of: {listed}'


def _campaign(fields: Mapping[str, str], known: Known) -> tuple[Campaign | None, str | None]:
    given = fields.get("campaign", "")
    if not given:
        return None, "campaign is empty — write the id of the campaign this counts for"
    if given in known.campaigns:
        return known.campaigns[given], None
    hint = close_match(given, known.campaigns)
    broken = " (campaigns with errors are left out: run `kmcomms validate`)" if known.broken else ""
    return (
        None,
        f'campaign "{given}" is not a campaign of this workspace{hint}{broken} — use the id in its campaign.yaml',
    )


def _reach_fit(fields: Mapping[str, str], campaign: Campaign, known: Known) -> list[str]:
    """How the audience, language, channel and message fail to fit the campaign's plan."""
    audience, language, channel, message_id = (
        fields.get(k, "") for k in ("audience", "language", "channel", "message")
    )
    problems = []
    if audience and (
        p := _one_of("audience", audience, list(campaign.audiences), f"campaign {campaign.id}'s audiences")
    ):
        problems.append(p)
        audience = ""
    if language:
        if audience:
            choices, where = campaign.audiences[audience].languages, f"the languages {audience} is reached in"
        else:
            choices = sorted({campaign.language, *(lang for a in campaign.audiences.values() for lang in a.languages)})
            where = f"campaign {campaign.id}'s languages"
        if p := _one_of("language", language, choices, where):
            problems.append(p)
    planned = {c for a in campaign.audiences.values() for c in a.channels} | {
        c for m in campaign.messages for c in (m.channels or ())
    }
    if channel and (p := _one_of("channel", channel, sorted(planned | known.channels), "the workspace's channels")):
        problems.append(p)
        channel = ""
    if not message_id:
        return problems
    messages = {m.id: m for m in campaign.messages}
    if p := _one_of("message", message_id, list(messages), f"campaign {campaign.id}'s messages"):
        return [*problems, p]
    message = messages[message_id]
    if audience and audience not in message.audiences:
        problems.append(
            f"message {message_id} is not addressed to {audience} (it goes to {', '.join(message.audiences)}) "
            "— leave message empty or name one of those audiences"
        )
    elif channel:
        reached = (
            message_channels(campaign, message, audience)
            if audience
            else sorted({c for a in message.audiences for c in message_channels(campaign, message, a)})
        )
        if channel not in reached:
            problems.append(
                f"no delivery of message {message_id}{f' to {audience}' if audience else ''} goes out on "
                f"{channel} (it goes out on {', '.join(reached) or 'no channel'}) — leave message empty "
                "or name one of those channels"
            )
    return problems


def _reach_problems(
    fields: Mapping[str, str], known: Known, as_of: datetime, line: int
) -> tuple[ReachRecord | None, list[str]]:
    """The record in `fields` (every column, stripped), or what is wrong with it."""
    campaign, problem = _campaign(fields, known)
    problems = [problem] if problem else []
    if campaign is not None:
        problems += _reach_fit(fields, campaign, known)
    metric = fields.get("metric", "")
    metrics = sorted({i.metric for a in campaign.aims for o in a.objectives for i in o.indicators}) if campaign else []
    if not metric:
        problems.append("metric is empty — write what was counted, e.g. leaflets, attendees, broadcasts")
    elif not _METRIC.fullmatch(metric):
        problems.append(
            f'metric "{metric}" is not a metric name — use at most 64 lowercase letters, digits and '
            "hyphens, e.g. leaflets"
        )
    elif metric not in metrics and closest(metric, metrics):
        # A new metric is fine (reach no indicator counts yet); one a letter off is a typo.
        problems.append(
            f'metric "{metric}" is not counted by any indicator{close_match(metric, metrics)} — '
            f"use the indicator's metric ({', '.join(metrics)})"
        )
    value, text = None, fields.get("value", "")
    try:
        value = float(text)
    except ValueError:
        problems.append(
            f'value "{text}" is not a number — write digits only, e.g. 500'
            if text
            else "value is empty — write how many, e.g. 500"
        )
    else:
        if not math.isfinite(value) or value < 0:
            problems.append(f"value {text} is not a count — write a number of zero or more, e.g. 500")
            value = None
    day, problem = _date_problem("date", fields.get("date", ""), _today(campaign, as_of))
    problems += [problem] if problem else []
    note = fields.get("note", "")
    problems += [p for p in [_text_problem("note", note)] if p]
    if problems or campaign is None or value is None or day is None:
        return None, problems
    return ReachRecord(
        campaign.id,
        metric,
        value,
        day,
        message=fields.get("message") or None,
        audience=fields.get("audience") or None,
        language=fields.get("language") or None,
        channel=fields.get("channel") or None,
        note=note or None,
        line=line,
    ), []


def check_reach(
    fields: Mapping[str, str | None], known: Known, as_of: datetime, where: str = "kmcomms reach add"
) -> ReachRecord:
    """One record typed on the command line (missing keys are empty), checked; raises
    `InvalidInput` with one diagnostic naming everything wrong with it."""
    record, problems = _reach_problems({k: (fields.get(k) or "").strip() for k in REACH_COLUMNS}, known, as_of, 0)
    if problems:
        raise InvalidInput([Diagnostic(where, 0, 0, Severity.ERROR, "reach-record", "; ".join(problems))])
    assert record is not None
    return record


def _header_problems(
    path: Path, header: list[str], columns: Sequence[str], optional: Sequence[str]
) -> list[Diagnostic]:
    names = [h.strip().lower() for h in header]
    required = [c for c in columns if c not in optional]
    want = ",".join(columns)
    if optional:
        want += (
            f" ({', '.join(optional[:-1])} and {optional[-1]} may be left out)"
            if len(optional) > 1
            else f" ({optional[0]} may be left out)"
        )
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        return [
            _error(path, 1, "csv-header", "the columns are separated by ; or tabs — export the file as CSV with commas")
        ]
    found = []
    if missing := [c for c in required if c not in names]:
        found.append(
            _error(
                path,
                1,
                "csv-header",
                f"the header has no column {', '.join(missing)} — the first line "
                f"names the columns, in any order: {want}",
            )
        )
    if extra := [h for h in dict.fromkeys(names) if h not in columns]:
        found.append(
            _error(
                path,
                1,
                "csv-header",
                f"the header has unexpected column{'s' * (len(extra) > 1)} "
                f"{', '.join(repr(one_line(h)) for h in extra)}{close_match(extra[0], columns)} — remove or "
                f"rename {'them' if len(extra) > 1 else 'it'}: the columns are {want}",
            )
        )
    if twice := sorted({h for h in names if h in columns and names.count(h) > 1}):
        found.append(_error(path, 1, "csv-header", f"the header repeats {', '.join(twice)} — keep one column of each"))
    return found


def csv_rows(
    path: Path, columns: Sequence[str], optional: Sequence[str] = (), data: bytes | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each non-blank row of the CSV at `path` (or in `data`, named
    `path`) whose header names `columns` in any order (case and spaces around names
    ignored), those in `optional` only if it has them; values stripped, a column left out
    read as empty. Raises `InvalidInput` for the file (unreadable, not UTF-8, a bad
    header, a broken quote) and for rows with the wrong number of values."""
    header: list[str] | None = None
    for start, fields in records(path, "csv", data):
        if header is None:
            if found := _header_problems(path, fields, columns, optional):
                raise InvalidInput(found)
            header = [h.strip().lower() for h in fields]
        elif len(fields) != len(header):
            raise InvalidInput(
                [
                    _error(
                        path,
                        start,
                        "csv-fields",
                        f"this row has {len(fields)} values, the header "
                        f"{len(header)} — quote a value that holds a comma",
                    )
                ]
            )
        else:
            yield (
                start,
                dict.fromkeys(columns, "") | {name: value.strip() for name, value in zip(header, fields, strict=True)},
            )
    if header is None:
        raise InvalidInput(
            [
                _error(
                    path, 1, "csv-header", f"the file is empty — the first line must be the header {','.join(columns)}"
                )
            ]
        )


def read_reach(path: Path, known: Known, as_of: datetime, data: bytes | None = None) -> list[ReachRecord]:
    """Every record in the CSV at `path` (or in `data`), checked. Raises `InvalidInput`
    with one diagnostic per bad row or one for the file, and nothing else."""
    records: list[ReachRecord] = []
    found: list[Diagnostic] = []
    try:
        for line, row in csv_rows(path, REACH_COLUMNS, REACH_OPTIONAL, data):
            record, problems = _reach_problems(row, known, as_of, line)
            if problems:
                found.append(_error(path, line, "reach-row", "; ".join(problems)))
            elif record is not None:
                records.append(record)
    except InvalidInput as exc:  # a file-level problem: keep the rows found bad before it
        found.extend(exc.diagnostics)
    if found:
        raise InvalidInput(found)
    return records


# ---------------------------------------------------------------------------- storage


def store_reach(engine: Engine, records: Sequence[ReachRecord]) -> StoredReach:
    """Append `records` to `reach_samples` in one transaction (source "manual"), each
    linked to its delivery when it names exactly one (see the module)."""
    campaigns = sorted({r.campaign for r in records})
    with engine.begin() as db:
        # By what a record names: campaign, message, audience, language, channel.
        matches: dict[tuple[str, str | None, str | None, str | None, str | None], list[str]] = {}
        if campaigns:
            query = select(
                deliveries.c.id,
                deliveries.c.campaign,
                deliveries.c.message,
                deliveries.c.audiences,
                deliveries.c.language,
                deliveries.c.channel,
            ).where(deliveries.c.campaign.in_(campaigns), deliveries.c.state != State.CANCELLED)
            for row in db.execute(query):
                # An item shared by several audiences is named by message, language and
                # channel alone; a record naming one of its audiences stays with that one.
                audiences = row.audiences.split()
                audience = audiences[0] if len(audiences) == 1 else None
                matches.setdefault((row.campaign, row.message, audience, row.language, row.channel), []).append(row.id)
        rows = []
        for r in records:
            named = (r.campaign, r.message, r.audience, r.language, r.channel)
            found = matches.get(named, [])
            # A linked record is placed by its delivery, so it names nothing itself (the
            # same as every channel's sample); a campaign-wide one keeps what it names.
            delivery = found[0] if len(found) == 1 else None
            names = (
                dict.fromkeys(("message", "audience", "language", "channel"))
                if delivery
                else {"message": r.message, "audience": r.audience, "language": r.language, "channel": r.channel}
            )
            rows.append(
                {
                    "delivery_id": delivery,
                    "campaign": r.campaign,
                    "metric": r.metric,
                    "value": r.value,
                    "observed_at": datetime.combine(r.day, time(), UTC),
                    "source": "manual",
                    "quality": r.note,
                    **names,
                }
            )
        reach.add_samples(db, rows)
    return StoredReach(len(rows), sum(1 for row in rows if row["delivery_id"]))


# ---------------------------------------------------------------------------- evidence


def check_evidence(
    fields: Mapping[str, str | None], known: Known, as_of: datetime, where: str = "kmcomms evidence add"
) -> EvidenceRecord:
    """An evidence record from `fields` (campaign, kind, title, date, source, url, notes;
    missing keys are empty), checked; raises `InvalidInput` with one diagnostic naming
    everything wrong with it."""
    given = {k: (fields.get(k) or "").strip() for k in ("campaign", "kind", "title", "date", "source", "url", "notes")}
    campaign, problem = _campaign(given, known)
    problems = [problem] if problem else []
    kind = given["kind"]
    if not kind:
        problems.append(f"kind is empty — use one of: {', '.join(KINDS)}")
    elif p := _one_of("kind", kind, list(KINDS), "the evidence kinds"):
        problems.append(p)
    if not given["title"]:
        problems.append("title is empty — say what it is, e.g. the document that cites the research")
    day, problem = _date_problem("date", given["date"], _today(campaign, as_of))
    problems += [problem] if problem else []
    problems += [p for name in ("title", "source", "notes") if (p := _text_problem(name, given[name]))]
    url = given["url"]
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or one_line(url) != url or " " in url:
            problems.append(
                f'url "{url}" is not a web address — give an http:// or https:// address, '
                "e.g. https://www.gov.uk/guidance/…"
            )
    if problems or campaign is None or day is None:
        raise InvalidInput([Diagnostic(where, 0, 0, Severity.ERROR, "evidence-record", "; ".join(problems))])
    return EvidenceRecord(
        campaign.id, kind, given["title"], day, given["source"] or None, url or None, given["notes"] or None
    )


def add_evidence(engine: Engine, record: EvidenceRecord) -> int:
    """Store one evidence record; returns its id."""
    return reach.add_evidence(
        engine,
        record.campaign,
        record.kind,
        record.title,
        datetime.combine(record.day, time(), UTC),
        record.source,
        record.url,
        record.notes,
    )


def list_evidence(engine: Engine, campaign: str | None = None) -> list[dict[str, object]]:
    """Evidence records, oldest first, as plain dicts (id, campaign, kind, researchfish,
    title, date, source, url, notes)."""
    query = select(evidence).order_by(evidence.c.happened_on, evidence.c.id)
    if campaign is not None:
        query = query.where(evidence.c.campaign == campaign)
    with engine.connect() as db:
        rows = db.execute(query).all()
    return [
        {
            "id": r.id,
            "campaign": r.campaign,
            "kind": r.kind,
            "researchfish": KINDS[r.kind].researchfish if r.kind in KINDS else None,
            "title": r.title,
            "date": r.happened_on.date().isoformat(),
            "source": r.source,
            "url": r.url,
            "notes": r.notes,
        }
        for r in rows
    ]


def researchfish_rows(
    records: Sequence[Mapping[str, object]], awards: Mapping[str, Sequence[str]]
) -> list[dict[str, str]]:
    """The export's rows (`RESEARCHFISH_COLUMNS`) for the records of `list_evidence` whose
    kind belongs in Researchfish's influence section; `awards` maps a campaign to the award
    references of its outputs."""
    rows = []
    for r in records:
        kind = KINDS.get(str(r["kind"]))
        if kind is None or kind.section != "influence":
            continue
        rows.append(
            dict(
                zip(
                    RESEARCHFISH_COLUMNS,
                    (
                        "; ".join(awards.get(str(r["campaign"]), ())),
                        kind.researchfish,
                        str(r["title"]),
                        str(r["notes"] or ""),
                        "",
                        str(r["date"])[:4],
                        str(r["date"]),
                        str(r["url"] or ""),
                        str(r["source"] or ""),
                        str(r["campaign"]),
                        str(r["id"]),
                    ),
                    strict=True,
                )
            )
        )
    return rows
