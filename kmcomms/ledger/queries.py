"""Reading the ledger's deliveries and publications for the stages after it: what is due,
what needs settling, what is published where. Reads only; the writes are the operations
of `ledger` and the modules beside it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from kmcomms.ledger.ledger import State
from kmcomms.ledger.tables import LedgerRow, deliveries, publications

__all__ = ["due_by", "in_state", "published", "published_content"]


def in_state(engine: Engine, state: State) -> list[LedgerRow]:
    """Every delivery in `state`."""
    with engine.connect() as db:
        return list(db.execute(select(deliveries).where(deliveries.c.state == state)))


def due_by(engine: Engine, until: datetime) -> list[LedgerRow]:
    """The deliveries planned or retrying that are due by `until`."""
    with engine.connect() as db:
        return list(
            db.execute(
                select(deliveries).where(
                    deliveries.c.state.in_((State.PLANNED, State.RETRYING)), deliveries.c.due_at <= until
                )
            )
        )


def published_content(engine: Engine) -> list[LedgerRow]:
    """Every published delivery, with where it is (`remote_id`, `url`) and the fingerprint
    of what was published (`content_hash`; empty when it was recorded by hand or found)."""
    with engine.connect() as db:
        return list(
            db.execute(
                select(deliveries, publications.c.remote_id, publications.c.url, publications.c.content_hash)
                .join(publications, publications.c.delivery_id == deliveries.c.id)
                .where(deliveries.c.state == State.PUBLISHED)
            )
        )


def published(
    engine: Engine, channel: str | None = None, campaign: str | None = None
) -> list[tuple[str, str, str, str | None, str]]:
    """(delivery id, campaign, remote id, url, channel) of each published delivery with a
    remote id (one published by hand has none), of `channel` and `campaign` when given, by
    channel and due time."""
    query = (
        select(
            deliveries.c.id, deliveries.c.campaign, publications.c.remote_id, publications.c.url, deliveries.c.channel
        )
        .join_from(deliveries, publications, publications.c.delivery_id == deliveries.c.id)
        .where(deliveries.c.state == State.PUBLISHED, publications.c.remote_id.is_not(None))
        .order_by(deliveries.c.channel, deliveries.c.due_at, deliveries.c.id)
    )
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    if campaign is not None:
        query = query.where(deliveries.c.campaign == campaign)
    with engine.connect() as db:
        return [tuple(row) for row in db.execute(query)]
