"""`folder`: each publication written as a file. For trials, tests, and print runs.

Settings: `path` (relative to the workspace; default "outbox") and `kind` (what the
deliveries render to; default "blog"). Each draft becomes `<path>/<delivery id>.json`,
written to a temporary file and renamed into place, so a file is there whole or not at
all. Publishing the same key twice finds the file and changes nothing: the adapter is
idempotent, which is what lets the dispatcher retry it safely after any crash.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import Channel, ChannelOptions, PermanentError, Publication
from kmcomms.files import write_atomic
from kmcomms.render.drafts import Draft

__all__ = ["Folder"]


class FolderOptions(ChannelOptions):
    path: str = "outbox"
    kind: Kind | None = Kind.BLOG


class Folder(Channel):
    kind = Kind.BLOG
    Settings = FolderOptions
    idempotent = True

    @property
    def folder(self) -> Path:
        assert isinstance(self.settings, FolderOptions)
        return self.root / self.settings.path

    def _file(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def publish(self, draft: Draft, key: str) -> Publication:
        target = self._file(key)
        if target.exists():
            return Publication(key, target.as_uri())
        return self._write(draft, key)

    def update(self, publication: Publication, draft: Draft) -> Publication:
        return self._write(draft, publication.remote_id)

    def _write(self, draft: Draft, key: str) -> Publication:
        target = self._file(key)
        try:
            data = {"kind": str(draft.kind), **dataclasses.asdict(draft)}
            write_atomic(target, json.dumps(data, ensure_ascii=False, indent=2))
        except OSError as exc:
            raise PermanentError(f"cannot write {target}: {exc.strerror}", self.name) from exc
        return Publication(key, target.as_uri())

    def find(self, key: str) -> Publication | None:
        target = self._file(key)
        return Publication(key, target.as_uri()) if target.exists() else None

    def withdraw(self, publication: Publication) -> None:
        self._file(publication.remote_id).unlink(missing_ok=True)

    def check(self) -> list[str]:
        parent = self.folder if self.folder.exists() else self.folder.parent
        return [] if os.access(parent, os.W_OK) else [f"{self.folder} is not writable"]
