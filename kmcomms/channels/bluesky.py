"""`bluesky`: social posts on Bluesky (the AT Protocol), each created under a record key
derived from its delivery id, so a retry can never make a second post.

Settings (`[channels.<name>]`, `adapter = "bluesky"`):

    [channels.bluesky]
    adapter = "bluesky"
    handle = "unit.bsky.social"                  # the account: its handle, or its DID
    app_password = "${BLUESKY_APP_PASSWORD}"      # an app password (Settings → Privacy and
                                                  # security → App passwords), never the
                                                  # account's own password
    service = "https://bsky.social"              # the account's PDS (the default)
    appview = "https://public.api.bsky.app"      # where reach is read (the default)

`service` and `appview` must be https (http only on this machine). `app_password` is a
secret: write "${VAR}" and set VAR; it is read when a session is opened and never logged
or put in an error.

How it talks to Bluesky:

- A session (`com.atproto.server.createSession`) is opened on first use and kept in
  memory for the life of the channel: Bluesky allows 30 logins per 5 minutes and 300 a
  day. An expired access token (`ExpiredToken`) is renewed with
  `com.atproto.server.refreshSession`, and the call made once more; a refused refresh
  logs in again.
- Each post is `com.atproto.repo.createRecord` of an `app.bsky.feed.post` with `text`,
  `createdAt` (UTC), `langs` (the delivery's language) and a link facet for every
  address in the text, at UTF-8 *byte* offsets (links are only clickable with facets).
  The text must fit 300 graphemes and 3000 bytes; a longer one is refused before any call.
  (Graphemes and facets are counted and made in `kmcomms.channels.social_text`.)
- The record key (`rkey`) is `record_key(delivery id)`: a string in TID syntax (13
  characters of base32-sortable) made from the first 60 bits of the SHA-256 of the
  delivery id, so the same delivery always gets the same key (two deliveries share one
  with odds of about 1 in 2^60). Its time part is therefore meaningless, and always
  before 2006, never in the future. A second create with the same key is refused by the
  PDS (how depends on the PDS version: `InvalidSwap`, "already exists", or a 500), and
  the adapter then finds the record (`com.atproto.repo.getRecord`) and returns it:
  publishing again is harmless, so the adapter is `idempotent`.
- `find()` asks `getRecord` for the delivery's key. `withdraw()` deletes the record.
  Posts are not edited: Bluesky's app has no editing, so `update()` is not offered.
- Reach: `app.bsky.feed.getPosts` on the AppView gives `likes`, `reposts`, `replies`
  and `quotes` (no views: Bluesky does not count them).
- Errors: `{"error": "…", "message": "…"}`. 5xx and 429 are transient; a 429's wait is
  taken from `Retry-After`, else from `RateLimit-Reset` (a Unix time). Other 4xx
  (`AuthenticationRequired`, `InvalidRequest`, …) are permanent. Writes cost 3 points of
  5000 an hour and 35,000 a day per account, far above what campaigns post.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import SecretStr, field_validator

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import (
    ChannelError,
    ChannelOptions,
    PermanentError,
    Publication,
    TransientError,
)
from kmcomms.channels.http import HttpChannel, secure_url, shorten
from kmcomms.channels.social_text import facets, graphemes
from kmcomms.render.drafts import Draft, SocialPost

__all__ = ["Bluesky", "BlueskyOptions", "record_key"]

log = logging.getLogger("kmcomms.channels.bluesky")

POST = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
WEB = "https://bsky.app"

_HANDLE = re.compile(r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]+")
_S32 = "234567abcdefghijklmnopqrstuvwxyz"


def record_key(key: str) -> str:
    """The record key of delivery `key`'s post: TID syntax, the same for the same key
    (see the module)."""
    number = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") >> 4
    return "".join(_S32[(number >> shift) & 31] for shift in range(60, -1, -5))


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error_code(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _said(response: requests.Response) -> str | None:
    """An XRPC error as "Code: message", or None to let `refused` read the body."""
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("error"), str):
        return None
    message = data.get("message")
    return shorten(f"{data['error']}: {message}" if isinstance(message, str) and message else data["error"])


# ---------------------------------------------------------------------------- the adapter


class BlueskyOptions(ChannelOptions):
    handle: str
    """The account's handle (unit.bsky.social) or DID (did:plc:…)."""
    app_password: SecretStr
    """An app password; write "${VAR}" and set VAR."""
    service: str = "https://bsky.social"
    """The account's PDS."""
    appview: str = "https://public.api.bsky.app"
    """Where reach is read; needs no login."""

    @field_validator("handle")
    @classmethod
    def _check_handle(cls, value: str) -> str:
        value = value.strip().removeprefix("@")
        if not (_HANDLE.fullmatch(value) or _DID.fullmatch(value)):
            raise ValueError('must be a handle such as "unit.bsky.social" or a DID such as "did:plc:…"')
        return value

    @field_validator("service", "appview")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return secure_url(value)


class Bluesky(HttpChannel):
    """Posts to Bluesky under a record key per delivery (see the module)."""

    kind = Kind.SOCIAL
    #: Bluesky's post length, in graphemes: the renderer shortens a post's summary to fit.
    post_limit = 300
    Settings = BlueskyOptions
    idempotent = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.settings, BlueskyOptions)
        self.options: BlueskyOptions = self.settings
        #: What `createdAt` is taken from; tests set a fixed one.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._login: dict[str, str] | None = None
        # The daemon's jobs run in two threads: one login (or refresh) at a time.
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ session

    def _refused(self, response: requests.Response, what: str) -> ChannelError:
        error = self.refused(response, what, _said(response))
        reset = response.headers.get("RateLimit-Reset", "")
        if isinstance(error, TransientError) and error.retry_after is None and reset.strip().isdigit():
            error.retry_after = max(0.0, int(reset) - self.clock().timestamp())
        return error

    def _open_session(self) -> dict[str, str]:
        what = f"logging in to {self.options.service} as {self.options.handle}"
        password = self.secret("app_password", self.options.app_password)
        response = self.request(
            "POST",
            f"{self.options.service}/xrpc/com.atproto.server.createSession",
            what,
            json={"identifier": self.options.handle, "password": password},
        )
        data = self._json(response, what)
        if not all(isinstance(data.get(k), str) for k in ("accessJwt", "refreshJwt", "did", "handle")):
            raise TransientError(f"{what}: the answer lacks the session's tokens", self.name)
        log.info("opened a Bluesky session for %s (%s)", data["handle"], data["did"])
        return {k: data[k] for k in ("accessJwt", "refreshJwt", "did", "handle")}

    def _session(self) -> dict[str, str]:
        with self._lock:
            if self._login is None:
                self._login = self._open_session()
            return self._login

    def _renew(self, stale: dict[str, str]) -> dict[str, str]:
        """A fresh access token after `stale`'s expired: refreshed, or a new login when the
        refresh token is refused too. Another thread may have renewed it already."""
        with self._lock:
            if self._login is not stale and self._login is not None:
                return self._login
            what = f"refreshing the session of {self.options.handle}"
            response = self.request(
                "POST",
                f"{self.options.service}/xrpc/com.atproto.server.refreshSession",
                what,
                headers={"Authorization": f"Bearer {stale['refreshJwt']}"},
            )
            if response.status_code == 200:
                data = self._json(response, what)
                self._login = {
                    **stale,
                    **{k: data[k] for k in ("accessJwt", "refreshJwt") if isinstance(data.get(k), str)},
                }
            elif response.status_code in (400, 401):  # ExpiredToken, InvalidToken, revoked: log in again
                self._login = self._open_session()
            else:
                raise self._refused(response, what)
            return self._login

    def _call(self, method: str, nsid: str, what: str, **kwargs: Any) -> requests.Response:
        """An XRPC call to the PDS with the session's access token, renewed once if expired."""
        url = f"{self.options.service}/xrpc/{nsid}"
        session = self._session()
        response = self.request(
            method, url, what, headers={"Authorization": f"Bearer {session['accessJwt']}"}, **kwargs
        )
        if response.status_code in (400, 401) and _error_code(response) == "ExpiredToken":
            session = self._renew(session)
            response = self.request(
                method, url, what, headers={"Authorization": f"Bearer {session['accessJwt']}"}, **kwargs
            )
        if response.status_code == 401:
            with self._lock:  # revoked or not accepted: the next call logs in afresh
                self._login = None
        return response

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        if not 200 <= response.status_code < 300:
            raise self._refused(response, what)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TransientError(
                f"{what}: {response.url} answered {response.status_code} without a JSON object", self.name
            )
        return data

    # ------------------------------------------------------------------ posts

    def _record(self, draft: Draft) -> dict[str, Any]:
        if not isinstance(draft, SocialPost):
            raise PermanentError(f"channel {self.name} posts social drafts, not {draft.kind}", self.name)
        text = draft.text
        length, size = graphemes(text), len(text.encode("utf-8"))
        if length > MAX_GRAPHEMES or size > MAX_BYTES:
            raise PermanentError(
                f"the post for {draft.delivery} is {length} characters ({size} bytes); Bluesky takes "
                f"at most {MAX_GRAPHEMES} ({MAX_BYTES} bytes) — shorten its summary",
                self.name,
            )
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": _timestamp(self.clock()),
            "langs": [draft.language],
        }
        if found := facets(text):
            record["facets"] = found
        return record

    def _publication(self, uri: str) -> Publication:
        rkey = uri.rsplit("/", 1)[-1]
        return Publication(uri, f"{WEB}/profile/{self._session()['handle']}/post/{rkey}")

    def publish(self, draft: Draft, key: str) -> Publication:
        record = self._record(draft)
        what = f"posting {key}"
        body = {"repo": self._session()["did"], "collection": POST, "rkey": record_key(key), "record": record}
        response = self._call("POST", "com.atproto.repo.createRecord", what, json=body)
        if response.status_code == 200:
            uri = self._json(response, what).get("uri")
            if not isinstance(uri, str):
                raise TransientError(f"{what}: the answer has no record uri", self.name)
            log.info("posted %s as %s", key, uri)
            return self._publication(uri)
        error = self._refused(response, what)
        # A refused create may be a repeat of one that worked but whose answer was lost:
        # the key is taken. Which error a PDS gives for that varies, so look.
        if response.status_code in (400, 409) or response.status_code >= 500:
            try:
                found = self.find(key)
            except ChannelError:
                found = None
            if found is not None:
                log.info("%s was posted before, as %s", key, found.remote_id)
                return found
        raise error

    def find(self, key: str) -> Publication | None:
        what = f"looking up {key}"
        params = {"repo": self._session()["did"], "collection": POST, "rkey": record_key(key)}
        response = self.request("GET", f"{self.options.service}/xrpc/com.atproto.repo.getRecord", what, params=params)
        if response.status_code == 404 or (response.status_code == 400 and _error_code(response) == "RecordNotFound"):
            return None
        uri = self._json(response, what).get("uri")
        if not isinstance(uri, str):
            raise TransientError(f"{what}: the answer has no record uri", self.name)
        return self._publication(uri)

    def withdraw(self, publication: Publication) -> None:
        what = f"deleting {publication.remote_id}"
        body = {"repo": self._session()["did"], "collection": POST, "rkey": publication.remote_id.rsplit("/", 1)[-1]}
        self._json(self._call("POST", "com.atproto.repo.deleteRecord", what, json=body), what)

    def collect(self, publication: Publication) -> dict[str, float]:
        """`likes`, `reposts`, `replies` and `quotes` so far; empty while the AppView has
        not indexed the post (or after it was deleted)."""
        what = f"reading the reach of {publication.remote_id}"
        response = self.request(
            "GET", f"{self.options.appview}/xrpc/app.bsky.feed.getPosts", what, params={"uris": [publication.remote_id]}
        )
        posts = self._json(response, what).get("posts")
        for post in posts if isinstance(posts, list) else []:
            if isinstance(post, dict) and post.get("uri") == publication.remote_id:
                names = {
                    "likeCount": "likes",
                    "repostCount": "reposts",
                    "replyCount": "replies",
                    "quoteCount": "quotes",
                }
                return {name: float(post[field]) for field, name in names.items() if isinstance(post.get(field), int)}
        return {}

    def check(self) -> list[str]:
        """Logs in afresh: the handle, the app password and the service are all tried."""
        try:
            session = self._open_session()
        except ChannelError as exc:
            return [self.problem(exc)]
        with self._lock:
            self._login = session
        return []
