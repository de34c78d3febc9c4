"""The plan as an iCalendar feed a comms officer can subscribe to (Outlook, Google Calendar).

Each delivery is one event whose UID is the delivery id, so a re-exported feed updates
the events already in a calendar instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from icalendar import Calendar, Event

from kmcomms import __version__
from kmcomms.campaign.models import Campaign
from kmcomms.plan.deliveries import Plan

__all__ = ["plan_to_ics"]


def plan_to_ics(plan: Plan, campaigns: Iterable[Campaign], now: datetime, name: str = "kmcomms plan") -> bytes:
    """An RFC 5545 calendar of every delivery in `plan`; `now` stamps the events."""
    titles = {(c.id, m.id): m.title for c in campaigns for m in c.messages}
    calendar = Calendar()
    calendar.add("prodid", f"-//kmcomms//kmcomms {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "UTC")
    for d in plan.deliveries:
        event = Event()
        event.add("uid", f"{d.id}@kmcomms")
        event.add("dtstamp", now)
        event.add("dtstart", d.due)
        event.add("dtend", d.due + timedelta(minutes=15))
        event.add(
            "summary",
            f"{titles.get((d.campaign, d.message), d.message)} ({d.channel}, {', '.join(d.audiences)}, {d.language})",
        )
        event.add(
            "description",
            (
                f"Campaign: {d.campaign}\nMessage: {d.message}\n{'Audiences' if len(d.audiences) > 1 else 'Audience'}: {', '.join(d.audiences)}\n"
                f"Language: {d.language}\nChannel: {d.channel}\n"
                f"Local time: {d.occurrence} {d.timezone}\nDelivery: {d.id}"
            ),
        )
        event.add("categories", [d.campaign, d.channel])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return cast(bytes, calendar.to_ical())  # icalendar leaves to_ical unannotated: it returns bytes
