"""The ledger's operations on deliveries: what happened to every delivery, changed only by
conditional updates, so that two processes can never both own a delivery.

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

A claim moves an open delivery to `sending` with a lease (owner and expiry); only the
lease owner can finish it (`finish` is fenced on owner and state). The owner renews its
leases while it works (`renew`); a lease that ran out, or whose owner is known to have
ended, is settled by `reap`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from kmcomms.ledger.sql import upsert
from kmcomms.ledger.tables import LedgerRow, UTCDateTime, attempts, deliveries, publications
from kmcomms.plan.deliveries import Delivery, other_shape_ids

if TYPE_CHECKING:
    from sqlalchemy.sql.dml import ReturningUpdate

__all__ = [
    "FINISHED",
    "MOVES",
    "NEEDS_A_PERSON",
    "OPEN",
    "REMOVED",
    "TRANSITIONS",
    "Attempt",
    "Outcome",
    "State",
    "SyncReport",
    "claim",
    "counts",
    "finish",
    "holders",
    "mark_missed",
    "moving",
    "planned_language",
    "reap",
    "release",
    "renew",
    "replaced",
    "republished",
    "sync",
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
#: The reason `sync` gives a delivery it cancels; only those come back when their message
#: does (a person's `kmcomms resolve --cancel` stays cancelled).
REMOVED = "removed from the campaign"
_CHUNK = 500  # ids per IN (...) list: well inside every database's parameter limit

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
#: Every move each operation can make, as (from, to): filled by `moving`, read by the tests.
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


@dataclass(frozen=True, slots=True)
class SyncReport:
    added: int
    cancelled: int
    restored: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at publishing, for the `attempts` table."""

    started_at: datetime
    outcome: str
    error: str | None = None


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
        new = [
            {
                "id": d.id,
                "campaign": d.campaign,
                "message": d.message,
                "occurrence": d.occurrence,
                "audiences": " ".join(d.audiences),
                "language": d.language,
                "channel": d.channel,
                "due_at": d.due,
                "timezone": d.timezone,
                "state": State.PLANNED,
                "attempts": 0,
                "planned_at": now,
                "updated_at": now,
            }
            for d in planned
            if d.id not in known and not replaced(d, known)
        ]
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


_NOW = bindparam("now", type_=UTCDateTime)
_CLAIMABLE = and_(
    moving("claim", OPEN, State.SENDING),
    deliveries.c.due_at <= _NOW,
    or_(deliveries.c.not_before.is_(None), deliveries.c.not_before <= _NOW),
)
_CLAIM_VALUES = {
    "state": State.SENDING,
    "lease_owner": bindparam("worker"),
    "lease_until": bindparam("lease_until", type_=UTCDateTime),
    "attempts": deliveries.c.attempts + 1,
    "updated_at": _NOW,
}


def _claim_statement(skip_locked: bool) -> ReturningUpdate[*tuple[Any, ...]]:
    # One statement takes the whole batch: on SQLite it runs under the database's single
    # write lock; on PostgreSQL SKIP LOCKED lets other workers take the rows next to it.
    candidates = select(deliveries.c.id).where(_CLAIMABLE).order_by(deliveries.c.due_at).limit(bindparam("limit"))
    if skip_locked:
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(deliveries)
        .where(deliveries.c.id.in_(candidates.scalar_subquery()), _CLAIMABLE)
        .values(_CLAIM_VALUES)
        .returning(*deliveries.c)
    )


# Built once: a pass claims and finishes hundreds of deliveries, and building the
# statements each time cost more than running them.
_CLAIM = {"postgresql": _claim_statement(skip_locked=True), "sqlite": _claim_statement(skip_locked=False)}


def claim(
    engine: Engine, worker: str, now: datetime, lease: timedelta, limit: int = 50, *, start: datetime | None = None
) -> list[LedgerRow]:
    """Take up to `limit` deliveries due by `now` for `worker`, earliest first, each with a
    lease until `start + lease` (`start` defaults to `now`; a pass that claims again long
    after it began gives the real time). No delivery is ever taken by two workers: the
    claim is one conditional update (with SKIP LOCKED on PostgreSQL, so workers do not queue)."""
    with engine.begin() as db:
        rows = db.execute(
            _CLAIM[engine.dialect.name],
            {"now": now, "worker": worker, "lease_until": (start or now) + lease, "limit": limit},
        ).all()
    return sorted(rows, key=lambda row: (row.due_at, row.id))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed delivery, for `finish`."""

    delivery: str
    state: State
    at: datetime
    attempt: Attempt | None = None
    reason: str | None = None
    not_before: datetime | None = None
    remote_id: str | None = None
    url: str | None = None
    content_hash: str = ""
    counted: bool = True
    """False gives the claim's attempt back (a gate held the delivery; nothing was tried)."""


#: The states `finish` records a claimed delivery in (giving it back unsent is `release`).
FINISHED = (State.PUBLISHED, State.RETRYING, State.FAILED, State.UNKNOWN, State.BLOCKED)
_FINISH = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("fence_id"),
        moving("finish", (State.SENDING,), *FINISHED),
        deliveries.c.lease_owner == bindparam("fence_worker"),
    )
    .values(
        state=bindparam("state"),
        reason=bindparam("reason"),
        not_before=bindparam("not_before", type_=UTCDateTime),
        lease_owner=None,
        lease_until=None,
        updated_at=bindparam("updated_at", type_=UTCDateTime),
        attempts=deliveries.c.attempts - bindparam("given_back", type_=Integer),
    )
)
_ATTEMPT = insert(attempts)
_PUBLICATION = insert(publications)


def finish(engine: Engine, worker: str, outcomes: Sequence[Outcome]) -> set[str]:
    """Record the outcomes of deliveries `worker` claimed, all in one transaction. Fenced:
    each only while `worker` still holds its lease. Returns the ids whose lease was lost
    (someone else's now): nothing is recorded for those. Raises ValueError for an outcome
    state not in `FINISHED`, recording nothing."""
    if wrong := {str(o.state) for o in outcomes if o.state not in FINISHED}:
        raise ValueError(f"finish: a claimed delivery cannot become {', '.join(sorted(wrong))}")
    lost = set()
    tried, published = [], []
    with engine.begin() as db:
        for outcome in outcomes:
            result = db.execute(
                _FINISH,
                {
                    "fence_id": outcome.delivery,
                    "fence_worker": worker,
                    "state": str(outcome.state),
                    "reason": outcome.reason,
                    "not_before": outcome.not_before,
                    "updated_at": outcome.at,
                    "given_back": 0 if outcome.counted else 1,
                },
            )
            if result.rowcount != 1:
                lost.add(outcome.delivery)
                continue
            if (attempt := outcome.attempt) is not None:
                tried.append(
                    {
                        "delivery_id": outcome.delivery,
                        "worker": worker,
                        "started_at": attempt.started_at,
                        "finished_at": outcome.at,
                        "outcome": attempt.outcome,
                        "error": attempt.error,
                        "duration_ms": int((outcome.at - attempt.started_at).total_seconds() * 1000),
                    }
                )
            if outcome.state == State.PUBLISHED:
                published.append(
                    {
                        "delivery_id": outcome.delivery,
                        "remote_id": outcome.remote_id,
                        "url": outcome.url,
                        "published_at": outcome.at,
                        "content_hash": outcome.content_hash,
                    }
                )
        if tried:
            db.execute(_ATTEMPT, tried)
        if published:
            db.execute(_PUBLICATION, published)
    return lost


def republished(engine: Engine, delivery: str, remote_id: str | None, url: str | None, content_hash: str) -> None:
    """Record that the channel updated a published delivery (its content was edited since):
    where it is now, and the fingerprint of what it now holds."""
    with engine.begin() as db:
        db.execute(
            update(publications)
            .where(publications.c.delivery_id == delivery)
            .values(remote_id=remote_id, url=url, content_hash=content_hash)
        )


_RELEASE = moving("release", (State.SENDING,), State.PLANNED)


def release(engine: Engine, worker: str, ids: Iterable[str]) -> None:
    """Give back deliveries `worker` claimed but did not try (a pass that stops early):
    planned again, the claim's attempt not counted. Fenced: only those it still holds."""
    with engine.begin() as db:
        for delivery in ids:
            db.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery, _RELEASE, deliveries.c.lease_owner == worker)
                .values(state=State.PLANNED, lease_owner=None, lease_until=None, attempts=deliveries.c.attempts - 1)
            )


def renew(engine: Engine, worker: str, until: datetime) -> int:
    """Extend every lease `worker` holds to `until`: the heartbeat of a worker at work, so
    that a long publish (a newsletter to thousands) never looks like a stopped worker's.
    Returns how many were renewed."""
    with engine.begin() as db:
        return db.execute(
            update(deliveries)
            .where(deliveries.c.state == State.SENDING, deliveries.c.lease_owner == worker)
            .values(lease_until=until)
        ).rowcount


def holders(engine: Engine) -> set[str]:
    """The workers holding a lease: the owners of `sending` deliveries."""
    with engine.connect() as db:
        return set(
            db.execute(
                select(deliveries.c.lease_owner)
                .distinct()
                .where(deliveries.c.state == State.SENDING, deliveries.c.lease_owner.is_not(None))
            ).scalars()
        )


_REQUEUE = moving("reap", (State.SENDING,), State.PLANNED)
_UNCONFIRMED = moving("reap", (State.SENDING,), State.UNKNOWN)


def reap(engine: Engine, now: datetime, idempotent: Iterable[str], ended: Iterable[str] = ()) -> tuple[int, int]:
    """Deliveries whose worker stopped: their lease ran out by `now`, or their owner is one
    of `ended` (workers known to have ended, whatever their leases say). Back to `planned`
    on channels where publishing again is harmless, else `unknown` for `find()` or a
    person. Returns (requeued, unknown)."""
    stopped = or_(deliveries.c.lease_until <= now, deliveries.c.lease_owner.in_(list(ended)))
    safe = list(idempotent)
    with engine.begin() as db:
        requeued = db.execute(
            update(deliveries)
            .where(_REQUEUE, stopped, deliveries.c.channel.in_(safe))
            .values(
                state=State.PLANNED,
                lease_owner=None,
                lease_until=None,
                reason="its worker stopped while publishing it: tried again (safe on this channel)",
                updated_at=now,
            )
        ).rowcount
        unknown = db.execute(
            update(deliveries)
            .where(_UNCONFIRMED, stopped)
            .values(
                state=State.UNKNOWN,
                lease_owner=None,
                lease_until=None,
                reason="the worker stopped while publishing: the channel may or may not have it",
                updated_at=now,
            )
        ).rowcount
    return requeued, unknown


_MISSING = moving("mark_missed", OPEN, State.MISSED)


def mark_missed(engine: Engine, now: datetime, grace: dict[str, timedelta]) -> int:
    """Open deliveries due longer ago than their channel's grace period become `missed`:
    never published late without a person deciding so."""
    total = 0
    with engine.begin() as db:
        for channel, period in grace.items():
            total += db.execute(
                update(deliveries)
                .where(
                    deliveries.c.channel == channel,
                    _MISSING,
                    deliveries.c.due_at < now - period,
                )
                .values(state=State.MISSED, reason=f"due more than {period} ago: not sent late", updated_at=now)
            ).rowcount
    return total


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
