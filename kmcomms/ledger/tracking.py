"""The tracking key and the tracked links, kept in the ledger: the key every tracking
address is signed with (made once, on first use) and where each tracked link leads."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, insert, select

from kmcomms.campaign.workspace import Settings
from kmcomms.ledger.sql import upsert
from kmcomms.ledger.tables import tracked_links, tracking_keys
from kmcomms.render.drafts import Draft
from kmcomms.render.tracking import Tracker


def tracker_for(engine: Engine, settings: Settings, now: datetime) -> Tracker | None:
    """The workspace's tracker (None when `[tracking]` is not set), with the store's key,
    made on first use. Several processes may race to make it: the lowest id wins."""
    if settings.tracking is None:
        return None
    with engine.begin() as db:
        secret = db.execute(select(tracking_keys.c.secret).order_by(tracking_keys.c.id).limit(1)).scalar()
        if secret is None:
            db.execute(insert(tracking_keys).values(secret=secrets.token_urlsafe(48), created_at=now))
    if secret is None:
        with engine.connect() as db:
            secret = db.execute(select(tracking_keys.c.secret).order_by(tracking_keys.c.id).limit(1)).scalar_one()
    return Tracker(str(settings.tracking.base_url), secret)


def register_links(engine: Engine, drafts: Iterable[Draft]) -> None:
    """Record where each tracked link of each draft leads (the tagged address), before it
    is published: the server redirects a click only there. One transaction for them all;
    registering again is harmless."""
    rows = [
        {"delivery_id": draft.delivery, "link_id": link.id, "url": link.url} for draft in drafts for link in draft.links
    ]
    if not rows:
        return
    with engine.begin() as db:
        db.execute(upsert(engine, tracked_links).on_conflict_do_nothing(), rows)
