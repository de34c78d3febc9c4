"""Planning: campaigns in, deliveries out. A pure function of (campaigns, window, now).

On a targeted channel (newsletter, briefing: each audience has its own recipients) a
delivery is one occurrence of a message × audience × language × channel. On a broadcast
channel (blog, video listing, social: one public item anyone may see) it is one occurrence
× language × channel, reaching every audience of the message that uses that channel in
that language at that instant. Its id is a short hash of
`campaign/message/occurrence-UTC/audience/language/channel` (the audience left empty on a
broadcast channel, so adding an audience to a message never posts it again), so planning
the same files twice gives the same ids; its due time is an aware UTC instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kmcomms.campaign.load import LoadResult
from kmcomms.campaign.models import Campaign
from kmcomms.campaign.schedule import message_channels, occurrences, to_utc

__all__ = ["ALL_TIME", "Delivery", "Plan", "PlanNote", "Window", "delivery_id", "other_shape_ids", "plan", "plan_of"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One thing that will go out: who gets which message, in which language, where, when."""

    id: str
    campaign: str
    message: str
    occurrence: str
    """The local wall time this occurrence was planned for, ISO 8601 without offset."""
    audiences: tuple[str, ...]
    """Who it reaches, in the message's order: one audience on a targeted channel, every
    audience sharing the item on a broadcast channel."""
    language: str
    channel: str
    due: datetime
    """When it goes out: an aware UTC instant."""
    timezone: str
    """The IANA zone `occurrence` is read in."""

    def as_dict(self) -> dict[str, str | list[str]]:
        return {
            "id": self.id,
            "campaign": self.campaign,
            "message": self.message,
            "occurrence": self.occurrence,
            "audiences": list(self.audiences),
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
    `campaign/message/due-UTC/audience/language/channel`; `audience` is "" for a
    delivery on a broadcast channel."""
    return _id(_id_prefix(campaign, message, due, audience), language, channel)


def other_shape_ids(delivery: Delivery) -> set[str]:
    """The ids the same occurrence has on a channel of the other shape: one per audience
    for a shared (broadcast) delivery, the shared one for a per-audience delivery. A
    ledger planned before broadcast items were shared, or before a channel changed kind,
    holds those; it must never publish the same item again under a new id."""
    if len(delivery.audiences) == 1 and delivery.id == delivery_id(
        delivery.campaign, delivery.message, delivery.due, delivery.audiences[0], delivery.language, delivery.channel
    ):
        return {delivery_id(delivery.campaign, delivery.message, delivery.due, "", delivery.language, delivery.channel)}
    return {
        delivery_id(delivery.campaign, delivery.message, delivery.due, audience, delivery.language, delivery.channel)
        for audience in delivery.audiences
    }


def _campaign_deliveries(campaign: Campaign, notes: list[PlanNote], broadcast: Collection[str]) -> Iterator[Delivery]:
    for message in campaign.messages:
        for wall in occurrences(campaign, message):
            occurrence = wall.isoformat(timespec="minutes")
            # A broadcast item is shared by the audiences that get it at the same instant:
            # (due, language, channel) → its audiences, in the message's order.
            shared: dict[tuple[datetime, str, str], list[str]] = {}
            zones: dict[datetime, str] = {}
            for audience_id in message.audiences:
                audience = campaign.audiences[audience_id]
                zone = audience.timezone or campaign.timezone
                local = to_utc(wall, zone)
                zones.setdefault(local.utc, zone)
                if local.note:
                    notes.append(PlanNote(campaign.id, message.id, local.note))
                channels = message_channels(campaign, message, audience_id)
                # The prefix is formatted once for all the languages and channels it fans out to.
                prefix = _id_prefix(campaign.id, message.id, local.utc, audience_id)
                for language in audience.languages:
                    for channel in channels:
                        if channel in broadcast:
                            shared.setdefault((local.utc, language, channel), []).append(audience_id)
                            continue
                        yield Delivery(
                            _id(prefix, language, channel),
                            campaign.id,
                            message.id,
                            occurrence,
                            (audience_id,),
                            language,
                            channel,
                            local.utc,
                            zone,
                        )
            for (due, language, channel), audiences in shared.items():
                yield Delivery(
                    delivery_id(campaign.id, message.id, due, "", language, channel),
                    campaign.id,
                    message.id,
                    occurrence,
                    tuple(audiences),
                    language,
                    channel,
                    due,
                    zones[due],
                )


def plan(campaigns: Iterable[Campaign], window: Window, now: datetime, broadcast: Collection[str] = ()) -> Plan:
    """Every delivery of `campaigns` due within `window`, sorted by due time.

    `broadcast` names the channels whose items are public, shared by every audience
    reached there (blog, video listing, social); the others get a delivery per audience.
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
        for delivery in _campaign_deliveries(campaign, notes, broadcast):
            if delivery.due >= start and (end is None or delivery.due < end):
                deliveries.append(delivery)
    deliveries.sort(key=lambda d: (d.due, d.campaign, d.message, d.audiences, d.language, d.channel))
    return Plan(deliveries, list(dict.fromkeys(notes)))


def plan_of(loaded: LoadResult, window: Window, now: datetime) -> Plan:
    """The deliveries of the loaded campaigns, on their workspaces' channels."""
    return plan((c.campaign for c in loaded.campaigns), window, now, loaded.broadcast)
