"""A channel that publishes nothing, at once, for tests/benchmarks/bench_dispatch.py:
what is left of a pass is kmcomms's own cost. Registered the way a third party ships an
adapter (the `*.dist-info` beside this file, entry point group `kmcomms.channels`), so the
benchmark's daemon subprocess finds it by name once this folder is on its PYTHONPATH."""

from __future__ import annotations

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import Channel, Publication
from kmcomms.render.drafts import Draft


class Noop(Channel):
    kind = Kind.BLOG
    idempotent = True

    def publish(self, draft: Draft, key: str) -> Publication:
        return Publication(key)
