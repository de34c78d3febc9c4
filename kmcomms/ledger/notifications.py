"""Who was told that a delivery needs a person (`notifications`): once per delivery and
state, taken with a conditional insert, so that with several daemons only one tells."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, delete, select

from kmcomms.ledger.ledger import NEEDS_A_PERSON
from kmcomms.ledger.sql import upsert
from kmcomms.ledger.tables import LedgerRow, deliveries, notifications

__all__ = ["forget", "give_back", "pending", "take"]


def pending(engine: Engine) -> list[LedgerRow]:
    """Deliveries that need a person and have not been told about in their current state."""
    told = select(notifications.c.delivery_id).where(
        and_(notifications.c.delivery_id == deliveries.c.id, notifications.c.state == deliveries.c.state)
    )
    with engine.connect() as db:
        return list(
            db.execute(
                select(deliveries)
                .where(deliveries.c.state.in_(NEEDS_A_PERSON), ~told.exists())
                .order_by(deliveries.c.due_at)
            )
        )


def take(engine: Engine, rows: Sequence[LedgerRow], now: datetime, via: str) -> list[LedgerRow]:
    """Take the delivery `rows` (of `pending`) to tell about `via` (how): a row another
    daemon took first is skipped. Returns those taken."""
    taken = []
    with engine.begin() as db:
        for row in rows:
            done = db.execute(
                upsert(engine, notifications)
                .values(delivery_id=row.id, state=row.state, notified_at=now, via=via[:64])
                .on_conflict_do_nothing(index_elements=["delivery_id", "state"])
                .returning(notifications.c.delivery_id)
            ).first()
            if done is not None:
                taken.append(row)
    return taken


def give_back(engine: Engine, rows: Sequence[LedgerRow]) -> None:
    """Untake `rows` (a notice that reached nobody): they are pending again."""
    with engine.begin() as db:
        for row in rows:
            db.execute(
                delete(notifications).where(notifications.c.delivery_id == row.id, notifications.c.state == row.state)
            )


def forget(engine: Engine, delivery_id: str) -> None:
    """Clear what was told about `delivery_id`, so a new failure of it is told again."""
    with engine.begin() as db:
        db.execute(delete(notifications).where(notifications.c.delivery_id == delivery_id))
