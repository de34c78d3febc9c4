"""`video-page`: video listings published to the static site's video library
(`<lang>/videos/`), one page per video, beside the blog.

Settings: those of `static-site` (`path`, `base_url`, `title`), plus `peertube_url`, the
PeerTube instance that `video.peertube_id` is on. A listing plays, in this order of
preference: the message's `video.file` (copied into the site and played with `<video>`:
nothing third-party on the page), its PeerTube video (with `peertube_url`), its YouTube
video (embedded from youtube-nocookie.com, which sets no cookies until the reader plays).
The description is the listing's plain text, addresses made links; the transcript is
linked when the message has one.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup
from pydantic import field_validator

from kmcomms.campaign import load_campaign
from kmcomms.channels import Kind
from kmcomms.channels.base import PermanentError
from kmcomms.channels.static_site import SiteChannel, SiteOptions, http_url
from kmcomms.render.drafts import Draft, VideoListing
from kmcomms.site import Entry
from kmcomms.site.pages import environment
from kmcomms.words import words
from kmcomms.workspace import campaign_files

__all__ = ["VideoPage", "VideoPageOptions"]

# An address in plain text, without the punctuation that usually follows one in a sentence.
_URL = re.compile(r"https?://[^\s\"'‹›]*[^\s\"'‹›.,;:!?)]")
_BLOCKS = re.compile(r"\n\s*\n")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SUMMARY_LIMIT = 200


class VideoPageOptions(SiteOptions):
    peertube_url: str | None = None
    """The PeerTube instance the messages' `video.peertube_id` videos are on."""

    @field_validator("peertube_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        return http_url(value)


def _linked(line: str) -> Markup:
    """`line` escaped, with each http(s) address in it made a link."""
    out, start = Markup(), 0
    for match in _URL.finditer(line):
        out += line[start:match.start()] + Markup('<a href="{0}">{0}</a>').format(match[0])
        start = match.end()
    return out + line[start:]


def paragraphs(text: str) -> list[Markup]:
    """Plain `text` as paragraph contents: blank lines part paragraphs, line breaks stay."""
    return [Markup("<br>\n").join(_linked(line) for line in block.strip().splitlines())
            for block in _BLOCKS.split(text.strip()) if block.strip()]


def summary(text: str) -> str:
    """The first paragraph of `text`, cut at a word to at most SUMMARY_LIMIT characters."""
    first = " ".join(_BLOCKS.split(text.strip())[0].split())
    return first if len(first) <= SUMMARY_LIMIT else first[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"


class VideoPage(SiteChannel):
    kind = Kind.VIDEO
    Settings = VideoPageOptions
    section = "videos"
    draft_type = VideoListing

    def entry(self, draft: Draft, key: str, published: datetime) -> Entry:
        assert isinstance(draft, VideoListing)
        options = self.options
        assert isinstance(options, VideoPageOptions)
        files: dict[str, Path] = {}
        if draft.file:
            name = _UNSAFE.sub("-", f"{draft.campaign}-{draft.file}").strip("-.")
            files[name] = self._video_file(draft)
            player = {"file": name, "embed": None, "watch": name}
        elif draft.peertube_id and options.peertube_url:
            video = quote(draft.peertube_id, safe="")
            player = {"file": None, "embed": f"{options.peertube_url}/videos/embed/{video}",
                      "watch": f"{options.peertube_url}/videos/watch/{video}"}
        elif draft.youtube_id:
            video = quote(draft.youtube_id, safe="")
            player = {"file": None, "embed": f"https://www.youtube-nocookie.com/embed/{video}",
                      "watch": f"https://www.youtube.com/watch?v={video}"}
        elif draft.peertube_id:
            raise PermanentError(f"the video is on PeerTube but [channels.{self.name}] has no peertube_url"
                                 " — set it to the instance's address", self.name)
        else:
            raise PermanentError("the message has no video — give it video.youtube_id, video.peertube_id or video.file",
                                 self.name)
        html = environment().get_template("video.html.j2").render(
            _=words(draft.language).gettext, language=draft.language, direction=draft.direction, title=draft.title,
            transcript=draft.transcript, paragraphs=paragraphs(draft.description), **player)
        extra = {"youtube_id": draft.youtube_id, "peertube_id": draft.peertube_id, "file": player["file"],
                 "transcript": draft.transcript}
        return self.draft_entry(draft, key, published, slug=draft.message, summary=summary(draft.description),
                                html=html, files=files, extra={name: value for name, value in extra.items() if value})

    def _video_file(self, draft: VideoListing) -> Path:
        """The message's video file: `video.file` is relative to its campaign's folder."""
        assert draft.file
        # The folder is usually named after the campaign; a campaign may set another id.
        paths = sorted(campaign_files(self.root), key=lambda p: p.parent.name != draft.campaign)
        for path in paths:
            loaded, _ = load_campaign(path, None)
            if loaded is not None and loaded.campaign.id == draft.campaign:
                folder = path.parent.resolve()
                target = (folder / draft.file).resolve()
                if not target.is_relative_to(folder):
                    raise PermanentError(f"the video file {draft.file} is outside {folder} — keep it in the campaign folder", self.name)
                if not target.is_file():
                    raise PermanentError(f"the video file {target} is missing — put it there or fix video.file", self.name)
                return target
        raise PermanentError(f'no campaign "{draft.campaign}" in {self.root} to find the video file in', self.name)
