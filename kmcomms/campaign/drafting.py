"""Drafting a new campaign from a starting point (`kmcomms new`).

A pure function of the answers: `draft_campaign` renders the Jinja2 templates in
`kmcomms/starters/<shape>/` into the text of `campaigns/<id>/campaign.yaml` and its
Markdown bodies. Nothing here reads the clock, the workspace or the terminal; the command
passes everything in, so the same answers always give the same files.

Three shapes, the common knowledge-mobilisation campaigns:

* `awareness`: the public, in one or more languages; a launch and a fortnightly reminder.
* `policy-briefing`: named decision makers; a briefing with key points, evidence,
  uncertainty, recommendations and contacts.
* `event`: an event or science-fair activity; announce it, remind on the day.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path, PurePosixPath

import jinja2

__all__ = [
    "SHAPES",
    "DraftAnswers",
    "Shape",
    "audience_key",
    "default_channels",
    "default_event_date",
    "draft_campaign",
    "next_monday",
    "slugify",
    "yaml_plain",
    "yaml_quote",
]

CAMPAIGN_WEEKS = 12
"""Default length of a campaign, from its start."""
FIRST_SEND = time(9, 0)
"""Default local time of the first message."""
REMINDER_WEEKS = 2
CONTACT_PLACEHOLDER = "[Replace: Dr A. Researcher <a.researcher@unit.example.ac.uk>]"
EVENT_REMINDER = time(8, 0)
"""Local time of the on-the-day reminder of an event."""


@dataclass(frozen=True, slots=True)
class Shape:
    """A starting point: what it is for, and its defaults."""

    name: str
    summary: str
    title: str
    audience_name: str
    audience_kind: str
    channels: tuple[str, ...]
    """Workspace channels that suit the shape, in order of preference."""
    fallback_channels: tuple[str, ...] = ()
    """Used when none of `channels` is defined."""


SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        Shape(
            "awareness",
            "public awareness in one or more languages: a launch and a fortnightly reminder",
            "Public awareness campaign",
            "Members of the public",
            "public",
            ("blog", "newsletter", "video"),
        ),
        Shape(
            "policy-briefing",
            "a briefing to named decision makers: key points, evidence, uncertainty, recommendations",
            "Policy briefing",
            "Policy makers and commissioners",
            "policy",
            ("briefing",),
            ("newsletter",),
        ),
        Shape(
            "event",
            "an event or science-fair activity: announce it, remind people on the day",
            "Science fair stand",
            "Visitors to the event",
            "public",
            ("blog", "newsletter"),
        ),
    )
}

_AUDIENCE_KEYS = {"policy": "decision-makers"}


@dataclass(frozen=True, slots=True)
class DraftAnswers:
    """Everything a draft depends on. `languages[0]` is the language the text is written in."""

    shape: str
    id: str
    title: str
    owner: str
    timezone: str
    languages: tuple[str, ...]
    channels: tuple[str, ...]
    starts: date
    ends: date
    at: datetime
    """The first message's local wall time."""
    audience_name: str
    audience_kind: str
    event_date: date | None = None
    """The day of the event (shape `event`; default: `default_event_date(at)`)."""
    contacts: tuple[str, ...] = field(default=())
    """Named in a briefing for enquiries (default: the owner, when it is an email address)."""


def slugify(text: str, limit: int = 48) -> str:
    """A campaign id from a title: lowercase ASCII letters, digits and single hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] if "-" in slug[:limit] else slug[:limit]
    return slug.strip("-") or "campaign"


def next_monday(today: date) -> date:
    """The first Monday after `today` (a week on when today is a Monday)."""
    return today + timedelta(days=7 - today.weekday())


def default_event_date(at: datetime) -> date:
    """The first Saturday at least two weeks after the announcement."""
    day = at.date() + timedelta(weeks=2)
    return day + timedelta(days=(5 - day.weekday()) % 7)


def default_channels(shape: str, workspace_channels: list[str]) -> list[str]:
    """The workspace's channels that suit the shape; else its fallback; else the first defined."""
    spec = SHAPES[shape]
    for wanted in (spec.channels, spec.fallback_channels):
        found = [c for c in wanted if c in workspace_channels]
        if found:
            return found
    return list(workspace_channels[:1])


def audience_key(kind: str) -> str:
    """The audience's key in `audiences:`, from its kind."""
    return _AUDIENCE_KEYS.get(kind, kind)


# YAML output. Values people typed are quoted as JSON strings, which YAML reads as
# double-quoted scalars; characters YAML may not hold raw (controls, and the line breaks
# NEL, LS and PS that JSON leaves alone but YAML would fold into spaces) are escaped.
_NOT_YAML_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./+-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def yaml_quote(value: object) -> str:
    """`value` as a double-quoted YAML scalar (JSON string syntax)."""
    text = json.dumps(str(value), ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def yaml_plain(value: object) -> str:
    """`value` bare when it is a plain word YAML (1.1 or 1.2) reads as text, else quoted."""
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return yaml_quote(text)


def _yaml_list(values: Iterable[object]) -> str:
    return "[" + ", ".join(yaml_plain(v) for v in values) + "]"


def _wall(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kmcomms", "starters"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(q=yaml_quote, plain=yaml_plain, flow=_yaml_list, wall=_wall)
    return env


def _awareness(a: DraftAnswers) -> tuple[dict[str, object], list[str]]:
    reminder_starts = a.at.date() + timedelta(weeks=REMINDER_WEEKS)
    reminder = reminder_starts <= a.ends
    # The reminder goes by email where there is email; never as a film.
    reminder_channels = [c for c in a.channels if c == "newsletter"] or [c for c in a.channels if c != "video"]
    context = {
        "reminder": reminder,
        "reminder_starts": reminder_starts,
        "reminder_every": f"{REMINDER_WEEKS} weeks",
        "reminder_channels": reminder_channels if reminder_channels != list(a.channels) else None,
        "video": "video" in a.channels,
    }
    return context, ["launch", *(["reminder"] if reminder else [])]


def _policy_briefing(a: DraftAnswers) -> tuple[dict[str, object], list[str]]:
    briefing_channel = [c for c in a.channels if c == "briefing"]
    return {
        "briefing_channels": briefing_channel or None,
        "contacts": list(a.contacts) or ([a.owner] if "@" in a.owner else [CONTACT_PLACEHOLDER]),
    }, ["briefing"]


def _event(a: DraftAnswers) -> tuple[dict[str, object], list[str]]:
    event_date = a.event_date or default_event_date(a.at)
    return {
        "event_date": event_date,
        "on_the_day": datetime.combine(event_date, EVENT_REMINDER),
    }, ["announce", "on-the-day"]


_SHAPE_CONTEXT = {"awareness": _awareness, "policy-briefing": _policy_briefing, "event": _event}


def draft_campaign(answers: DraftAnswers, workspace_channels: list[str]) -> dict[Path, str]:
    """The files of a new campaign: paths relative to the workspace → their text.

    `answers.channels`, when empty, defaults to `default_channels(shape, workspace_channels)`.
    The result is meant to validate; the command checks it with `load_campaign` before
    writing it in place, so a bad answer (an unknown channel) is reported, not written.
    """
    if answers.shape not in SHAPES:
        raise ValueError(f"unknown shape {answers.shape!r}: use one of {', '.join(SHAPES)}")
    channels = tuple(answers.channels) or tuple(default_channels(answers.shape, workspace_channels))
    languages = tuple(dict.fromkeys(answers.languages)) or ("en",)
    answers = replace(answers, channels=channels, languages=languages)
    extra, messages = _SHAPE_CONTEXT[answers.shape](answers)
    context: dict[str, object] = {
        **{f.name: getattr(answers, f.name) for f in fields(answers)},
        "language": languages[0],
        "other_languages": list(languages[1:]),
        "audience": audience_key(answers.audience_kind),
        "public": answers.audience_kind in ("public", "patients", "community"),
        "defined_channels": list(workspace_channels),
        "messages": messages,
        **extra,
    }
    env = _environment()
    folder = PurePosixPath("campaigns", answers.id)
    files = {Path(folder / "campaign.yaml"): env.get_template(f"{answers.shape}/campaign.yaml.j2").render(context)}
    for message in messages:
        body = env.get_template(f"{answers.shape}/{message}.md.j2").render({**context, "message": message})
        files[Path(folder / "messages" / f"{message}.md")] = body
    return files
