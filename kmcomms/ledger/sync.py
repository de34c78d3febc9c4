"""Keeping the ledger in line with the plan (`sync`): new deliveries planned, deliveries
whose message left the campaign cancelled while still open, and planned again when it comes
back; an item that already went out under its other shape's id is never planned again
(`replaced`). Its moves (open ─► cancelled, cancelled ─► planned) are drawn in the state
diagram of `kmcomms.ledger.ledger`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from kmcomms.ledger.ledger import OPEN, State, moving
from kmcomms.ledger.sql import upsert
from kmcomms.ledger.tables import LedgerRow, deliveries
from kmcomms.plan.deliveries import Delivery, other_shape_ids

__all__ = ["REMOVED", "SyncReport", "replaced", "sync"]

#: The reason `sync` gives a delivery it cancels; only those come back when their message
#: does (a person's `kmcomms resolve --cancel` stays cancelled).
REMOVED = "removed from the campaign"
_CHUNK = 500  # ids per IN (...) list: well inside every database's parameter limit


@dataclass(frozen=True, slots=True)
class SyncReport:
    added: int
    cancelled: int
    restored: int


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _went_out(row: LedgerRow) -> bool:
    """Whether a delivery went out, may have, or was settled by a person: anything but
    still open, or cancelled because its message left the campaign."""
    return row.state not in OPEN and not (row.state == State.CANCELLED and row.reason == REMOVED)


def replaced(delivery: Delivery, known: Mapping[str, LedgerRow]) -> bool:
    """Whether `delivery`, not in the ledger, is an item that already went out under its
    other shape's id (`other_shape_ids`): then it is never planned. `known`: the ledger's
    rows (with state and reason) by id."""
    return bool(known) and any(_went_out(known[i]) for i in other_shape_ids(delivery) if i in known)


def _planned_row(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """The ledger row of a delivery `sync` plans."""
    return {
        "id": delivery.id,
        "campaign": delivery.campaign,
        "message": delivery.message,
        "occurrence": delivery.occurrence,
        "audiences": " ".join(delivery.audiences),
        "language": delivery.language,
        "channel": delivery.channel,
        "due_at": delivery.due,
        "timezone": delivery.timezone,
        "state": State.PLANNED,
        "attempts": 0,
        "planned_at": now,
        "updated_at": now,
    }


_SYNC_CANCEL = moving("sync", OPEN, State.CANCELLED)
_SYNC_RESTORE = moving("sync", (State.CANCELLED,), State.PLANNED)


def sync(engine: Engine, planned: Sequence[Delivery], now: datetime, keep: Iterable[str] = ()) -> SyncReport:
    """Make the ledger agree with the plan: new deliveries planned, deliveries that left
    the plan cancelled if not yet sent, ones this cancelled that came back planned again,
    and the audiences a shared item reaches kept up to date. Deliveries of the campaigns
    in `keep` (ones that failed to load) are left as they are. A new delivery whose item
    already went out under its other shape's id (per audience, or shared: see
    `other_shape_ids`) is not planned: nothing is published twice. Running it twice
    changes nothing the second time."""
    wanted = {d.id: d for d in planned}
    held = set(keep)
    with engine.begin() as db:
        known = {
            row.id: row
            for row in db.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.state,
                    deliveries.c.campaign,
                    deliveries.c.reason,
                    deliveries.c.audiences,
                )
            )
        }
        new = [_planned_row(d, now) for d in planned if d.id not in known and not replaced(d, known)]
        for start in range(0, len(new), _CHUNK):
            db.execute(
                upsert(engine, deliveries).on_conflict_do_nothing(index_elements=["id"]), new[start : start + _CHUNK]
            )
        gone = [i for i, row in known.items() if i not in wanted and row.state in OPEN and row.campaign not in held]
        back = [i for i, row in known.items() if i in wanted and row.state == State.CANCELLED and row.reason == REMOVED]
        for ids in _chunks(gone):
            db.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids), _SYNC_CANCEL)
                .values(state=State.CANCELLED, reason=REMOVED, updated_at=now)
            )
        for ids in _chunks(back):
            db.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids), _SYNC_RESTORE, deliveries.c.reason == REMOVED)
                .values(state=State.PLANNED, reason=None, updated_at=now)
            )
        for i, row in known.items():
            if i in wanted and row.audiences != (audiences := " ".join(wanted[i].audiences)):
                db.execute(update(deliveries).where(deliveries.c.id == i).values(audiences=audiences))
    return SyncReport(len(new), len(gone), len(back))
