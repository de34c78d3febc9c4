"""Contacts and suppressions: the people a list goes to (`contacts`, written by an import)
and the addresses never written to again (`suppressions`, with the contact rows of the
address stamped too). Checking a contacts file is `kmcomms.channels.contacts`'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from kmcomms.ledger.sql import transaction, upsert
from kmcomms.ledger.tables import contacts, suppressions

__all__ = ["REASONS", "normal_address", "save_contacts", "suppress", "unsubscribe"]

REASONS = ("unsubscribed", "bounced")
#: What an import sets on a contact already on the list.
_KEPT = ("name", "language", "audience", "consent_date")


def normal_address(address: str) -> str:
    """The form addresses are stored and compared in."""
    return address.strip().lower()


def save_contacts(
    engine: Engine, contact_list: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, tuple[Any, ...]], set[str]]:
    """Add `rows` (email, name, language, audience, consent_date) to `contact_list`, or
    update the contact an address already has there, in one transaction. Returns what the
    list held before for each of its addresses (email → (name, language, audience,
    consent_date)), and every suppressed address."""
    with engine.begin() as db:
        known = {
            row.email: tuple(row)[1:]
            for row in db.execute(
                select(contacts.c.email, *(contacts.c[c] for c in _KEPT)).where(contacts.c.list == contact_list)
            )
        }
        statement = upsert(engine, contacts)
        if rows:
            db.execute(
                statement.on_conflict_do_update(
                    index_elements=["list", "email"], set_={c: statement.excluded[c] for c in _KEPT}
                ),
                [{**row, "list": contact_list} for row in rows],
            )
        suppressed = set(db.execute(select(suppressions.c.email)).scalars())
    return known, suppressed


def _suppress(db: Connection, address: str, reason: str, detail: str | None, now: datetime) -> tuple[bool, int]:
    """Suppress `address` (normal form): (whether it was newly suppressed, how many
    contact rows were newly stamped)."""
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
    added = (
        db.execute(
            upsert(db, suppressions)
            .values(email=address, reason=reason, detail=detail, suppressed_at=now)
            .on_conflict_do_nothing(index_elements=["email"])
            .returning(suppressions.c.email)
        ).first()
        is not None
    )
    stamp = contacts.c.unsubscribed_at if reason == "unsubscribed" else contacts.c.bounced_at
    stamped = db.execute(
        update(contacts).where(contacts.c.email == address, stamp.is_(None)).values({stamp: now})
    ).rowcount
    return added, stamped


def suppress(bind: Engine | Connection, email: str, reason: str, detail: str | None, now: datetime) -> bool:
    """Never write to `email` again (`reason`: "unsubscribed" or "bounced"), on every list.
    Returns False when it was suppressed already (the first reason is kept). Given a
    Connection, runs inside its transaction; given an Engine, in one of its own."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}")
    with transaction(bind) as db:
        return _suppress(db, normal_address(email), reason, detail, now)[0]


def unsubscribe(db: Connection, email: str, detail: str, now: datetime) -> bool:
    """`email` (as the tracking token holds it) unsubscribed itself: suppressed, its
    contacts stamped, inside the caller's transaction. True when this changed anything, so
    that an unsubscribe that comes twice (or races itself) counts once."""
    added, stamped = _suppress(db, email, "unsubscribed", detail, now)
    return added or stamped > 0
