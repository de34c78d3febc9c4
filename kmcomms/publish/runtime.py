"""Everything a running kmcomms needs, opened from a workspace: campaigns, ledger,
channels, dispatcher. The CLI commands and the daemon share it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from kmcomms.campaign.load import LoadResult, load_paths
from kmcomms.campaign.workspace import Workspace, require_workspace
from kmcomms.channels.base import Channel
from kmcomms.channels.registry import open_channels
from kmcomms.ledger.store import open_store
from kmcomms.ledger.tracking import tracker_for
from kmcomms.publish.dispatch import Dispatcher
from kmcomms.publish.workers import worker_name
from kmcomms.render.tracking import Tracker

__all__ = ["Runtime", "load_here", "open_runtime", "worker_name"]


@dataclass
class Runtime:
    workspace: Workspace
    loaded: LoadResult
    engine: Engine
    channels: dict[str, Channel]
    dispatcher: Dispatcher
    tracker: Tracker | None = None

    def close(self) -> None:
        self.engine.dispose()


def load_here(path: Path | None = None) -> tuple[Workspace, LoadResult]:
    """The workspace at or above `path` (default: here) and its campaigns; campaigns with
    errors are left out, their problems kept in the result's diagnostics."""
    loaded = load_paths([require_workspace(path)])
    if not loaded.workspaces:
        loaded.raise_for_errors()
    return loaded.workspaces[0], loaded


def open_runtime(
    path: Path | None = None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    registry: Mapping[str, type[Channel]] | None = None,
    engine: Engine | None = None,
) -> Runtime:
    """Load the workspace at or above `path` (default: here) with its valid campaigns.

    Campaigns with errors are left out (and their problems are in `loaded.diagnostics`),
    so one broken file does not stop the others going out.
    """
    workspace, loaded = load_here(path)
    engine = engine or open_store(workspace.settings.store.url, workspace.root)
    tracker = tracker_for(engine, workspace.settings, clock())
    channels = open_channels(workspace, registry, store=engine, tracker=tracker)
    dispatcher = Dispatcher(engine, workspace, loaded, channels, worker=worker_name(), clock=clock, tracker=tracker)
    return Runtime(workspace, loaded, engine, channels, dispatcher, tracker)
