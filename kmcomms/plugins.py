"""What is installed under an entry-point group: kmcomms's channel adapters
(`kmcomms.channels`) and report formats (`kmcomms.report_formats`), built-in and
third-party alike, found the way APScheduler finds its plugins. The one place kmcomms asks
`importlib.metadata`; any stage may ask it, as it imports nothing of kmcomms."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

__all__ = ["load", "names"]


def names(group: str) -> list[str]:
    """The names registered under `group`, sorted."""
    return sorted(ep.name for ep in entry_points(group=group))


@cache
def load(group: str, name: str) -> Any:
    """The object the entry point `name` of `group` names (unchecked), or None when nothing
    installed has that name. Raises whatever importing it raises; kept once found."""
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    return found[0].load() if found else None
