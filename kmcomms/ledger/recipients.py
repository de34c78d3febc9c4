"""Who a newsletter or briefing delivery goes to (`recipients`), one row per person,
frozen when its send starts, each sent exactly once:

    pending ─► sending ─► sent
       │          ├─────► rejected     (the server refused it; a hard bounce suppresses the address)
       │          ├─────► pending      (deferred, or nothing was handed over: tried again)
       │          └─────► unknown      (the send died or the server did not answer: never sent again)
       └──► suppressed                 (its address was suppressed after the freeze)

The send loop (`kmcomms.channels.smtp`) runs these inside its own transactions (it
commits once per recipient), so they take its Connection; the statements are built once,
as a newsletter runs them once per recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, case, exists, func, select, update

from kmcomms.ledger.sql import upsert
from kmcomms.ledger.tables import recipients, suppressions

__all__ = ["add", "counts", "interrupted", "pending", "sent", "settle", "started", "take"]

_R = recipients.c
_ROW = (_R.delivery_id == bindparam("d")) & (_R.email == bindparam("e"))
_TAKE = (
    update(recipients)
    .where(_ROW, _R.state == "pending")
    .values(state=case((exists().where(suppressions.c.email == bindparam("e")), "suppressed"), else_="sending"))
    .returning(_R.state)
)
_SENT = update(recipients).where(_ROW).values(state="sent", sent_at=bindparam("at"), error=None)
_SETTLE = update(recipients).where(_ROW).values(state=bindparam("state"), error=bindparam("error"))


def started(db: Connection, delivery: str) -> bool:
    """Whether the recipients of `delivery` were frozen already (a send of it started)."""
    return db.execute(select(_R.email).where(_R.delivery_id == delivery).limit(1)).first() is not None


def add(db: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Freeze recipients: `rows` (delivery_id, email, name, language, message_id), each
    pending. Rows a worker racing this one froze first stand."""
    db.execute(upsert(db, recipients).on_conflict_do_nothing(), [{**row, "state": "pending"} for row in rows])


def interrupted(db: Connection, delivery: str) -> int:
    """Rows of `delivery` left `sending` by a send that died become `unknown`: the server
    may have them, so they are never sent again. Returns how many."""
    return db.execute(
        update(recipients)
        .where(_R.delivery_id == delivery, _R.state == "sending")
        .values(
            state="unknown",
            error="the send was interrupted while handing this message to the server: it may or may not have it",
        )
    ).rowcount


def pending(engine: Engine, delivery: str) -> list[Row[str, str | None]]:
    """The (email, name) of the recipients of `delivery` still to send, by address."""
    with engine.connect() as db:
        return list(
            db.execute(
                select(_R.email, _R.name).where(_R.delivery_id == delivery, _R.state == "pending").order_by(_R.email)
            )
        )


def take(db: Connection, delivery: str, email: str) -> str | None:
    """Take a pending row to send: `sending`, or `suppressed` when its address was
    suppressed since the freeze; None when another worker took it first."""
    return db.execute(_TAKE, {"d": delivery, "e": email}).scalar()


def sent(db: Connection, delivery: str, email: str, at: datetime) -> None:
    """The server took the message to `email` at `at` (aware UTC)."""
    db.execute(_SENT, {"d": delivery, "e": email, "at": at})


def settle(db: Connection, delivery: str, email: str, state: str, error: str) -> None:
    """A row taken but not sent ends `state` (rejected, pending or unknown), with the
    server's answer or what went wrong."""
    db.execute(_SETTLE, {"d": delivery, "e": email, "state": state, "error": error})


def counts(engine: Engine, delivery: str) -> dict[str, int]:
    """How many recipients of `delivery` are in each state."""
    with engine.connect() as db:
        return dict(
            db.execute(select(_R.state, func.count()).where(_R.delivery_id == delivery).group_by(_R.state)).all()
        )
