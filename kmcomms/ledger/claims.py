"""The ledger's operations of a publishing pass: claim due deliveries, keep and end their
leases, record what became of them.

A claim moves an open delivery to `sending` with a lease (owner and expiry), in one
conditional update, so that two processes can never both own a delivery; only the lease
owner can finish it (`finish` is fenced on owner and state). The owner renews its leases
while it works (`renew`); a lease that ran out, or whose owner is known to have ended, is
settled by `reap`. A delivery due longer ago than its channel's grace period is marked
missed (`mark_missed`). Every state these write is a move of the diagram in
`kmcomms.ledger.ledger` (`moving`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Integer, and_, bindparam, insert, or_, select, update

from kmcomms.ledger.ledger import OPEN, State, moving
from kmcomms.ledger.tables import LedgerRow, UTCDateTime, attempts, deliveries, publications

if TYPE_CHECKING:
    from sqlalchemy.sql.dml import ReturningUpdate

__all__ = [
    "FINISHED",
    "Attempt",
    "Outcome",
    "claim",
    "finish",
    "holders",
    "mark_missed",
    "reap",
    "release",
    "renew",
    "republished",
]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at publishing, for the `attempts` table."""

    started_at: datetime
    outcome: str
    error: str | None = None


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
