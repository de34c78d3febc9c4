"""`mastodon`: social posts (statuses) on a Mastodon instance, in the delivery's language,
sent with the delivery id as `Idempotency-Key`, and guarded against a second post after
that key has expired.

Settings (`[channels.<name>]`, `adapter = "mastodon"`):

    [channels.mastodon]
    adapter = "mastodon"
    url = "https://mastodon.social"       # the instance; https (http only on this machine)
    token = "${MASTODON_TOKEN}"           # an access token with write:statuses and
                                          # read:statuses, read:accounts (Preferences →
                                          # Development → New application)
    visibility = "public"                 # or "unlisted", "private", "direct"
    # max_characters = 500                # default: the instance's own limit

`token` is a secret: write "${VAR}" and set VAR; it is sent as `Authorization: Bearer`,
read when a request is made, and never logged or put in an error.

How it talks to Mastodon:

- `POST /api/v1/statuses` with `status` (the text), `language` (the ISO 639-1 part of
  the delivery's language), `visibility`, and the header `Idempotency-Key: <delivery id>`:
  Mastodon answers a repeat with the status it made the first time. kmcomms keeps the
  schedule itself: Mastodon's `scheduled_at` is not used (a scheduled status gets another
  id, and 25 a day at most).
- The length limit is the instance's (`configuration.statuses.max_characters` from
  `GET /api/v2/instance`, 500 where there is none), counted as Mastodon does: in
  graphemes, each address as 23 characters. A longer post is refused before any call.
- Mastodon forgets idempotency keys after an hour, and a retry can come later (a long
  `Retry-After`, a daemon down for a while). So the adapter keeps a small journal in the
  workspace, `.kmcomms/journal/<channel>/`, one file per delivery: written *before*
  each post (when, and a SHA-256 of the text) and completed with the status id after.
  Publishing again with a completed entry returns that status (after checking it still
  exists); with an entry older than the key's hour whose answer never came, it first
  looks through the account's statuses since then (`GET /api/v1/accounts/:id/statuses`,
  and each one's `GET /api/v1/statuses/:id/source`) for one with the same text. Nothing
  is added to the public text. `find()` answers from the same journal and search, so it
  only knows posts made from this workspace folder: daemons on several hosts each keep
  their own journal (within the hour the key still protects them, as it is the
  instance that remembers it).
- `update()` edits the status (`PUT /api/v1/statuses/:id`); `withdraw()` deletes it.
- Reach: `GET /api/v1/statuses/:id` gives `reposts` (boosts), `likes` (favourites) and
  `replies`. Mastodon counts no views.
- Errors: `{"error": "…"}`. 5xx and 429 are transient; a 429's wait comes from
  `Retry-After`, else `X-RateLimit-Reset` (a time: Mastodon allows 300 requests per 5
  minutes per account). 401 (token invalid or revoked), 403, 404, 422 (`Validation
  failed: …`) are permanent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import requests
from pydantic import Field, SecretStr, field_validator

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import (
    ChannelError,
    ChannelOptions,
    PermanentError,
    Publication,
    TransientError,
)
from kmcomms.channels.http import HttpChannel, secure_url
from kmcomms.channels.social_text import graphemes, links
from kmcomms.files import write_atomic
from kmcomms.render.drafts import Draft, SocialPost

__all__ = ["Mastodon", "MastodonOptions"]

log = logging.getLogger("kmcomms.channels.mastodon")

DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_CHARACTERS = 23
#: Mastodon keeps an idempotency key for an hour; ten minutes spare for slow answers and clocks.
KEY_LIFETIME = timedelta(minutes=50)
#: How far before a journal entry's time a status may be dated (the instance's clock).
CLOCK_SKEW = timedelta(minutes=5)
#: Pages of 40 statuses searched before a person must decide (a busy account).
SEARCH_PAGES = 10


def _digest(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").strip().encode("utf-8")).hexdigest()


def _reset_wait(value: str | None, now: datetime) -> float | None:
    """Seconds until `X-RateLimit-Reset` (an ISO 8601 time), or None."""
    try:
        when = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return max(0.0, (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() - now.timestamp())


@dataclass(frozen=True)
class _Sent:
    """A journal entry: a post of this text was sent at `since` or later; `id` once known."""

    since: datetime
    digest: str
    id: str | None = None
    url: str | None = None


class MastodonOptions(ChannelOptions):
    url: str
    """The instance: https, or http on the loopback interface."""
    token: SecretStr
    """An access token; write "${VAR}" and set VAR."""
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    max_characters: int | None = Field(default=None, gt=0)
    """The post length limit (default: the instance's)."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return secure_url(value)


class Mastodon(HttpChannel):
    """Posts statuses with the delivery id as `Idempotency-Key` (see the module)."""

    kind = Kind.SOCIAL
    #: Mastodon's default post length, in characters: the renderer shortens a post's summary to fit.
    post_limit = 500
    Settings = MastodonOptions
    idempotent = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.settings, MastodonOptions)
        self.options: MastodonOptions = self.settings
        #: The time journal entries are written with; tests set a fixed one.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._limits_found: tuple[int, int] | None = None
        self._account: str | None = None

    # ------------------------------------------------------------------ requests

    def _api(self, method: str, path: str, what: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if auth:
            headers["Authorization"] = f"Bearer {self.secret('token', self.options.token)}"
        return self.request(method, f"{self.options.url}{path}", what, headers=headers, **kwargs)

    def _json(self, response: requests.Response, what: str) -> Any:
        if not 200 <= response.status_code < 300:
            error = self.refused(response, what)
            if isinstance(error, TransientError) and error.retry_after is None:
                error.retry_after = _reset_wait(response.headers.get("X-RateLimit-Reset"), self.clock())
            raise error
        try:
            return response.json()
        except ValueError:
            raise TransientError(
                f"{what}: {response.url} answered {response.status_code} without JSON", self.name
            ) from None

    def _publication(self, status: Any, what: str) -> Publication:
        if not isinstance(status, dict) or not status.get("id"):
            raise TransientError(f"{what}: the answer is not a status", self.name)
        return Publication(str(status["id"]), status.get("url") or status.get("uri"))

    def _status(self, status_id: str) -> Publication | None:
        """The status, or None when the instance no longer has it."""
        what = f"looking up status {status_id}"
        response = self._api("GET", f"/api/v1/statuses/{status_id}", what)
        return None if response.status_code == 404 else self._publication(self._json(response, what), what)

    # ------------------------------------------------------------------ length

    def _limits(self) -> tuple[int, int]:
        """(most characters in a post, characters an address counts for)."""
        if self._limits_found is None:
            statuses: Any = {}
            if self.options.max_characters is None:
                what = f"reading the limits of {self.options.url}"
                response = self._api("GET", "/api/v2/instance", what, auth=False)
                if response.status_code != 404:  # before Mastodon 4.0 there is no v2: the defaults hold
                    instance = self._json(response, what)
                    config = instance.get("configuration") if isinstance(instance, dict) else None
                    statuses = config.get("statuses") if isinstance(config, dict) else {}
            statuses = statuses if isinstance(statuses, dict) else {}
            self._limits_found = (
                self.options.max_characters or statuses.get("max_characters") or DEFAULT_MAX_CHARACTERS,
                statuses.get("characters_reserved_per_url") or DEFAULT_URL_CHARACTERS,
            )
        return self._limits_found

    def _text(self, draft: Draft) -> str:
        if not isinstance(draft, SocialPost):
            raise PermanentError(f"channel {self.name} posts social drafts, not {draft.kind}", self.name)
        limit, per_url = self._limits()
        text, counted, last = draft.text, [], 0
        for start, end, _ in links(text):
            counted += [text[last:start], "x" * per_url]
            last = end
        length = graphemes("".join(counted) + text[last:])
        if length > limit:
            raise PermanentError(
                f"the post for {draft.delivery} is {length} characters (an address counts as {per_url}); "
                f"{self.options.url} takes at most {limit} — shorten its summary",
                self.name,
            )
        return text

    # ------------------------------------------------------------------ journal

    def _journal(self, key: str) -> Path:
        # Hashed: a file name whatever characters the key holds.
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.root / ".kmcomms" / "journal" / self.name / f"{name}.json"

    def _recall(self, key: str) -> _Sent | None:
        path = self._journal(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return _Sent(datetime.fromisoformat(data["since"]), data["digest"], data.get("id"), data.get("url"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PermanentError(
                f"cannot read {path} ({type(exc).__name__}): check the account for {key}, then remove the file",
                self.name,
            ) from None

    def _remember(self, key: str, sent: _Sent) -> None:
        """Write the entry whole or not at all (a temporary file renamed into place)."""
        path = self._journal(key)
        data = {"key": key, **dataclasses.asdict(sent), "since": sent.since.astimezone(UTC).isoformat()}
        try:
            write_atomic(path, json.dumps(data))
        except OSError as exc:
            raise PermanentError(f"cannot write {path}: {exc.strerror}", self.name) from None

    def _search(self, key: str, sent: _Sent) -> Publication | None:
        """The account's status with `sent`'s text made since `sent.since`, recorded in the
        journal when found. Raises PermanentError when too many statuses were made since
        to look through."""
        if self._account is None:
            what = "reading the token's account"
            account = self._json(self._api("GET", "/api/v1/accounts/verify_credentials", what), what)
            self._account = str(account["id"]) if isinstance(account, dict) and "id" in account else None
            if self._account is None:
                raise TransientError(f"{what}: the answer is not an account", self.name)
        what = f"looking for {key} among the account's statuses"
        params: dict[str, Any] = {"limit": 40, "exclude_reblogs": "true"}
        for _ in range(SEARCH_PAGES):
            page = self._json(self._api("GET", f"/api/v1/accounts/{self._account}/statuses", what, params=params), what)
            if not isinstance(page, list) or not page:
                return None
            for status in page:
                if datetime.fromisoformat(status["created_at"]) < sent.since - CLOCK_SKEW:
                    return None
                source_what = f"reading the text of status {status['id']}"
                source = self._json(
                    self._api("GET", f"/api/v1/statuses/{status['id']}/source", source_what), source_what
                )
                if isinstance(source, dict) and _digest(str(source.get("text", ""))) == sent.digest:
                    found = self._publication(status, what)
                    self._remember(key, dataclasses.replace(sent, id=found.remote_id, url=found.url))
                    log.info("%s was posted before, as status %s", key, found.remote_id)
                    return found
            params["max_id"] = page[-1]["id"]
        raise PermanentError(
            f"{what}: more than {SEARCH_PAGES * 40} statuses since {sent.since:%Y-%m-%d %H:%M} UTC — "
            "check the account by hand, then `kmcomms resolve`",
            self.name,
        )

    # ------------------------------------------------------------------ Channel

    def publish(self, draft: Draft, key: str) -> Publication:
        text = self._text(draft)
        sent, now = self._recall(key), self.clock()
        if sent is not None and sent.id is not None:
            found = self._status(sent.id)
            if found is not None:
                return found
            sent = None  # deleted on the instance since: post it again
        elif sent is not None and now - sent.since > KEY_LIFETIME:
            found = self._search(key, sent)
            if found is not None:
                return found
            sent = None  # never made: the key has expired, so this is a new post
        if sent is None:
            sent = _Sent(now, _digest(text))
            self._remember(key, sent)
        what = f"posting {key}"
        body = {"status": text, "language": self._language(draft), "visibility": self.options.visibility}
        response = self._api("POST", "/api/v1/statuses", what, json=body, headers={"Idempotency-Key": key})
        published = self._publication(self._json(response, what), what)
        self._remember(key, dataclasses.replace(sent, id=published.remote_id, url=published.url))
        log.info("posted %s as status %s", key, published.remote_id)
        return published

    @staticmethod
    def _language(draft: Draft) -> str:
        return draft.language.split("-")[0].lower()

    def find(self, key: str) -> Publication | None:
        """From the journal (see the module): None when this workspace never sent `key`,
        or the status was deleted."""
        sent = self._recall(key)
        if sent is None:
            return None
        return self._status(sent.id) if sent.id is not None else self._search(key, sent)

    def update(self, publication: Publication, draft: Draft) -> Publication:
        what = f"editing status {publication.remote_id}"
        body = {"status": self._text(draft), "language": self._language(draft)}
        response = self._api("PUT", f"/api/v1/statuses/{publication.remote_id}", what, json=body)
        return self._publication(self._json(response, what), what)

    def withdraw(self, publication: Publication) -> None:
        what = f"deleting status {publication.remote_id}"
        response = self._api("DELETE", f"/api/v1/statuses/{publication.remote_id}", what)
        if response.status_code != 404:  # already gone is what was asked
            self._json(response, what)

    def collect(self, publication: Publication) -> dict[str, float]:
        """`reposts`, `likes` and `replies` so far."""
        what = f"reading the reach of status {publication.remote_id}"
        status = self._json(self._api("GET", f"/api/v1/statuses/{publication.remote_id}", what), what)
        names = {"reblogs_count": "reposts", "favourites_count": "likes", "replies_count": "replies"}
        return {
            name: float(status[field])
            for field, name in names.items()
            if isinstance(status, dict) and isinstance(status.get(field), int)
        }

    def check(self) -> list[str]:
        """The token is tried (`verify_credentials`) and the instance's limits read."""
        try:
            what = "checking the token"
            self._json(self._api("GET", "/api/v1/accounts/verify_credentials", what), what)
            self._limits()
        except ChannelError as exc:
            return [self.problem(exc)]
        return []
