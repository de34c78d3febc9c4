"""Rendering: a planned delivery in, the exact draft its channel will receive out.

`Renderer(workspace, campaigns).render(delivery)` → a `Draft` (or `Blocked` with the
reason). Pure apart from reading templates and catalogs once: nothing is sent.
"""

from kmcomms.render.drafts import BlogPost, Blocked, Briefing, Draft, Kind, Link, Newsletter, SocialPost, VideoListing
from kmcomms.render.renderer import Renderer

__all__ = [
    "BlogPost",
    "Blocked",
    "Briefing",
    "Draft",
    "Kind",
    "Link",
    "Newsletter",
    "Renderer",
    "SocialPost",
    "VideoListing",
]
