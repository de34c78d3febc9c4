"""Approvals: a person signs off a message's content as it renders now, in every
language. With `require_approval = true`, a delivery whose message is not approved, or
changed since it was, is blocked."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, insert

from kmcomms.publish.dispatch import message_hash
from kmcomms.ledger.tables import approvals
from kmcomms.render.renderer import Renderer

__all__ = ["approve"]


def approve(engine: Engine, renderer: Renderer, campaign: str, messages: Iterable[str], by: str, now: datetime) -> list[str]:
    """Record `by`'s approval of each message's current content; returns the message ids."""
    done = []
    with engine.begin() as db:
        for message in messages:
            db.execute(insert(approvals).values(campaign=campaign, message=message, approved_by=by, approved_at=now,
                                                content_hash=message_hash(renderer, campaign, message)))
            done.append(message)
    return done
