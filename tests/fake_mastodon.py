"""A Mastodon instance on loopback that speaks the documented API contract (see
../shared/reference/channel-apis.md §7a and docs.joinmastodon.org): the endpoints the
`mastodon` adapter uses, holding statuses in memory.

It checks what a real instance would refuse (token, required fields, length, visibility)
and answers with Mastodon's own bodies; what a real instance would accept silently but
the adapter must still get right (the `Idempotency-Key` header, an ISO 639-1 `language`,
JSON bodies) goes into `problems`, which the fixtures assert empty. `fail_next` makes the
next answer an error with the documented body; `forget_keys` is the hour after which
Mastodon forgets idempotency keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

__all__ = ["ERROR_BODIES", "FakeMastodon", "LoopbackServer"]

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


class LoopbackServer(HTTPServer):
    """pytest-httpserver's server on 127.0.0.1, polling for shutdown every 20 ms instead of
    500, so that stopping one per test costs nothing."""

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0)

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeMastodon:
    token: str
    max_characters: int = 500
    instance_v2: bool = True
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str], str | None]] = field(default_factory=list)
    clock: datetime = field(default_factory=lambda: datetime.now(UTC))
    account_id: str = "109"

    def __post_init__(self) -> None:
        self.server = LoopbackServer()
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        self._next_id = 110000000000000000

    def __enter__(self) -> Self:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    # ------------------------------------------------------------------ test handles

    def fail_next(self, status: int, headers: dict[str, str], path: str | None = None) -> None:
        """The next request (to `path`, when given) is answered `status` with these headers."""
        self.failures.append((status, headers, path))

    def forget_keys(self) -> None:
        """An hour has passed: the instance no longer knows any idempotency key."""
        self.keys.clear()

    def items(self) -> int:
        return len(self.statuses)

    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path == "/api/v1/statuses"]

    # ------------------------------------------------------------------ the API

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body), status, headers=headers, content_type="application/json")

    def _error(self, status: int, headers: dict[str, str] | None = None, message: str | None = None) -> Response:
        content_type, body = ERROR_BODIES[status]
        if message is not None:
            body = json.dumps({"error": message})
        headers = dict(headers or {})
        if status == 429:  # Mastodon's throttle: the rate-limit headers, a reset time and no Retry-After
            headers.setdefault("X-RateLimit-Limit", "300")
            headers.setdefault("X-RateLimit-Remaining", "0")
        return Response(body, status, headers=headers, content_type=content_type)

    def _handle(self, request: Request) -> Response:
        body: Any = None
        if request.data:
            if request.mimetype != "application/json":
                self.problems.append(f"{request.method} {request.path}: body sent as {request.mimetype}, not JSON")
            body = json.loads(request.data)
        self.seen.append(Seen(request.method, request.path, dict(request.headers), body))
        for index, (status, headers, path) in enumerate(self.failures):
            if path is None or path == request.path:
                del self.failures[index]
                return self._error(status, headers)
        public = request.method == "GET" and request.path == "/api/v2/instance"
        if not public and request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(401)
        return self._route(request, body or {})

    def _route(self, request: Request, body: dict[str, Any]) -> Response:
        method, path = request.method, request.path
        if (method, path) == ("GET", "/api/v2/instance"):
            if not self.instance_v2:
                return self._error(404)
            return self._answer(200, {"domain": "127.0.0.1", "title": "Fake", "version": "4.3.0", "configuration": {
                "statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                             "characters_reserved_per_url": 23}}})
        if (method, path) == ("GET", "/api/v1/accounts/verify_credentials"):
            return self._answer(200, {"id": self.account_id, "username": "unit", "acct": "unit",
                                      "url": f"{self.url}/@unit", "source": {"privacy": "public", "language": "en"}})
        if (method, path) == ("POST", "/api/v1/statuses"):
            return self._create(request, body)
        if method == "GET" and path == f"/api/v1/accounts/{self.account_id}/statuses":
            return self._list(request)
        match = re.fullmatch(r"/api/v1/statuses/(\d+)(/source)?", path)
        if match is None or match[1] not in self.statuses:
            return self._error(404)
        status = self.statuses[match[1]]
        if match[2]:
            return self._answer(200, {"id": status["id"], "text": self.sources[status["id"]], "spoiler_text": ""})
        if method == "GET":
            return self._answer(200, status)
        if method == "PUT":
            problem = self._invalid(body)
            if problem:
                return self._error(422, message=problem)
            self.sources[status["id"]] = body["status"]
            status.update(content=f"<p>{body['status']}</p>", edited_at=self.clock.isoformat())
            return self._answer(200, status)
        if method == "DELETE":
            del self.statuses[status["id"]]
            return self._answer(200, {**status, "text": self.sources.pop(status["id"])})
        return self._error(404)

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

    def _create(self, request: Request, body: dict[str, Any]) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            self.problems.append("POST /api/v1/statuses without an Idempotency-Key header")
        elif key in self.keys and self.keys[key] in self.statuses:
            return self._answer(200, self.statuses[self.keys[key]])
        problem = self._invalid(body)
        if problem:
            return self._error(422, message=problem)
        visibility = body.get("visibility", "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            return self._error(422, message="Validation failed: Visibility is not included in the list")
        self._next_id += 1
        status_id = str(self._next_id)
        self.statuses[status_id] = {
            "id": status_id, "created_at": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "uri": f"{self.url}/users/unit/statuses/{status_id}", "url": f"{self.url}/@unit/{status_id}",
            "content": f"<p>{body['status']}</p>", "language": body.get("language"), "visibility": visibility,
            "reblogs_count": 0, "favourites_count": 0, "replies_count": 0, "edited_at": None,
            "account": {"id": self.account_id, "username": "unit", "acct": "unit"}}
        self.sources[status_id] = body["status"]
        if key:
            self.keys[key] = status_id
        return self._answer(200, self.statuses[status_id])

    def _list(self, request: Request) -> Response:
        newest_first = sorted(self.statuses.values(), key=lambda s: int(s["id"]), reverse=True)
        if "max_id" in request.args:
            newest_first = [s for s in newest_first if int(s["id"]) < int(request.args["max_id"])]
        limit = min(int(request.args.get("limit", 20)), 40)
        return self._answer(200, newest_first[:limit])
