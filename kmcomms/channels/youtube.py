"""`youtube`: a video's listing on YouTube (title, description, tags, category, and a
localization per language) set through the YouTube Data API v3; the video added to a
playlist; its views, likes and comments collected.

kmcomms does not upload videos: a person uploads the video (YouTube Studio) and gives its id
in the campaign (`video.youtube_id`). Each delivery of the message to this channel then sets
the listing in the delivery's language.

Settings:

    [channels.youtube]
    adapter = "youtube"
    client_id = "123456789012-abc.apps.googleusercontent.com"
    client_secret = "${YOUTUBE_CLIENT_SECRET}"
    refresh_token = "${YOUTUBE_REFRESH_TOKEN}"
    category_id = "27"            # optional; default: the video's own category, else 27
    playlist_id = "PLxxxxxxxxxx"  # optional: each video is added to it, once
    privacy = "public"            # optional: public, unlisted or private; default: unchanged
    token_url = "https://oauth2.googleapis.com/token"       # optional
    api_url = "https://www.googleapis.com/youtube/v3"       # optional

- `client_id`, `client_secret`: an OAuth client ("Desktop app") of a Google Cloud project
  with the YouTube Data API v3 enabled.
- `refresh_token`: from authorising that client once, as the account that owns the videos,
  with the scope `https://www.googleapis.com/auth/youtube.force-ssl`. Google expires the
  refresh tokens of apps whose consent screen is still in "Testing" after 7 days.
  `client_secret` and `refresh_token` are secrets: write `${VAR}` and set the variables.
  They are read only when a token is needed, and never logged or put in an error.
- `category_id`: the YouTube category number, as a string ("27" Education, "28" Science
  and Technology).
- `privacy`: what publishing makes the video. Leave it out to keep the video's own setting.
- `token_url`, `api_url`: Google's addresses. Change them only for a test server: https,
  or http on this machine only.

Languages: a video has one default language. Its snippet holds the title and description in
that language, and `localizations` holds them in the others. The default language is the
video's `defaultLanguage`. When the video has none, it is the campaign's source language,
and kmcomms sets it. Each delivery reads the video first, then writes its own language into
the snippet (if that is the default language) or into its localization. The other
languages, and the fields kmcomms does not manage, are written back as they were. So the
deliveries in each language add up and do not overwrite each other. Tags are the video's
own plus each delivery's, as many as fit YouTube's 500 characters.

Scheduling: `publish` sets the listing when the delivery is due, and `privacy` if it is set.
`schedule(draft, key, when)` sets the listing ahead of time with `status.publishAt` (the
video stays private and YouTube makes it public at `when`). YouTube accepts `publishAt`
only on a private video that has never been public. `update` rewrites the listing and
leaves the privacy alone, so a content edit never makes a scheduled video public early.

Exactly once: setting a listing is a PUT of the same content, so repeating it is harmless.
A video is added to the playlist only after a check that it is not already there. The
adapter is therefore `idempotent`. `find(key)` only knows the listings that this process
set, and for those it checks YouTube. For any other key it answers None, and the delivery
is published again, which is harmless here. Two daemons that set listings of the same video
at the same moment can race. YouTube's update replaces every localization and has no
conditional form, so the write that lands last wins. Run one daemon per workspace.

Quota and rate limits: YouTube sends no rate-limit headers. Its limit is a daily quota of
10,000 units per project, which resets at midnight Pacific time. A listing costs 1 (read)
+ 50 (update), plus 1 for the playlist check and 50 for the playlist insert (once per
video). A collect costs 1. `quotaExceeded` and `dailyLimitExceeded` become a
`TransientError` that retries at midnight Pacific time. This is why the adapter's grace
period is 25 hours. `rateLimitExceeded`, 429 and 5xx are transient, and `Retry-After` is
honoured when sent. Other refusals are permanent: a wrong `youtube_id` (`videoNotFound`),
a video the account does not own (`forbidden`), or an `invalid…` field. The tokens, the
calls and these mappings are in `kmcomms.channels.youtube_api`.

Reach: `collect` reads `videos.list?part=statistics` and returns `views`, `likes` and
`comments` (running totals; likes and comments only when the video shows them). It does
not use YouTube Analytics. `withdraw` is not supported: the video belongs to the person
who uploaded it, and it carries every language's listing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import SecretStr, field_validator

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import (
    ChannelError,
    ChannelOptions,
    PermanentError,
    Publication,
)
from kmcomms.channels.http import HttpChannel, secure_url
from kmcomms.channels.youtube_api import DataApi
from kmcomms.errors import Severity
from kmcomms.render.drafts import Draft, Problem, VideoListing

__all__ = ["YouTube", "YouTubeOptions", "tags_length"]

log = logging.getLogger("kmcomms.channels.youtube")

DEFAULT_CATEGORY = "27"  # Education
WATCH = "https://www.youtube.com/watch?v="
#: The writable fields of a video's snippet and status. YouTube sets the others, and an
#: update must not send them back.
SNIPPET_FIELDS = frozenset({"title", "description", "tags", "categoryId", "defaultLanguage", "defaultAudioLanguage"})
STATUS_FIELDS = frozenset(
    {
        "privacyStatus",
        "publishAt",
        "license",
        "embeddable",
        "publicStatsViewable",
        "selfDeclaredMadeForKids",
        "containsSyntheticMedia",
    }
)
METRICS = {"views": "viewCount", "likes": "likeCount", "comments": "commentCount"}
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def tags_length(tags: Iterable[str]) -> int:
    """Tags as YouTube counts them: joined by commas, a tag with a space in quotes."""
    tags = list(tags)
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


class YouTubeOptions(ChannelOptions):
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    category_id: str | None = None
    """YouTube's category number, e.g. "27" (Education); default: the video's own."""
    playlist_id: str | None = None
    privacy: Literal["public", "unlisted", "private"] | None = None
    """What `publish` makes the video; None leaves its privacy as it is."""
    token_url: str = "https://oauth2.googleapis.com/token"
    api_url: str = "https://www.googleapis.com/youtube/v3"

    @field_validator("token_url", "api_url")
    @classmethod
    def _secure(cls, value: str) -> str:
        return secure_url(value)

    @field_validator("category_id", mode="before")
    @classmethod
    def _category(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `category_id = 27` in TOML means the same thing
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise ValueError('must be a YouTube category number, e.g. "27" (Education)')
        return value


class YouTube(HttpChannel):
    """Sets video listings on YouTube (see the module for settings and behaviour)."""

    kind = Kind.VIDEO
    Settings = YouTubeOptions
    idempotent = True
    # A delivery stopped by the daily quota waits up to 24 hours (until midnight Pacific).
    grace = timedelta(hours=25)
    title_limit: ClassVar[int] = 100
    """Characters in a video's title."""
    description_limit: ClassVar[int] = 5000
    """Bytes (UTF-8) in a video's description."""
    tags_limit: ClassVar[int] = 500
    """Characters in a video's tags, as `tags_length` counts them."""

    @classmethod
    def draft_problems(cls, draft: Draft) -> list[Problem]:
        """What YouTube refuses in a listing: a title or description over its limits, a
        < or > in either, tags over their limit."""
        if not isinstance(draft, VideoListing):
            return []
        found = []
        if len(draft.title) > cls.title_limit:
            found.append(
                Problem(
                    Severity.ERROR,
                    "video-title-too-long",
                    f"video title is {len(draft.title)} characters, over YouTube's {cls.title_limit} — shorten the title",
                )
            )
        size = len(draft.description.encode("utf-8"))
        if size > cls.description_limit:
            found.append(
                Problem(
                    Severity.ERROR,
                    "video-description-too-long",
                    f"video description is {size} bytes, over YouTube's {cls.description_limit} (letters outside "
                    "Latin take 2–4 bytes each) — shorten the summary or the body",
                )
            )
        for part, value in (("title", draft.title), ("description", draft.description)):
            if "<" in value or ">" in value:
                found.append(
                    Problem(
                        Severity.ERROR,
                        "video-angle-brackets",
                        f"video {part} contains < or >, which YouTube refuses — remove them (check the video template)",
                    )
                )
        length = tags_length(draft.tags)
        if length > cls.tags_limit:
            found.append(
                Problem(
                    Severity.ERROR,
                    "video-tags-too-long",
                    f"video tags are {length} characters, over YouTube's {cls.tags_limit} (counting commas, "
                    "and quotes around tags with spaces) — use fewer or shorter tags",
                )
            )
        return found

    def __init__(self, *args: Any, clock: Callable[[], datetime] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.settings, YouTubeOptions)
        self.options: YouTubeOptions = self.settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.api = DataApi(self, self.options, self.clock)
        #: delivery → (video id, language, title): the listings this process set or began to set.
        self._listings: dict[str, tuple[str, str, str]] = {}

    # ------------------------------------------------------------------ the listing

    def _video(self, video_id: str, parts: str, what: str) -> dict[str, Any]:
        found = self.api.call("GET", "videos", what, {"part": parts, "id": video_id}).get("items") or []
        if not found:
            raise PermanentError(
                f"{what}: YouTube has no video {video_id} that this account can see — check "
                "video.youtube_id in the campaign",
                self.name,
            )
        video: dict[str, Any] = found[0]
        return video

    def _usable(self, draft: Draft) -> tuple[VideoListing, str]:
        if not isinstance(draft, VideoListing):
            raise PermanentError(f"a youtube channel publishes video listings, not {draft.kind} drafts", self.name)
        if not draft.youtube_id:
            raise PermanentError(
                "the message has no video.youtube_id — upload the video to YouTube and give its id "
                "(kmcomms sets the listing, it does not upload)",
                self.name,
            )
        if not _VIDEO_ID.fullmatch(draft.youtube_id):
            raise PermanentError(
                f"video.youtube_id {draft.youtube_id!r} is not a YouTube video id (11 letters, digits, "
                "- or _, as in youtube.com/watch?v=<id>)",
                self.name,
            )
        return draft, draft.youtube_id

    def _merged(self, video: dict[str, Any], draft: VideoListing) -> dict[str, Any]:
        """The video's listing with the draft's language written in: into the snippet when
        it is the default language, else into its localization. All else is kept."""
        snippet = {k: v for k, v in (video.get("snippet") or {}).items() if k in SNIPPET_FIELDS}
        localizations = dict(video.get("localizations") or {})
        default = snippet.get("defaultLanguage") or draft.source_language or draft.language
        snippet["defaultLanguage"] = default
        text = {"title": draft.title, "description": draft.description}
        if draft.language == default:
            snippet.update(text)
        else:
            localizations[draft.language] = text
        snippet["categoryId"] = self.options.category_id or snippet.get("categoryId") or DEFAULT_CATEGORY
        tags = list(snippet.get("tags") or [])
        for tag in draft.tags:
            if tag in tags:
                continue
            if tags_length([*tags, tag]) > self.tags_limit:
                log.warning(
                    "video %s: tag %r left out, over YouTube's %d characters of tags",
                    video.get("id"),
                    tag,
                    self.tags_limit,
                )
                continue
            tags.append(tag)
        if tags:
            snippet["tags"] = tags
        return {"id": video["id"], "snippet": snippet, "localizations": localizations}

    def _set(self, draft: Draft, key: str, status: dict[str, str] | None) -> Publication:
        """Write the draft's language into its video's listing, `status` (fields to change)
        into its status, and add it to the playlist."""
        listing, video_id = self._usable(draft)
        video = self._video(video_id, "snippet,localizations,status", f"reading video {video_id} for {key}")
        current = video.get("status") or {}
        if current.get("uploadStatus") in ("failed", "rejected", "deleted"):
            why = current.get("failureReason") or current.get("rejectionReason") or "no reason given"
            raise PermanentError(
                f"video {video_id} is {current['uploadStatus']} on YouTube ({why}) — upload it again "
                "and change video.youtube_id",
                self.name,
            )
        body = self._merged(video, listing)
        parts = ["snippet", "localizations"]
        if status is not None:
            # The status part is replaced whole: what is not sent is reset, so send back what is there.
            changed = {k: v for k, v in current.items() if k in STATUS_FIELDS} | status
            if changed.get("privacyStatus") != "private":
                changed.pop("publishAt", None)  # YouTube takes publishAt only on a private video
            body["status"] = changed
            parts.append("status")
        self._listings[key] = (video_id, listing.language, listing.title)
        self.api.call(
            "PUT",
            "videos",
            f"setting the {listing.language} listing of video {video_id} for {key}",
            {"part": ",".join(parts)},
            body,
        )
        if self.options.playlist_id:
            self._add_to_playlist(video_id, self.options.playlist_id, key)
        return Publication(video_id, WATCH + video_id)

    def _add_to_playlist(self, video_id: str, playlist: str, key: str) -> None:
        what = f"adding video {video_id} to playlist {playlist} for {key}"
        there = self.api.call("GET", "playlistItems", what, {"part": "id", "playlistId": playlist, "videoId": video_id})
        if there.get("items"):
            return
        self.api.call(
            "POST",
            "playlistItems",
            what,
            {"part": "snippet"},
            {"snippet": {"playlistId": playlist, "resourceId": {"kind": "youtube#video", "videoId": video_id}}},
        )

    # ------------------------------------------------------------------ Channel

    def publish(self, draft: Draft, key: str) -> Publication:
        privacy = self.options.privacy
        return self._set(draft, key, None if privacy is None else {"privacyStatus": privacy})

    def schedule(self, draft: Draft, key: str, when: datetime) -> Publication:
        """Set the listing now and have YouTube make the video public at `when` (aware,
        in the future). The video stays private until then."""
        if when.tzinfo is None:
            raise ValueError("when must be an aware datetime")
        if when <= self.clock():
            raise PermanentError(f"cannot schedule {key} for {when.isoformat()}: that is not in the future", self.name)
        at = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._set(draft, key, {"privacyStatus": "private", "publishAt": at})

    def update(self, publication: Publication, draft: Draft) -> Publication:
        return self._set(draft, draft.delivery, None)

    def find(self, key: str) -> Publication | None:
        if key not in self._listings:
            return None  # unknown to this process: publishing again is harmless (see the module)
        video_id, language, title = self._listings[key]
        what = f"looking up the {language} listing of video {video_id} for {key}"
        found = (
            self.api.call("GET", "videos", what, {"part": "snippet,localizations", "id": video_id}).get("items") or []
        )
        if not found:
            return None
        snippet = found[0].get("snippet") or {}
        if language == snippet.get("defaultLanguage"):
            listed = snippet.get("title")
        else:
            listed = ((found[0].get("localizations") or {}).get(language) or {}).get("title")
        return Publication(video_id, WATCH + video_id) if listed == title else None

    def collect(self, publication: Publication) -> dict[str, float]:
        video_id = publication.remote_id
        stats = self._video(video_id, "statistics", f"collecting reach of video {video_id}").get("statistics") or {}
        return {metric: float(stats[field]) for metric, field in METRICS.items() if field in stats}

    def check(self) -> list[str]:
        try:
            problem = self._account_problem()
        except ChannelError as exc:
            problem = str(exc)
        return [] if problem is None else [self.problem(problem)]

    def _account_problem(self) -> str | None:
        """What is wrong with the account or the playlist: a token is fetched and the
        account's channel listed (1 quota unit), and the playlist's owner compared."""
        mine = self.api.call("GET", "channels", "checking the account", {"part": "id", "mine": "true"}).get("items")
        if not mine:
            return "the authorised Google account has no YouTube channel — authorise the account that owns the videos"
        playlist = self.options.playlist_id
        if playlist is None:
            return None
        found = self.api.call(
            "GET", "playlists", f"checking playlist {playlist}", {"part": "snippet", "id": playlist}
        ).get("items")
        if not found:
            return f"playlist_id: YouTube has no playlist {playlist}"
        if (found[0].get("snippet") or {}).get("channelId") != mine[0].get("id"):
            return f"playlist_id: playlist {playlist} belongs to another channel — use one of the authorised account's playlists"
        return None
