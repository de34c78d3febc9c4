"""Reading the ledger for people: counts per state, what is next, what needs a person."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import Engine, select

from kmcomms.ledger.ledger import NEEDS_A_PERSON, OPEN, State, counts
from kmcomms.ledger.sync import replaced
from kmcomms.ledger.tables import LedgerRow, deliveries
from kmcomms.plan.deliveries import ALL_TIME, plan_of

if TYPE_CHECKING:
    from kmcomms.publish.runtime import Runtime

__all__ = ["DeliveryLine", "DueLine", "Placement", "Summary", "due_now", "placement", "summary"]


class DeliveryLine(TypedDict):
    """One delivery as `status` shows it."""

    id: str
    campaign: str
    message: str
    audiences: list[str]
    language: str
    channel: str
    state: str
    due: str
    attempts: int
    reason: str | None


class Summary(TypedDict):
    counts: dict[str, int]
    next: list[DeliveryLine]
    needs_a_person: list[DeliveryLine]
    blocked: list[DeliveryLine]


class DueLine(TypedDict):
    """One delivery a pass would handle now, and what it would do (`would`)."""

    id: str
    campaign: str
    message: str
    audiences: list[str]
    language: str
    channel: str
    due: str
    would: str


class Placement(TypedDict):
    """Which delivery a row is, in the words every report of one uses."""

    campaign: str
    message: str
    audiences: list[str]
    language: str
    channel: str
    due: str


def placement(row: LedgerRow) -> Placement:
    """What `status`, the notices to people and the daemon's log say of the delivery `row`."""
    return {
        "campaign": row.campaign,
        "message": row.message,
        "audiences": row.audiences.split(),
        "language": row.language,
        "channel": row.channel,
        "due": row.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _row(row: LedgerRow) -> DeliveryLine:
    return DeliveryLine(id=row.id, state=row.state, attempts=row.attempts, reason=row.reason, **placement(row))


def summary(engine: Engine, now: datetime, upcoming: int = 10) -> Summary:
    """Counts per state, the next `upcoming` open deliveries, and every one that needs a person."""
    with engine.connect() as db:
        nxt = db.execute(
            select(deliveries)
            .where(deliveries.c.state.in_(OPEN), deliveries.c.due_at >= now)
            .order_by(deliveries.c.due_at)
            .limit(upcoming)
        ).all()
        waiting = db.execute(
            select(deliveries).where(deliveries.c.state.in_(NEEDS_A_PERSON)).order_by(deliveries.c.due_at)
        ).all()
        blocked = db.execute(
            select(deliveries).where(deliveries.c.state == State.BLOCKED).order_by(deliveries.c.due_at)
        ).all()
    return {
        "counts": counts(engine),
        "next": [_row(r) for r in nxt],
        "needs_a_person": [_row(r) for r in waiting],
        "blocked": [_row(r) for r in blocked],
    }


def due_now(runtime: Runtime, now: datetime) -> list[DueLine]:
    """What a pass at `now` would publish and how each renders, claiming nothing. The
    plan is read from the campaigns, so it also shows deliveries not yet in the ledger."""
    with runtime.engine.connect() as db:
        known = {row.id: row for row in db.execute(select(deliveries.c.id, deliveries.c.state, deliveries.c.reason))}
    rows: list[DueLine] = []
    for delivery in plan_of(runtime.loaded, ALL_TIME, now).deliveries:
        row = known.get(delivery.id)
        if delivery.due > now or (row.state not in OPEN if row else replaced(delivery, known)):
            continue
        channel = runtime.channels.get(delivery.channel)
        if channel is not None and now - delivery.due > channel.grace_period:
            would = f"missed (due more than {channel.grace_period} ago)"
        else:
            draft = runtime.dispatcher.renderer.render(delivery)
            reason = runtime.dispatcher.gate(delivery.campaign, delivery.message, draft, now)
            would = f"blocked: {reason}" if reason else "publish"
        rows.append(
            {
                "id": delivery.id,
                "campaign": delivery.campaign,
                "message": delivery.message,
                "audiences": list(delivery.audiences),
                "language": delivery.language,
                "channel": delivery.channel,
                "due": delivery.due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "would": would,
            }
        )
    return rows
