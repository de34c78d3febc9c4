"""Approvals: a person signs off a message's content as it renders now, in every
language. With `require_approval = true`, a delivery whose message is not approved, or
changed since it was, is blocked."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine

from kmcomms.ledger import approvals
from kmcomms.publish.dispatch import message_hash
from kmcomms.render.renderer import Renderer

__all__ = ["approve"]


def approve(
    engine: Engine, renderer: Renderer, campaign: str, messages: Iterable[str], by: str, now: datetime
) -> list[str]:
    """Record `by`'s approval of each message's current content; returns the message ids."""
    return approvals.approve(engine, campaign, {m: message_hash(renderer, campaign, m) for m in messages}, by, now)
