"""A delivery's states and the state diagram that every operation on them follows; and
two reads of the deliveries (`counts`, `planned_language`).

States (DESIGN.md), and the operation that makes each move:

    planned ─► sending ─► published                    (claim; finish)
       │          │  └──► retrying ─► sending …        (transient error: backoff, Retry-After)
       │          ├─────► failed                        (permanent error, or attempts used up)
       │          ├─────► unknown                       (worker stopped, channel cannot confirm: reap, finish)
       │          ├─────► blocked ─► sending …          (a gate held it: embargo, approval, translation)
       │          └─────► planned                       (given back unsent: release; reap where safe)
       ├──► missed     (due longer ago than the channel's grace period: mark_missed; from blocked, retrying too)
       └──► cancelled  (removed from the campaign before it was sent: sync; from blocked, retrying too)
    cancelled ─► planned                                (its message came back: sync)
    unknown ─► published | planned                      (the channel's find() says: reconcile_found, reconcile_unsent)
    unknown, failed, missed, blocked ─► published | planned | cancelled   (a person: resolve)

`TRANSITIONS` is that diagram as a table; every operation that changes a delivery's state
takes its `WHERE state IN (…)` from it (`moving`), so none can make a move it does not draw.
The operations are those of a publishing pass (`kmcomms.ledger.claims`), `sync`
(`kmcomms.ledger.sync`) and the settling of a delivery (`kmcomms.ledger.resolve`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, Engine, func, select

from kmcomms.ledger.tables import deliveries

__all__ = [
    "MOVES",
    "NEEDS_A_PERSON",
    "OPEN",
    "TRANSITIONS",
    "State",
    "counts",
    "moving",
    "planned_language",
]


class State(StrEnum):
    PLANNED = "planned"
    BLOCKED = "blocked"
    SENDING = "sending"
    RETRYING = "retrying"
    PUBLISHED = "published"
    FAILED = "failed"
    UNKNOWN = "unknown"
    MISSED = "missed"
    CANCELLED = "cancelled"


#: States from which a delivery may still go out.
OPEN = (State.PLANNED, State.BLOCKED, State.RETRYING)
#: States a person must look at: nothing more happens to them by itself.
NEEDS_A_PERSON = (State.UNKNOWN, State.FAILED, State.MISSED)

#: The state diagram (see the module): the states a delivery in each state may move to.
TRANSITIONS: Mapping[State, frozenset[State]] = {
    State.PLANNED: frozenset({State.SENDING, State.MISSED, State.CANCELLED}),
    State.BLOCKED: frozenset({State.SENDING, State.MISSED, State.CANCELLED, State.PUBLISHED, State.PLANNED}),
    State.RETRYING: frozenset({State.SENDING, State.MISSED, State.CANCELLED}),
    State.SENDING: frozenset(
        {State.PUBLISHED, State.RETRYING, State.FAILED, State.UNKNOWN, State.BLOCKED, State.PLANNED}
    ),
    State.UNKNOWN: frozenset({State.PUBLISHED, State.PLANNED, State.CANCELLED}),
    State.FAILED: frozenset({State.PUBLISHED, State.PLANNED, State.CANCELLED}),
    State.MISSED: frozenset({State.PUBLISHED, State.PLANNED, State.CANCELLED}),
    State.CANCELLED: frozenset({State.PLANNED}),
    State.PUBLISHED: frozenset(),
}
#: Every move each operation can make, as (from, to): filled by `moving` as the operations'
#: modules are imported, read by the tests.
MOVES: dict[str, set[tuple[State, State]]] = {}


def moving(operation: str, among: Collection[State], *to: State) -> ColumnElement[bool]:
    """The condition `deliveries.state IN among`, for an update of `operation` that moves
    a delivery to one of `to`. Raises ValueError when the diagram (`TRANSITIONS`) lacks a
    move from one of `among` to one of `to`: called when an operation's statement is built,
    so an operation that would break the diagram fails on import, before it runs."""
    wrong = [f"{state} to {target}" for state in among for target in to if target not in TRANSITIONS[state]]
    if wrong or not among or not to:
        raise ValueError(f"{operation}: no move from {', '.join(wrong) or 'nowhere'} in the state diagram")
    MOVES.setdefault(operation, set()).update((state, target) for state in among for target in to)
    states = tuple(among)
    # One state: `=`, as the hot statements (claim, finish) always were.
    return deliveries.c.state == states[0] if len(states) == 1 else deliveries.c.state.in_(states)


def counts(engine: Engine) -> dict[str, int]:
    """How many deliveries are in each state."""
    with engine.connect() as db:
        found: dict[str, int] = dict(
            db.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state)).all()
        )
    return {state.value: found.get(state.value, 0) for state in State}


def planned_language(bind: Engine | Connection, delivery: str) -> str | None:
    """The language `delivery` was planned in (None when the ledger has no such delivery).
    Given a Connection, reads inside its transaction."""
    query = select(deliveries.c.language).where(deliveries.c.id == delivery)
    if isinstance(bind, Connection):
        return bind.execute(query).scalar()
    with bind.connect() as db:
        return db.execute(query).scalar()
