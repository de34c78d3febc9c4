"""Channel adapters for tests/publish/test_proofs.py, installed the way a third party would ship
one: an entry point in the group `kmcomms.channels` (the `*.dist-info` beside this file).
The test puts this folder on PYTHONPATH of the kmcomms processes it starts, and nowhere
else.

- `proofs-counting`: records every publish call, one line `<key> <pid>` appended to a log
  file with O_APPEND in a single write(2), so lines from concurrent processes never
  interleave and a call is on record before it returns. Declared *not* idempotent: a
  remote that cannot deduplicate, so any second call for a key is a duplicate.
- `proofs-paced-folder`: the `folder` adapter taking `pace_ms` per publish, like a remote.
- `proofs-unkeyed-folder`: the paced folder adapter declared *not* idempotent, so an expired
  lease makes its delivery `unknown`, which `find()` has to settle (reconciliation).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import Channel, ChannelOptions, Publication
from kmcomms.channels.folder import Folder, FolderOptions
from kmcomms.render.drafts import Draft


class CountingOptions(ChannelOptions):
    log: str = "publish-calls.log"


class Counting(Channel):
    kind = Kind.BLOG
    Settings = CountingOptions
    idempotent = False

    @property
    def log(self) -> Path:
        assert isinstance(self.settings, CountingOptions)
        return self.root / self.settings.log

    def publish(self, draft: Draft, key: str) -> Publication:
        assert draft.delivery == key
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{key} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return Publication(key, None)

    def find(self, key: str) -> Publication | None:
        if not self.log.exists():
            return None
        keys = {line.split()[0] for line in self.log.read_text().splitlines() if line}
        return Publication(key, None) if key in keys else None


class PacedOptions(FolderOptions):
    pace_ms: int = 0


class PacedFolder(Folder):
    """The `folder` adapter taking `pace_ms` per publish, as a remote API does, so that a
    kill lands while deliveries are in flight rather than after a pass that took a blink."""

    Settings = PacedOptions

    def publish(self, draft: Draft, key: str) -> Publication:
        assert isinstance(self.settings, PacedOptions)
        time.sleep(self.settings.pace_ms / 1000)
        return super().publish(draft, key)


class UnkeyedFolder(PacedFolder):
    idempotent = False
