"""What the summary and the sections share: counting words, statuses in a sentence,
chart captions, a campaign's days and indicators, and the stock sentences on where reach
comes from and when a trend is projected."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kmcomms.campaign.models import Campaign, Indicator
from kmcomms.evaluate.model import PROJECTION_MIN_DAYS, PROJECTION_MIN_SHARE, Status
from kmcomms.report.model import format_number

__all__ = ["COLLECT", "PROJECTION_RULE", "by_date", "count", "describe", "indicator_specs", "status_words"]

#: Where reach comes from, for a section that has none yet.
COLLECT = (
    "channels report their reach when the daemon or `kmcomms collect` asks them; record what no channel "
    "sees (leaflets, attendees, sessions) with `kmcomms reach add` or `kmcomms reach import`."
)

#: When a trend is projected, in words (the rule is kmcomms.evaluate's `_status`).
PROJECTION_RULE = (
    f"A trend is projected once at least {PROJECTION_MIN_DAYS} days and {PROJECTION_MIN_SHARE:.0%} of "
    "an indicator's time (from the campaign's start to its deadline) have passed: earlier, a few days' "
    "count carried on to the deadline would be multiplied many times over, so the status is "
    "“too early”."
)

_SENTENCE_STATUS = {Status.TOO_EARLY: "too early to project"}


def count(n: int, thing: str, things: str | None = None) -> str:
    """ "1 objective", "3 objectives" ("1 delivery", "2 deliveries" with `things`)."""
    return f"{n} {thing if n == 1 else things or thing + 's'}"


def status_words(counts: Counter[Status]) -> str:
    """ "1 met, 2 no data": each status counted, best first."""
    order = (Status.MET, Status.ON_TRACK, Status.TOO_EARLY, Status.AT_RISK, Status.MISSED, Status.NO_DATA)
    return ", ".join(f"{counts[s]} {_SENTENCE_STATUS.get(s, s.value)}" for s in order if counts[s]) or "none"


def describe(pairs: Iterable[tuple[object, object]], unit: str) -> str:
    """A chart's data in one sentence, for its caption: "parents · en 250; clinicians 9 (views)."."""
    suffix = unit if unit == "%" else ""
    said = "; ".join(
        f"{label} {format_number(value)}{suffix}" if isinstance(value, int | float) else f"{label} {value}"
        for label, value in pairs
    )
    return said + ("." if suffix else f" ({unit}).")


def by_date(c: Campaign, instant: datetime | None) -> date | None:
    """The day of `instant` in the campaign's time zone."""
    return None if instant is None else instant.astimezone(ZoneInfo(c.timezone)).date()


def indicator_specs(c: Campaign) -> dict[tuple[str, str], Indicator]:
    return {(o.id, i.id): i for a in c.aims for o in a.objectives for i in o.indicators}
