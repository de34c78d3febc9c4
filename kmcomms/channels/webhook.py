"""`webhook`: each draft POSTed as JSON to a URL you run (or a service that speaks the
same contract): a bridge from kmcomms to any system kmcomms has no adapter for.

Settings (`[channels.<name>]`, `adapter = "webhook"`):

- `url` (required): where drafts are POSTed. `https://…`, or `http://…` on the loopback
  interface only (localhost, 127.0.0.0/8, ::1), so drafts and the token never cross a
  network in clear text. No user:password, query or fragment in it: the token goes in
  `token`, and `find()` asks `GET {url}/{delivery id}`.
- `kind` (required): what the deliveries render to (blog, newsletter, video, briefing,
  social); a webhook can take anything, so it has no kind of its own.
- `token` (optional): sent as `Authorization: Bearer <token>`. A secret: write
  `token = "${WEBHOOK_TOKEN}"` and set the variable. It is held as a `SecretStr`, read
  from the environment only when a request is made, and never logged or put in an error.
- `timeout` (optional, seconds, default 10): for connecting and for each read.

The contract, for whoever writes the receiving end:

    POST {url}
    Content-Type: application/json
    Idempotency-Key: <delivery id>
    Authorization: Bearer <token>                      (when a token is set)

    {"delivery": "<delivery id>", "kind": "blog", "draft": {…every field of the draft…}}

- 2xx: published. A JSON body may give `id` (the remote id; default: the delivery id)
  and `url` (the public address).
- 429 and 5xx: try again later, after `Retry-After` (seconds or an HTTP date) when sent.
  408 (request timeout), 409 (a request with this key is still in progress, as Stripe
  answers) and 425 (too early) are treated the same way: retrying is their remedy.
- Any other 4xx: refused; the delivery fails with the body's error message
  (`{"error": "…"}`, `{"error": {"message": "…"}}`, `{"message": "…"}`,
  `{"errors": [{"message": "…"}]}`, `{"detail": "…"}`, or the text), shortened.
- 3xx: refused (redirects are not followed: a redirected POST would be replayed as a GET).
- `GET {url}/{delivery id}`: 200 (with the same JSON as the POST answered) when that key
  was published, 404 (or 410) when it was not. `find()` uses it to settle deliveries
  whose outcome is unknown.

Exactly once: the adapter declares itself `idempotent`, because the delivery id goes
with every POST as the `Idempotency-Key` and stays the same on every retry. That is only
true if **the receiving end honours the key**, as Stripe-style APIs do: it stores the
first result for a key and replays it for any later request with the same key (for at
least as long as kmcomms may retry: the channel's grace period), and it does not start a
second publication while one with the same key is in flight (it waits, or answers 409).
A timeout or a dropped connection after the request was sent leaves the outcome unknown
to kmcomms; the retry with the same key is what makes that safe. A receiver that ignores
the key can publish twice: do not point this adapter at one.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import requests
from pydantic import Field, SecretStr, field_validator

from kmcomms.campaign.adapters import Kind
from kmcomms.campaign.workspace import expand
from kmcomms.channels.base import ChannelOptions, Publication, TransientError
from kmcomms.channels.http import HttpChannel, retry_after, secure_url
from kmcomms.errors import SettingError
from kmcomms.render.drafts import Draft

__all__ = ["Webhook", "WebhookOptions"]

log = logging.getLogger("kmcomms.channels.webhook")


class WebhookOptions(ChannelOptions):
    url: str
    """Where drafts are POSTed: https, or http on the loopback interface."""
    kind: Kind  # required here: a webhook has no kind of its own
    token: SecretStr | None = None
    """Sent as `Authorization: Bearer`; write "${VAR}" and set VAR."""
    timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds to connect, and for each read."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return secure_url(value, bare="find() asks {url}/{delivery id}")


class Webhook(HttpChannel):
    """POSTs drafts as JSON with the delivery id as `Idempotency-Key` (see the module)."""

    Settings = WebhookOptions
    idempotent = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.settings, WebhookOptions)
        self.options: WebhookOptions = self.settings
        self.kind = self.options.kind  # type: ignore[misc]  # each instance says what it takes
        self.timeout = self.options.timeout  # type: ignore[misc]  # the setting, not the class default

    # ------------------------------------------------------------------ requests

    def _headers(self, key: str | None = None) -> dict[str, str]:
        headers = {} if key is None else {"Idempotency-Key": key}
        if self.options.token is not None:
            headers["Authorization"] = f"Bearer {self.secret('token', self.options.token)}"
        return headers

    @staticmethod
    def _publication(response: requests.Response, key: str) -> Publication:
        try:
            data: Any = response.json() if response.content else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        remote_id = data.get("id")
        url = data.get("url")
        return Publication(
            str(remote_id) if remote_id not in (None, "") else key, url if isinstance(url, str) else None
        )

    # ------------------------------------------------------------------ Channel

    def publish(self, draft: Draft, key: str) -> Publication:
        payload = {"delivery": key, "kind": str(draft.kind), "draft": dataclasses.asdict(draft)}
        response = self.request("POST", self.options.url, f"publishing {key}", json=payload, headers=self._headers(key))
        log.debug("POST %s for %s: %s", self.options.url, key, response.status_code)
        if 200 <= response.status_code < 300:
            return self._publication(response, key)
        raise self.refused(response, f"publishing {key}")

    def find(self, key: str) -> Publication | None:
        url = f"{self.options.url}/{key}"
        response = self.request("GET", url, f"looking up {key}", headers=self._headers())
        if response.status_code == 200:
            return self._publication(response, key)
        if response.status_code in (404, 410):
            return None
        raise TransientError(
            f"GET {url} answered {response.status_code}: cannot tell whether {key} was published",
            self.name,
            retry_after=retry_after(response.headers.get("Retry-After")),
        )

    def check(self) -> list[str]:
        token = self.options.token
        if token is None:
            return []
        try:
            expand(token.get_secret_value())
        except SettingError as exc:
            return [f"[channels.{self.name}] token: {exc}"]
        return []
