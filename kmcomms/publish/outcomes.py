"""What became of one claimed delivery, as the dispatcher hands it to the ledger (`Outcome`):
held by a gate, published, failed for good, unknown after a fault mid-publish, or to be
tried again after a backoff (from BACKOFF_BASE, doubling with each attempt up to
BACKOFF_CAP, jittered by ±20 %, never sooner than the platform's Retry-After) until the
channel's `attempt_limit` is used up."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from kmcomms.channels.base import Channel, Publication
from kmcomms.ledger.claims import Attempt, Outcome
from kmcomms.ledger.ledger import State
from kmcomms.ledger.tables import LedgerRow

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "RECHECK", "failed", "held", "published", "retrying", "uncertain"]

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
#: A blocked delivery is looked at again from the next pass on, not within the same one.
RECHECK = timedelta(seconds=1)


def held(row: LedgerRow, at: datetime, now: datetime, reason: str) -> Outcome:
    """Not tried (a gate held it, or its channel or campaign is gone): blocked, looked at
    again from the next pass on, the claim's attempt given back."""
    return Outcome(row.id, State.BLOCKED, at, reason=reason, counted=False, not_before=now + RECHECK)


def published(row: LedgerRow, started: datetime, at: datetime, publication: Publication, content: str) -> Outcome:
    """The channel took it: where it is now, and the fingerprint of what it received."""
    return Outcome(
        row.id,
        State.PUBLISHED,
        at,
        Attempt(started, "published"),
        remote_id=publication.remote_id,
        url=publication.url,
        content_hash=content,
    )


def failed(row: LedgerRow, started: datetime, at: datetime, error: str) -> Outcome:
    """The channel refused it for good (a `PermanentError`)."""
    return Outcome(row.id, State.FAILED, at, Attempt(started, "permanent", error), reason=error)


def uncertain(row: LedgerRow, started: datetime, at: datetime, exc: Exception) -> Outcome:
    """The channel failed mid-publish on a channel where trying again could make a second
    copy: it may or may not have it, for its `find()` or a person to settle."""
    return Outcome(
        row.id,
        State.UNKNOWN,
        at,
        Attempt(started, "unknown", repr(exc)),
        reason=f"the channel failed mid-publish ({type(exc).__name__}): check it, then `kmcomms resolve`",
    )


def retrying(
    row: LedgerRow,
    channel: Channel,
    started: datetime,
    now: datetime,
    error: str,
    retry_after: float | None,
    rng: random.Random,
) -> Outcome:
    """Worth trying again: retrying after the backoff, or failed once the channel's
    attempts are used up."""
    if row.attempts >= channel.attempt_limit:
        return Outcome(
            row.id,
            State.FAILED,
            now,
            Attempt(started, "transient", error),
            reason=f"gave up after {row.attempts} attempts: {error}",
        )
    wait = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (row.attempts - 1)) * rng.uniform(0.8, 1.2)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return Outcome(
        row.id, State.RETRYING, now, Attempt(started, "transient", error), reason=error, not_before=now + wait
    )
