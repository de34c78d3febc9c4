"""What a message's schedule means: its local wall times (`occurrences`), the channels it
reaches each audience through, and wall time to UTC instants, with daylight-saving gaps
and folds made explicit.

A wall time in a gap (clocks go forward) does not exist: it moves forward to the first
valid instant, the moment the clocks change. A wall time in a fold (clocks go back)
happens twice: the first occurrence is taken. Both are reported, never silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from kmcomms.campaign.fields import WEEKDAYS, parse_every
from kmcomms.campaign.models import Campaign, Message

__all__ = ["LocalInstant", "message_channels", "occurrences", "to_utc"]


@dataclass(frozen=True, slots=True)
class LocalInstant:
    """A resolved wall time: the UTC instant, and a note when DST changed it."""

    utc: datetime
    note: str | None = None


def _transition(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first UTC second in (before, after] whose offset equals `after`'s."""
    target = after.astimezone(zone).utcoffset()
    lo, hi = before, after
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


# Unbounded on purpose: campaigns hold few distinct wall times, and a bounded cache that
# validation fills would make planning miss on every lookup once it is full.
@cache
def to_utc(wall: datetime, zone_name: str) -> LocalInstant:
    """The UTC instant of naive local `wall` time in the IANA zone `zone_name`."""
    zone = ZoneInfo(zone_name)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return LocalInstant(first)
    if first.astimezone(zone).replace(tzinfo=None) != wall:
        # In a gap, fold=0 reads the wall time with the old offset (an instant after the
        # change) and fold=1 with the new one (before it); the change lies between.
        moved = _transition(min(first, second), max(first, second), zone)
        local = moved.astimezone(zone)
        return LocalInstant(
            moved,
            f"{wall:%Y-%m-%d %H:%M} does not exist in {zone_name} (the clocks go forward);"
            f" it goes out at {local:%H:%M %Z} instead",
        )
    earlier = min(first, second)
    return LocalInstant(
        earlier,
        f"{wall:%Y-%m-%d %H:%M} happens twice in {zone_name} (the clocks go back);"
        f" it goes out the first time, {earlier:%H:%M} UTC",
    )


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
