"""Planning: campaigns in, deliveries out. A pure function of (campaigns, window, now).

A delivery is one occurrence of a message × audience × language × channel. Its id is a
short hash of `campaign/message/occurrence-UTC/audience/language/channel`, so planning the
same files twice gives the same ids, and its due time is an aware UTC instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from kmcomms.fields import WEEKDAYS, parse_every
from kmcomms.models import Campaign, Message
from kmcomms.timing import to_utc

__all__ = ["ALL_TIME", "Delivery", "Plan", "PlanNote", "Window", "delivery_id", "message_channels", "occurrences", "plan"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One thing that will go out: who gets which message, in which language, where, when."""

    id: str
    campaign: str
    message: str
    occurrence: str
    """The local wall time this occurrence was planned for, ISO 8601 without offset."""
    audience: str
    language: str
    channel: str
    due: datetime
    """When it goes out: an aware UTC instant."""
    timezone: str
    """The IANA zone `occurrence` is read in."""

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "campaign": self.campaign,
            "message": self.message,
            "occurrence": self.occurrence,
            "audience": self.audience,
            "language": self.language,
            "channel": self.channel,
            "due": self.due.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": self.timezone,
        }


@dataclass(frozen=True, slots=True)
class PlanNote:
    """Something planning changed or wants a person to know (a DST shift, say)."""

    campaign: str
    message: str
    text: str


@dataclass(frozen=True, slots=True)
class Window:
    """Due instants from `start` (inclusive; default: now) to `end` (exclusive; default: none)."""

    start: datetime | None = None
    end: datetime | None = None


#: Every delivery, however long ago it was due (the ledger, previews, `plan --all`).
ALL_TIME = Window(start=datetime.min.replace(tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class Plan:
    deliveries: list[Delivery]
    notes: list[PlanNote] = field(default_factory=list)


def _id_prefix(campaign: str, message: str, due: datetime, audience: str) -> str:
    return f"{campaign}/{message}/{due:%Y-%m-%dT%H:%M:%SZ}/{audience}/"


def _id(prefix: str, language: str, channel: str) -> str:
    return hashlib.blake2b(f"{prefix}{language}/{channel}".encode(), digest_size=6).hexdigest()


def delivery_id(campaign: str, message: str, due: datetime, audience: str, language: str, channel: str) -> str:
    """The stable short id of a delivery (12 hex digits): a hash of
    `campaign/message/due-UTC/audience/language/channel`."""
    return _id(_id_prefix(campaign, message, due, audience), language, channel)


def occurrences(campaign: Campaign, message: Message) -> Iterator[datetime]:
    """The message's local wall times, in order, within its repeat's range."""
    if message.at is not None:
        yield message.at
        return
    repeat = message.repeat
    assert repeat is not None  # the model requires `at` or `repeat`
    first: date = repeat.starts or campaign.starts
    last: date = repeat.until or campaign.ends
    step, unit = parse_every(repeat.every)
    if unit == "days":
        day = first
        while day <= last:
            yield datetime.combine(day, repeat.at)
            day += timedelta(days=step)
        return
    weekdays = sorted(WEEKDAYS.index(d) for d in repeat.on) if repeat.on else [first.weekday()]
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        for weekday in weekdays:
            day = monday + timedelta(days=weekday)
            if first <= day <= last:
                yield datetime.combine(day, repeat.at)
        monday += timedelta(weeks=step)


def message_channels(campaign: Campaign, message: Message, audience: str) -> list[str]:
    """Where a message reaches one of its audiences: the message's channels that the
    audience is reached through (all of the audience's when the message names none)."""
    reached = campaign.audiences[audience].channels
    if message.channels is None:
        return list(reached)
    return [c for c in message.channels if c in reached]


def _campaign_deliveries(campaign: Campaign, notes: list[PlanNote]) -> Iterator[Delivery]:
    for message in campaign.messages:
        for wall in occurrences(campaign, message):
            occurrence = wall.isoformat(timespec="minutes")
            for audience_id in message.audiences:
                audience = campaign.audiences[audience_id]
                zone = audience.timezone or campaign.timezone
                local = to_utc(wall, zone)
                if local.note:
                    notes.append(PlanNote(campaign.id, message.id, local.note))
                channels = message_channels(campaign, message, audience_id)
                # The prefix is formatted once for all the languages and channels it fans out to.
                prefix = _id_prefix(campaign.id, message.id, local.utc, audience_id)
                for language in audience.languages:
                    for channel in channels:
                        yield Delivery(
                            _id(prefix, language, channel),
                            campaign.id, message.id, occurrence, audience_id, language, channel, local.utc, zone,
                        )


def plan(campaigns: Iterable[Campaign], window: Window, now: datetime) -> Plan:
    """Every delivery of `campaigns` due within `window`, sorted by due time.

    `window.start` defaults to `now`: a plan looks forward unless told otherwise.
    Notes (DST shifts) are kept once per campaign and message.
    """
    if now.tzinfo is None:
        raise ValueError("plan() needs an aware `now` (UTC)")
    start = window.start or now
    end = window.end
    deliveries: list[Delivery] = []
    notes: list[PlanNote] = []
    for campaign in campaigns:
        for delivery in _campaign_deliveries(campaign, notes):
            if delivery.due >= start and (end is None or delivery.due < end):
                deliveries.append(delivery)
    deliveries.sort(key=lambda d: (d.due, d.campaign, d.message, d.audience, d.language, d.channel))
    return Plan(deliveries, list(dict.fromkeys(notes)))

