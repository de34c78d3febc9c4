"""Approvals (`approvals`): who signed off which content of a message, and when. A
delivery waits for one when the workspace requires approval (`kmcomms.publish.dispatch`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine, insert, select

from kmcomms.ledger.tables import approvals

__all__ = ["approve", "approved"]


def approve(engine: Engine, campaign: str, contents: Mapping[str, str], by: str, now: datetime) -> list[str]:
    """Record `by`'s approval of each message of `campaign` in `contents` (message id →
    the fingerprint of its content), in one transaction; returns the message ids."""
    with engine.begin() as db:
        for message, content_hash in contents.items():
            db.execute(
                insert(approvals).values(
                    campaign=campaign, message=message, approved_by=by, approved_at=now, content_hash=content_hash
                )
            )
    return list(contents)


def approved(engine: Engine, campaign: str, message: str, content_hash: str) -> bool:
    """Whether someone approved `message` of `campaign` with exactly this content."""
    with engine.connect() as db:
        return (
            db.execute(
                select(approvals.c.id).where(
                    approvals.c.campaign == campaign,
                    approvals.c.message == message,
                    approvals.c.content_hash == content_hash,
                )
            ).first()
            is not None
        )
