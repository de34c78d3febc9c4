"""Finding adapters by name through the entry-point group `kmcomms.channels`, and making
the channel instances a workspace defines."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path

import requests
from pydantic import ValidationError
from sqlalchemy import Engine

from kmcomms.channels.base import Channel
from kmcomms.errors import WorkspaceError
from kmcomms.fields import close_match
from kmcomms.tracking import Tracker
from kmcomms.workspace import Workspace

__all__ = ["GROUP", "adapter_class", "adapter_names", "open_channels"]

GROUP = "kmcomms.channels"


def adapter_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def adapter_class(name: str, registry: Mapping[str, type[Channel]] | None = None) -> type[Channel]:
    """The adapter class called `name`: from `registry` when given (tests), else from the
    installed entry points. Raises `WorkspaceError` naming the close adapter."""
    if registry is not None and name in registry:
        return registry[name]
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        known = sorted({*adapter_names(), *(registry or {})})
        raise WorkspaceError(f'no channel adapter "{name}"{close_match(name, known)} — installed: {", ".join(known)}')
    cls = found[0].load()
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise WorkspaceError(f'the entry point "{name}" in {GROUP} is not a kmcomms Channel class')
    return cls


def open_channels(workspace: Workspace, registry: Mapping[str, type[Channel]] | None = None,
                  session: requests.Session | None = None, *, store: Engine | None = None,
                  tracker: Tracker | None = None) -> dict[str, Channel]:
    """Every channel instance of the workspace, with its settings checked by its adapter;
    `store` and `tracker` are handed to each (adapters that publish need them)."""
    channels = {}
    for name, settings in workspace.settings.channels.items():
        cls = adapter_class(settings.adapter, registry)
        try:
            options = cls.Settings.model_validate(settings.model_dump())
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise WorkspaceError(f"[channels.{name}] {where}: {problem['msg']} — see the {settings.adapter} adapter's settings") from exc
        channels[name] = cls(name, options, Path(workspace.root), session, store=store, tracker=tracker)
    return channels
