"""Channels: where deliveries go. Each instance in kmcomms.toml names an adapter.

Until adapters register themselves (with their kind and limits), the kinds of the
built-in and planned adapters are known here, and a channel instance may state its
`kind` itself (the `folder` adapter writes whatever kind it is told).
"""

from __future__ import annotations

from enum import StrEnum

from kmcomms.workspace import ChannelSettings

__all__ = ["ADAPTER_KINDS", "SOCIAL_LIMITS", "Kind", "broadcast_channels", "channel_kind"]


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


ADAPTER_KINDS: dict[str, Kind] = {
    "static-site": Kind.BLOG,
    "wordpress": Kind.BLOG,
    "ghost": Kind.BLOG,
    "smtp": Kind.NEWSLETTER,
    "listmonk": Kind.NEWSLETTER,
    "mailchimp": Kind.NEWSLETTER,
    "video-page": Kind.VIDEO,
    "youtube": Kind.VIDEO,
    "peertube": Kind.VIDEO,
    "briefing": Kind.BRIEFING,
    "folder": Kind.BLOG,
    "mastodon": Kind.SOCIAL,
    "bluesky": Kind.SOCIAL,
}

#: Post length per social adapter: Mastodon's default 500 characters, Bluesky's 300 graphemes.
SOCIAL_LIMITS = {"mastodon": 500, "bluesky": 300}


def channel_kind(channel: ChannelSettings) -> Kind | None:
    """The kind a channel instance publishes: its own `kind` setting, else its adapter's.
    None when neither says (validation reports it)."""
    stated = channel.options.get("kind")
    if isinstance(stated, str) and stated in Kind.__members__.values():
        return Kind(stated)
    if channel.adapter in ADAPTER_KINDS:
        return ADAPTER_KINDS[channel.adapter]
    # A third-party adapter says its own kind. Imported here: the registry needs this module.
    from kmcomms.channels.registry import adapter_class

    try:
        return adapter_class(channel.adapter).kind
    except Exception:  # noqa: BLE001 - not installed, or a package that does not import: check_channel says which
        return None


def broadcast_channels(channels: dict[str, ChannelSettings]) -> frozenset[str]:
    """The names of the channel instances whose items are shared by every audience."""
    return frozenset(name for name, channel in channels.items() if (kind := channel_kind(channel)) and kind.broadcast)
