"""The kinds of channel, and what an adapter says about itself, asked by name.

An adapter is a class registered under the entry-point group `kmcomms.channels`; its
class attributes are the facts about it (`kind`, `post_limit`, `draft_problems`,
`capabilities`, settings: see `kmcomms.channels.base.Channel`). This module is the
interface through which the stages before `kmcomms.channels` (loading, planning,
rendering) ask for those facts (`adapter_fact`): it finds the class by its entry point and
never imports `kmcomms.channels` itself. Nothing else before the channels knows an adapter
by its name.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from kmcomms import plugins
from kmcomms.campaign.workspace import ChannelSettings

__all__ = ["GROUP", "Kind", "adapter_fact", "adapter_names", "broadcast_channels", "channel_kind", "find_adapter"]

#: The entry-point group adapters register under, built-in and third-party alike.
GROUP = "kmcomms.channels"


class Kind(StrEnum):
    """What a channel publishes; decides the draft a delivery renders to."""

    BLOG = "blog"
    NEWSLETTER = "newsletter"
    VIDEO = "video"
    BRIEFING = "briefing"
    SOCIAL = "social"

    @property
    def broadcast(self) -> bool:
        """Whether one public item reaches every audience (blog, video, social), rather
        than each audience its own recipients (newsletter, briefing)."""
        return self in (Kind.BLOG, Kind.VIDEO, Kind.SOCIAL)


def adapter_names() -> list[str]:
    """The names of the installed adapters."""
    return plugins.names(GROUP)


def find_adapter(name: str) -> Any:
    """The object the entry point `name` names (an adapter class, unchecked), or None when
    no installed adapter has that name. Raises whatever importing it raises."""
    return plugins.load(GROUP, name)


def adapter_fact(name: str, fact: str) -> Any:
    """The class attribute `fact` of the adapter `name` (unchecked), or None when no
    installed adapter has that name, its package does not import, or it does not say."""
    try:
        return getattr(find_adapter(name), fact, None)
    except Exception:  # noqa: BLE001 - not installed, or a package that does not import: check_channel says which
        return None


def channel_kind(channel: ChannelSettings) -> Kind | None:
    """The kind a channel instance publishes: its own `kind` setting, else its adapter's.
    None when neither says (validation reports it)."""
    stated = channel.options.get("kind")
    if isinstance(stated, str) and stated in Kind.__members__.values():
        return Kind(stated)
    kind = adapter_fact(channel.adapter, "kind")
    return kind if isinstance(kind, Kind) else None


def broadcast_channels(channels: dict[str, ChannelSettings]) -> frozenset[str]:
    """The names of the channel instances whose items are shared by every audience."""
    return frozenset(name for name, channel in channels.items() if (kind := channel_kind(channel)) and kind.broadcast)
