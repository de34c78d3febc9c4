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

Checks: those of `kmcomms.reach.checks` (the campaign, its plan, the metric, the value,
the date, the texts), and evidence URLs http(s); a CSV is read by
`kmcomms.reach.spreadsheets`. A problem raises `InvalidInput`: one diagnostic per bad row
(`FILE:LINE: what — how to fix`), and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, select

from kmcomms.campaign.load import LoadResult
from kmcomms.campaign.models import Campaign
from kmcomms.errors import Diagnostic, InvalidInput, Severity, one_line
from kmcomms.files import error as _error
from kmcomms.ledger import reach
from kmcomms.ledger.tables import evidence
from kmcomms.reach.checks import (
    date_problem,
    find_campaign,
    metric_problem,
    one_of,
    plan_problems,
    text_problem,
    today_for,
    value_problem,
)
from kmcomms.reach.spreadsheets import csv_rows

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
    "list_evidence",
    "read_reach",
    "researchfish_rows",
    "store_reach",
]

#: The columns of a reach record, in the order of the format (campaign-format.md), then a note.
REACH_COLUMNS = ("campaign", "message", "audience", "language", "channel", "date", "metric", "value", "note")
#: Those a CSV may leave out: a row without them is a campaign-level record, with no note.
REACH_OPTIONAL = ("message", "audience", "language", "channel", "note")


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


def _reach_problems(
    fields: Mapping[str, str], known: Known, as_of: datetime, line: int
) -> tuple[ReachRecord | None, list[str]]:
    """The record in `fields` (every column, stripped), or what is wrong with it."""
    campaign, problem = find_campaign(fields.get("campaign", ""), known.campaigns, known.broken)
    problems = [problem] if problem else []
    if campaign is not None:
        problems += plan_problems(fields, campaign, known.channels)
    metric = fields.get("metric", "")
    problems += [p for p in [metric_problem(metric, campaign)] if p]
    value, problem = value_problem(fields.get("value", ""))
    problems += [problem] if problem else []
    day, problem = date_problem("date", fields.get("date", ""), today_for(campaign, as_of))
    problems += [problem] if problem else []
    note = fields.get("note", "")
    problems += [p for p in [text_problem("note", note)] if p]
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
    with engine.begin() as db:
        matches = reach.deliveries_by_name(db, sorted({r.campaign for r in records}))
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
    campaign, problem = find_campaign(given["campaign"], known.campaigns, known.broken)
    problems = [problem] if problem else []
    kind = given["kind"]
    if not kind:
        problems.append(f"kind is empty — use one of: {', '.join(KINDS)}")
    elif p := one_of("kind", kind, list(KINDS), "the evidence kinds"):
        problems.append(p)
    if not given["title"]:
        problems.append("title is empty — say what it is, e.g. the document that cites the research")
    day, problem = date_problem("date", given["date"], today_for(campaign, as_of))
    problems += [problem] if problem else []
    problems += [p for name in ("title", "source", "notes") if (p := text_problem(name, given[name]))]
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
