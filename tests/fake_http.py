"""What the fake platforms on loopback share: a real HTTP server (pytest-httpserver), the
routes, the injected failure (`fail_next`), the request log, and `Refusal`, which answers
with the platform's own error body. A refusal caused by a malformed request is also written
to `violations`, which the tests expect empty."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

__all__ = ["FakeApi", "Refusal", "Seen"]


class Refusal(Exception):
    """Answer the request with `status` and the platform's error body for `message`.
    `malformed` marks a request that breaks the documented contract (a violation)."""

    def __init__(self, status: int, message: str, *, malformed: bool = False, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.malformed, self.errors = status, message, malformed, errors or []


@dataclass
class Seen:
    """One request as the server got it."""

    method: str
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class FakeApi:
    """A platform API on 127.0.0.1: each request is logged, then answered by the next
    injected failure, or refused when not authenticated, or routed to a method."""

    #: (status, message) when the credentials are missing or wrong.
    unauthorised: tuple[int, str]

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = []
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self.failures: list[tuple[re.Pattern[str] | None, int, dict[str, str], str | None]] = []
        self.lock = threading.Lock()
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def reset(self) -> None:
        """Forget every request, violation and injected failure (a new test)."""
        self.requests.clear()
        self.violations.clear()
        self.failures.clear()

    def route(self, method: str, pattern: str, handler: Callable[..., Any]) -> None:
        """`handler(request, body, *groups)` answers `method` on paths matching `pattern`."""
        self.routes.append((method, re.compile(pattern + "$"), handler))

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.server.check_handler_errors()  # a bug in the fake fails the test, never hides

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def fail_next(self, status: int, headers: dict[str, str]) -> None:
        """Answer the next request with `status`, `headers` and the platform's error body."""
        self.failures.append((None, status, headers, None))

    def fail_on(self, request: str, status: int, headers: dict[str, str] | None = None, message: str | None = None) -> None:
        """Answer the next request matching `request` ("METHOD path" regex) with `status`
        (and `message` in the platform's error body) instead of doing it."""
        self.failures.append((re.compile(request + "$"), status, headers or {}, message))

    # ------------------------------------------------------------------ for the platform

    def authorised(self, request: Request) -> bool:
        raise NotImplementedError

    def error(self, status: int, message: str, errors: list[dict[str, str]], headers: dict[str, str]) -> Response:
        raise NotImplementedError

    def message_for(self, status: int) -> str:
        """What the platform says with an injected `status`."""
        raise NotImplementedError

    @staticmethod
    def answer(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    # ------------------------------------------------------------------ dispatch

    def _handle(self, request: Request) -> Response:
        with self.lock:
            body: Any = None
            if request.get_data():
                try:
                    body = json.loads(request.get_data())
                except ValueError:
                    body = request.get_data()
            self.requests.append(Seen(request.method, request.path, request.args.to_dict(flat=False),
                                      dict(request.headers), body))
            for failure in self.failures:
                pattern, status, headers, message = failure
                if pattern is None or pattern.match(f"{request.method} {request.path}"):
                    self.failures.remove(failure)
                    return self.error(status, message or self.message_for(status), [], headers)
            if not self.authorised(request):
                return self.error(*self.unauthorised, [], {})
            try:
                return self._dispatch(request, body)
            except Refusal as refusal:
                if refusal.malformed:
                    self.violations.append(f"{request.method} {request.path}: {refusal.message}")
                return self.error(refusal.status, refusal.message, refusal.errors, {})

    def _dispatch(self, request: Request, body: Any) -> Response:
        methods = []
        for method, pattern, handler in self.routes:
            matched = pattern.match(request.path)
            if matched:
                methods.append(method)
                if method == request.method:
                    if method in ("POST", "PUT", "PATCH") and body is not None and request.mimetype != "application/json":
                        raise Refusal(400, f"expected application/json, got {request.mimetype}", malformed=True)
                    return handler(request, body, *matched.groups())
        if methods:
            raise Refusal(405, f"{request.method} is not allowed on {request.path}", malformed=True)
        raise Refusal(404, f"no route {request.path}", malformed=True)
