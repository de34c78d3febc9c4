"""Settling deliveries that will not go out by themselves: an `unknown` one the channel's
`find()` has answered for (`reconcile_found`, `reconcile_unsent`), and any that needs a
person, as that person says (`resolve`). Each move is one conditional update checked
against the state diagram (`kmcomms.ledger.ledger.TRANSITIONS`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update

from kmcomms.ledger.ledger import State, moving
from kmcomms.ledger.tables import deliveries, publications

__all__ = ["RESOLUTIONS", "RESOLVABLE", "reconcile_found", "reconcile_unsent", "resolve"]

#: The states a person may resolve: nothing more happens to them by itself (blocked ones
#: wait for a gate, which a person may decide to go around).
RESOLVABLE = (State.UNKNOWN, State.FAILED, State.MISSED, State.BLOCKED)
#: What a person may resolve a delivery as, with the reason the ledger records.
RESOLUTIONS = {
    State.PUBLISHED: "published, recorded by a person",
    State.PLANNED: "sent again: asked by a person",
    State.CANCELLED: "cancelled by a person",
}

_RESOLVING = {to: moving("resolve", RESOLVABLE, to) for to in RESOLUTIONS}
_FOUND = moving("reconcile_found", (State.UNKNOWN,), State.PUBLISHED)
_UNSENT = moving("reconcile_unsent", (State.UNKNOWN,), State.PLANNED)


def reconcile_unsent(engine: Engine, delivery: str, now: datetime) -> bool:
    """The channel does not have `unknown` `delivery`: it goes out again (planned).
    False when it was no longer unknown (settled meanwhile)."""
    with engine.begin() as db:
        return (
            db.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery, _UNSENT)
                .values(state=State.PLANNED, reason="not found on the channel: sending", updated_at=now)
            ).rowcount
            == 1
        )


def reconcile_found(engine: Engine, delivery: str, remote_id: str | None, url: str | None, now: datetime) -> bool:
    """The channel has `unknown` `delivery`: published there, as `remote_id` at `url`,
    with its publication recorded in the same transaction. False when it was no longer
    unknown (settled meanwhile): nothing is recorded."""
    with engine.begin() as db:
        changed = db.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery, _FOUND)
            .values(state=State.PUBLISHED, reason="found on the channel", updated_at=now)
        ).rowcount
        if changed == 1:
            db.execute(
                insert(publications).values(
                    delivery_id=delivery, remote_id=remote_id, url=url, published_at=now, content_hash=""
                )
            )
    return changed == 1


def resolve(engine: Engine, delivery: str, to: State, now: datetime, url: str | None = None) -> tuple[bool, str | None]:
    """A person settles `delivery` (one of the `RESOLVABLE` states) as `to`: published (at
    `url`: its publication is recorded, replacing any earlier one), planned (sent again,
    due `now`, its attempts counted afresh) or cancelled (it stays cancelled when campaigns
    are synced). Returns (whether it was settled, and when not, the state it is in: None
    when the ledger has no such delivery). Raises ValueError for any other `to`."""
    if to not in RESOLUTIONS:
        raise ValueError(f"a person resolves a delivery as {', '.join(RESOLUTIONS)}, not as {to}")
    values: dict[str, object] = {
        "state": to,
        "reason": RESOLUTIONS[to],
        "lease_owner": None,
        "lease_until": None,
        "not_before": None,
        "updated_at": now,
    }
    if to == State.PLANNED:
        values.update(due_at=now, attempts=0)
    found = None
    with engine.begin() as db:
        changed = db.execute(
            update(deliveries).where(deliveries.c.id == delivery, _RESOLVING[to]).values(values)
        ).rowcount
        if changed and to == State.PUBLISHED:
            db.execute(delete(publications).where(publications.c.delivery_id == delivery))
            db.execute(
                insert(publications).values(
                    delivery_id=delivery, remote_id=None, url=url, published_at=now, content_hash=""
                )
            )
        if not changed:
            found = db.execute(select(deliveries.c.state).where(deliveries.c.id == delivery)).scalar()
    return bool(changed), found
