"""Drafts: a delivery rendered for its channel kind, exactly as the channel will get it.

Plain frozen data: a channel adapter publishes a draft, `preview` shows it, pre-flight
checks read it. One class per channel kind, and `Problem`: what a check (pre-flight's, or
an adapter's `draft_problems`) finds wrong with one draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kmcomms.campaign.adapters import Kind
from kmcomms.errors import Severity

__all__ = [
    "Blocked",
    "BlogPost",
    "Briefing",
    "Draft",
    "Kind",
    "Link",
    "Newsletter",
    "Problem",
    "SocialPost",
    "VideoListing",
]


@dataclass(frozen=True, slots=True)
class Link:
    """A link in a delivery, registered for click tracking.

    `id` is stable for the delivery and the original address; `url` carries the UTM tags.
    """

    id: str
    original: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """What every draft has: who it is for, in which language and direction, its links,
    and whether it falls back to the campaign's source language."""

    kind: ClassVar[Kind]

    delivery: str
    campaign: str
    message: str
    audiences: tuple[str, ...]
    """Who it reaches: one audience on a targeted channel (newsletter, briefing), each
    audience sharing the item on a broadcast channel (blog, video, social)."""
    channel: str
    language: str
    """The language the text is in (the source language when `fallback`)."""
    direction: str
    """"ltr" or "rtl"."""
    fallback: bool
    """True when the delivery's language is not (fully) translated and the source is sent."""
    title: str
    acknowledgement: str
    links: tuple[Link, ...]
    source_language: str = ""
    """The campaign's source language ("" in drafts made by hand: then only contacts in
    `language` receive it)."""
    audience_languages: tuple[str, ...] = ()
    """The languages the audiences are reached in: a contact in none of them gets the
    source-language delivery."""

    @property
    def audience(self) -> str:
        """The one audience of a targeted delivery, whose recipients are chosen by it."""
        if len(self.audiences) != 1:
            raise ValueError(f"delivery {self.delivery} reaches {len(self.audiences)} audiences, not one")
        return self.audiences[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class BlogPost(Draft):
    kind: ClassVar[Kind] = Kind.BLOG
    slug: str
    excerpt: str
    tags: tuple[str, ...]
    html: str
    """The post's article element: heading, body, call to action, acknowledgement."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Newsletter(Draft):
    kind: ClassVar[Kind] = Kind.NEWSLETTER
    subject: str
    preheader: str
    html: str
    """A whole HTML e-mail document."""
    text: str
    """The plain-text part."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoListing(Draft):
    kind: ClassVar[Kind] = Kind.VIDEO
    description: str
    """Plain text within YouTube's limits: 5000 bytes, no angle brackets."""
    tags: tuple[str, ...]
    youtube_id: str | None
    peertube_id: str | None
    file: str | None
    transcript: str | None
    poster: str | None = None
    """A still image for the video, relative to the campaign folder."""
    html: str = ""
    """The description for a web page: summary, body and call to action as sanitised HTML,
    links with their words (the plain `description` spells addresses out)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Briefing(Draft):
    kind: ClassVar[Kind] = Kind.BRIEFING
    date: str
    """The briefing's date, written for its language."""
    summary: str
    key_points: tuple[str, ...]
    evidence: str
    uncertainty: str
    recommendations: tuple[str, ...]
    contacts: tuple[str, ...]
    html: str
    """A whole HTML document in the POST-note shape."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SocialPost(Draft):
    kind: ClassVar[Kind] = Kind.SOCIAL
    text: str
    """The post, with its link, within `limit`."""
    limit: int


@dataclass(frozen=True, slots=True)
class Blocked:
    """A delivery that cannot be rendered as it stands, and why (a person can fix it)."""

    delivery: str
    reason: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one draft: how bad, a stable code, and what is wrong with its fix."""

    severity: Severity
    code: str
    message: str
