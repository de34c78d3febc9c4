"""`RecordingChannel`: a channel that keeps what it was asked to publish, keyed by the
idempotency key, and can be told to fail: the fake to test a dispatcher or a plugin with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import Channel, Publication
from kmcomms.render.drafts import Draft

__all__ = ["RecordingChannel"]


class RecordingChannel(Channel):
    """Publishes into memory. `calls` counts publish calls per key; `published` keeps the
    first draft per key (a repeated key is answered with the same publication, like an
    API that honours idempotency keys). `fail` may raise for a (draft, key)."""

    kind = Kind.BLOG
    idempotent = True
    fail: Callable[[Draft, str], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # as `Channel` takes them
        super().__init__(*args, **kwargs)
        self.calls: dict[str, int] = {}
        self.published: dict[str, Draft] = {}

    def publish(self, draft: Draft, key: str) -> Publication:
        self.calls[key] = self.calls.get(key, 0) + 1
        if self.fail is not None:
            self.fail(draft, key)
        self.published.setdefault(key, draft)
        return Publication(key, f"memory://{self.name}/{key}")

    def find(self, key: str) -> Publication | None:
        return Publication(key, f"memory://{self.name}/{key}") if key in self.published else None
