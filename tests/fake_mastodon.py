"""A Mastodon instance on loopback that speaks the documented API contract (see
../shared/reference/channel-apis.md §7a and docs.joinmastodon.org): the endpoints the
`mastodon` adapter uses, holding statuses in memory.

It checks what a real instance would refuse (token, required fields, length, visibility)
and answers with Mastodon's own bodies; what a real instance would accept silently but
the adapter must still get right (the `Idempotency-Key` header, an ISO 639-1 `language`,
JSON bodies) goes into `problems`, which the fixtures assert empty. `fail_next` makes the
next answer an error with the documented body; `forget_keys` is the hour after which
Mastodon forgets idempotency keys.

The server, routes, injected failures and request log are `kmcomms.testing.fake_api.FakeApi`'s.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from kmcomms.testing.fake_api import FakeApi, Refusal, Seen

__all__ = ["ERROR_BODIES", "FakeMastodon"]

URL = re.compile(r"https?://\S+")

#: What Mastodon answers with each error status (Rails' API error handler, nginx for 502/503).
ERROR_BODIES: dict[int, tuple[str, str]] = {
    400: ("application/json", json.dumps({"error": "param is missing or the value is empty: status"})),
    401: ("application/json", json.dumps({"error": "The access token is invalid"})),
    403: ("application/json", json.dumps({"error": "This action is not allowed"})),
    404: ("application/json", json.dumps({"error": "Record not found"})),
    422: ("application/json", json.dumps({"error": "Validation failed: Text character limit of 500 exceeded"})),
    429: ("application/json", json.dumps({"error": "Too many requests"})),
    500: ("application/json", json.dumps({"error": "We're sorry, but something went wrong on our end."})),
    502: ("text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    503: ("text/html", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"),
}


@dataclass
class FakeMastodon(FakeApi):
    token: str
    max_characters: int = 500
    instance_v2: bool = True
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    clock: datetime = field(default_factory=lambda: datetime.now(UTC))
    account_id: str = "109"

    def __post_init__(self) -> None:
        super().__init__()
        self._next_id = 110000000000000000
        self.route("GET", "/api/v2/instance", self._instance)
        self.route("GET", "/api/v1/accounts/verify_credentials", self._account)
        self.route("POST", "/api/v1/statuses", self._create)
        self.route("GET", rf"/api/v1/accounts/{self.account_id}/statuses", self._list)
        self.route(
            "GET", r"/api/v1/statuses/(\d+)", lambda request, body, status_id: self.answer(self._status(status_id))
        )
        self.route("GET", r"/api/v1/statuses/(\d+)/source", self._source)
        self.route("PUT", r"/api/v1/statuses/(\d+)", self._edit)
        self.route("DELETE", r"/api/v1/statuses/(\d+)", self._delete)

    # ------------------------------------------------------------------ test handles

    def forget_keys(self) -> None:
        """An hour has passed: the instance no longer knows any idempotency key."""
        self.keys.clear()

    def items(self) -> int:
        return len(self.statuses)

    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path == "/api/v1/statuses"]

    # ------------------------------------------------------------------ the API

    def authorise(self, request: Request) -> None:
        public = request.method == "GET" and request.path == "/api/v2/instance"
        if not public and request.headers.get("Authorization") != f"Bearer {self.token}":
            raise Refusal(401)

    def error(
        self, status: int, message: str | None, errors: list[dict[str, str]], headers: dict[str, str]
    ) -> Response:
        content_type, body = (
            ERROR_BODIES[status] if message is None else ("application/json", json.dumps({"error": message}))
        )
        headers = dict(headers)
        if status == 429:  # Mastodon's throttle: the rate-limit headers, a reset time and no Retry-After
            headers.setdefault("X-RateLimit-Limit", "300")
            headers.setdefault("X-RateLimit-Remaining", "0")
        return Response(body, status, headers=headers, content_type=content_type)

    def _instance(self, request: Request, body: Any) -> Response:
        if not self.instance_v2:
            raise Refusal(404)
        return self.answer(
            {
                "domain": "127.0.0.1",
                "title": "Fake",
                "version": "4.3.0",
                "configuration": {
                    "statuses": {
                        "max_characters": self.max_characters,
                        "max_media_attachments": 4,
                        "characters_reserved_per_url": 23,
                    }
                },
            }
        )

    def _account(self, request: Request, body: Any) -> Response:
        return self.answer(
            {
                "id": self.account_id,
                "username": "unit",
                "acct": "unit",
                "url": f"{self.url}/@unit",
                "source": {"privacy": "public", "language": "en"},
            }
        )

    def _status(self, status_id: str) -> dict[str, Any]:
        if status_id not in self.statuses:
            raise Refusal(404)
        return self.statuses[status_id]

    def _source(self, request: Request, body: Any, status_id: str) -> Response:
        status = self._status(status_id)
        return self.answer({"id": status["id"], "text": self.sources[status["id"]], "spoiler_text": ""})

    def _edit(self, request: Request, body: Any, status_id: str) -> Response:
        status = self._status(status_id)
        if problem := self._invalid(body or {}):
            raise Refusal(422, problem)
        self.sources[status["id"]] = body["status"]
        status.update(content=f"<p>{body['status']}</p>", edited_at=self.clock.isoformat())
        return self.answer(status)

    def _delete(self, request: Request, body: Any, status_id: str) -> Response:
        status = self._status(status_id)
        del self.statuses[status["id"]]
        return self.answer({**status, "text": self.sources.pop(status["id"])})

    def _invalid(self, body: dict[str, Any]) -> str | None:
        """What Mastodon's validation says of a status, or None."""
        text = body.get("status")
        if not isinstance(text, str) or not text.strip():
            return "Validation failed: Text can't be blank"
        # Every text the tests post has one code point per grapheme; addresses count 23.
        if len(URL.sub("x" * 23, text)) > self.max_characters:
            return f"Validation failed: Text character limit of {self.max_characters} exceeded"
        language = body.get("language")
        if not (isinstance(language, str) and re.fullmatch(r"[a-z]{2}", language)):
            self.problems.append(f"language {language!r} is not an ISO 639-1 code")
        return None

    def _create(self, request: Request, body: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            self.problems.append("POST /api/v1/statuses without an Idempotency-Key header")
        elif key in self.keys and self.keys[key] in self.statuses:
            return self.answer(self.statuses[self.keys[key]])
        if problem := self._invalid(body or {}):
            raise Refusal(422, problem)
        visibility = body.get("visibility", "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            raise Refusal(422, "Validation failed: Visibility is not included in the list")
        self._next_id += 1
        status_id = str(self._next_id)
        self.statuses[status_id] = {
            "id": status_id,
            "created_at": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "uri": f"{self.url}/users/unit/statuses/{status_id}",
            "url": f"{self.url}/@unit/{status_id}",
            "content": f"<p>{body['status']}</p>",
            "language": body.get("language"),
            "visibility": visibility,
            "reblogs_count": 0,
            "favourites_count": 0,
            "replies_count": 0,
            "edited_at": None,
            "account": {"id": self.account_id, "username": "unit", "acct": "unit"},
        }
        self.sources[status_id] = body["status"]
        if key:
            self.keys[key] = status_id
        return self.answer(self.statuses[status_id])

    def _list(self, request: Request, body: Any) -> Response:
        newest_first = sorted(self.statuses.values(), key=lambda s: int(s["id"]), reverse=True)
        if "max_id" in request.args:
            newest_first = [s for s in newest_first if int(s["id"]) < int(request.args["max_id"])]
        limit = min(int(request.args.get("limit", 20)), 40)
        return self.answer(newest_first[:limit])
