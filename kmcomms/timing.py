"""Local wall time to UTC instants, with daylight-saving gaps and folds made explicit.

A wall time in a gap (clocks go forward) does not exist: it moves forward to the first
valid instant, the moment the clocks change. A wall time in a fold (clocks go back)
happens twice: the first occurrence is taken. Both are reported, never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

__all__ = ["LocalInstant", "to_utc"]


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
