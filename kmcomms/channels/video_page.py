"""`video-page`: video listings published to the static site's video library
(`<lang>/videos/`), one page per video, beside the blog.

Settings: those of `static-site` (`path`, `base_url`, `title`), plus `peertube_url`, the
PeerTube instance that `video.peertube_id` is on. A listing's page shows the message's
`video.file` (copied into the site and played with `<video>`: nothing third-party on the
page) or, for a video on YouTube or PeerTube (with `peertube_url`), a picture of the
player that links to the video there: nothing is loaded from the platform until the
reader chooses to watch. `video.poster`, an image in the campaign folder, is copied into
the site as that picture (and as the `<video>` poster). Under it: the transcript link,
then the message's summary, body and call to action, links with their own words.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from pydantic import field_validator

from kmcomms.campaign.adapters import Kind
from kmcomms.campaign.load import load_campaign
from kmcomms.campaign.workspace import campaign_files
from kmcomms.channels.base import PermanentError
from kmcomms.channels.site.entry import Entry
from kmcomms.channels.site.pages import environment
from kmcomms.channels.static_site import SiteChannel, SiteOptions, http_url
from kmcomms.channels.youtube import YouTube
from kmcomms.render.drafts import Draft, Problem, VideoListing
from kmcomms.translations.words import words

__all__ = ["VideoPage", "VideoPageOptions"]

_PARAGRAPH = re.compile(r"<p\b([^>]*)>(.*?)</p>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: The files of a campaign a listing may bring into the site, by `video` key, in words.
_FILES = {"file": "video file", "poster": "poster image"}
SUMMARY_LIMIT = 200


class VideoPageOptions(SiteOptions):
    peertube_url: str | None = None
    """The PeerTube instance the messages' `video.peertube_id` videos are on."""

    @field_validator("peertube_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        return http_url(value)


def summary(description: str) -> str:
    """The first paragraph of a listing's HTML `description` (its summary, else its body's
    first; not the note that it is in the source language) as plain text, links reduced to
    their words, cut at a word to at most SUMMARY_LIMIT characters."""
    for match in _PARAGRAPH.finditer(description):
        text = " ".join(html.unescape(_TAG.sub("", match[2])).split())
        if text and "km-note" not in match[1]:
            return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return ""


class VideoPage(SiteChannel):
    kind = Kind.VIDEO
    Settings = VideoPageOptions
    section = "videos"
    draft_type = VideoListing

    @classmethod
    def draft_problems(cls, draft: Draft) -> list[Problem]:
        # A message's listing is the same words on every video channel, and the page's video
        # is most often the one on YouTube: held to YouTube's limits here too, a listing
        # too long for YouTube is found before it is on the page, not when it is also sent there.
        return YouTube.draft_problems(draft)

    def entry(self, draft: Draft, key: str, published: datetime) -> Entry:
        assert isinstance(draft, VideoListing)
        options = self.options
        assert isinstance(options, VideoPageOptions)
        files: dict[str, Path] = {}
        player = self._player(draft, options, files)
        poster = None
        if draft.poster:
            poster = self._site_name(draft, draft.poster)
            files[poster] = self._campaign_file(draft, "poster")
        page = (
            environment()
            .get_template("video.html.j2")
            .render(
                _=words(draft.language).gettext,
                language=draft.language,
                direction=draft.direction,
                title=draft.title,
                transcript=draft.transcript,
                poster=poster,
                description=draft.html,
                **player,
            )
        )
        extra = {
            "youtube_id": draft.youtube_id,
            "peertube_id": draft.peertube_id,
            "file": player["file"],
            "poster": poster,
            "transcript": draft.transcript,
        }
        return self.draft_entry(
            draft,
            key,
            published,
            slug=draft.message,
            summary=summary(draft.html),
            html=page,
            files=files,
            extra={name: value for name, value in extra.items() if value},
        )

    def _player(self, draft: VideoListing, options: VideoPageOptions, files: dict[str, Path]) -> dict[str, str | None]:
        """How the page plays the video: the message's own file (added to `files`, to be
        copied into the site), else a link to it on PeerTube or YouTube."""
        if draft.file:
            name = self._site_name(draft, draft.file)
            files[name] = self._campaign_file(draft, "file")
            return {"file": name, "watch": None, "platform": None}
        if draft.peertube_id and options.peertube_url:
            return {
                "file": None,
                "watch": f"{options.peertube_url}/videos/watch/{quote(draft.peertube_id, safe='')}",
                "platform": urlsplit(options.peertube_url).hostname,
            }
        if draft.youtube_id:
            return {
                "file": None,
                "watch": f"https://www.youtube.com/watch?v={quote(draft.youtube_id, safe='')}",
                "platform": "YouTube",
            }
        if draft.peertube_id:
            raise PermanentError(
                f"the video is on PeerTube but [channels.{self.name}] has no peertube_url"
                " — set it to the instance's address",
                self.name,
            )
        raise PermanentError(
            "the message has no video — give it video.youtube_id, video.peertube_id or video.file", self.name
        )

    @staticmethod
    def _site_name(draft: VideoListing, name: str) -> str:
        """The name a file of the campaign's has in the site: the campaign's id in front, so
        two campaigns' "launch.mp4" do not meet."""
        return _UNSAFE.sub("-", f"{draft.campaign}-{name}").strip("-.")

    def _campaign_file(self, draft: VideoListing, key: str) -> Path:
        """The campaign's file that the draft's `video.<key>` names (`file`, `poster`),
        relative to the campaign's folder."""
        name: str = getattr(draft, key)  # asked for only when the draft names one
        what = _FILES[key]
        # The folder is usually named after the campaign; a campaign may set another id.
        paths = sorted(campaign_files(self.root), key=lambda p: p.parent.name != draft.campaign)
        for path in paths:
            loaded, _ = load_campaign(path, None)
            if loaded is not None and loaded.campaign.id == draft.campaign:
                folder = path.parent.resolve()
                target = (folder / name).resolve()
                if not target.is_relative_to(folder):
                    raise PermanentError(
                        f"the {what} {name} is outside {folder} — keep it in the campaign folder", self.name
                    )
                if not target.is_file():
                    raise PermanentError(f"the {what} {target} is missing — put it there or fix video.{key}", self.name)
                return target
        raise PermanentError(f'no campaign "{draft.campaign}" in {self.root} to find the {what} in', self.name)
