"""Reach and evidence in the ledger: samples appended to `reach_samples` (a channel's
running totals, a person's records, the tracking server's counts) and evidence records;
and the deliveries a person's record may be linked to. Samples are only ever appended;
reports read them (`kmcomms.evaluate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Engine, Row, insert, select

from kmcomms.ledger.ledger import State
from kmcomms.ledger.sql import transaction
from kmcomms.ledger.tables import deliveries, evidence, reach_samples

__all__ = ["add_evidence", "add_samples", "count", "deliveries_by_name"]

#: What a manual reach record names: campaign, message, audience, language, channel.
Named = tuple[str, str | None, str | None, str | None, str | None]


def add_samples(bind: Engine | Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Append `rows` (delivery_id, campaign, metric, value, observed_at, source, quality,
    and what a record tied to no delivery names) to `reach_samples`, all or none. Given a
    Connection, inside its transaction."""
    if rows:
        with transaction(bind) as db:
            db.execute(insert(reach_samples), rows)


def deliveries_by_name(db: Connection, campaigns: Sequence[str]) -> dict[Named, list[str]]:
    """The ids of the deliveries of `campaigns` (cancelled ones aside) by what a manual
    record names, read inside the caller's transaction."""
    matches: dict[Named, list[str]] = {}
    if not campaigns:
        return matches
    query = select(
        deliveries.c.id,
        deliveries.c.campaign,
        deliveries.c.message,
        deliveries.c.audiences,
        deliveries.c.language,
        deliveries.c.channel,
    ).where(deliveries.c.campaign.in_(campaigns), deliveries.c.state != State.CANCELLED)
    for row in db.execute(query):
        # An item shared by several audiences is named by message, language and
        # channel alone; a record naming one of its audiences stays with that one.
        audiences = row.audiences.split()
        audience = audiences[0] if len(audiences) == 1 else None
        matches.setdefault((row.campaign, row.message, audience, row.language, row.channel), []).append(row.id)
    return matches


def count(db: Connection, delivery: str, campaign: str, metric: str, now: datetime, quality: str | None = None) -> None:
    """One of `metric` for `delivery` at `now` (a click, an open, an unsubscribe), seen
    by the tracking server, inside the caller's transaction."""
    db.execute(
        insert(reach_samples).values(
            delivery_id=delivery,
            campaign=campaign,
            metric=metric,
            value=1,
            observed_at=now,
            source="tracking",
            quality=quality,
        )
    )


def add_evidence(
    engine: Engine,
    campaign: str,
    kind: str,
    title: str,
    happened_on: datetime,
    source: str | None,
    url: str | None,
    notes: str | None,
) -> int:
    """Store one evidence record; returns its id."""
    with engine.begin() as db:
        added = db.execute(
            insert(evidence).values(
                campaign=campaign,
                kind=kind,
                title=title,
                happened_on=happened_on,
                source=source,
                url=url,
                notes=notes,
            )
        )
        # A single-row INSERT always has its key; SQLAlchemy types the accessor Optional[Any].
        return int(cast(Row[int], added.inserted_primary_key)[0])
