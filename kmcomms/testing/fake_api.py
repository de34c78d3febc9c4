"""The base of a fake platform on loopback: a real HTTP server (pytest-httpserver's, on
127.0.0.1, stopping at once) that speaks the platform's documented API, so that an
adapter is tested through its real HTTP client, with nothing mocked.

`FakeApi` gives the routes, the injected failures (`fail_next`, `fail_on`, `intercept`),
the request log (`seen`), and `Refusal`, which answers with the platform's own error
body. What the adapter got wrong goes into `problems`, which the tests expect empty
(`serve`): every refusal caused by a malformed request, and whatever a platform would
accept silently but the adapter must still get right (a missing idempotency key, say).

A platform's fake subclasses `FakeApi` and keeps only what is its own: its routes and
state (`route`, in `__init__`), its error bodies (`error`, which it must define) and who
it lets in (`authorise`). Handlers take a werkzeug `Request` and return a werkzeug
`Response` (`answer` makes a JSON one).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

__all__ = ["FakeApi", "LoopbackServer", "Refusal", "Seen", "serve"]


class LoopbackServer(HTTPServer):
    """pytest-httpserver's server on 127.0.0.1, polling for shutdown every 20 ms instead of
    500, so that stopping one per test costs nothing."""

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


class Refusal(Exception):
    """Answer the request with `status` and the platform's error body: for `message`, or
    the platform's usual one for `status` when there is none, with the `errors` some
    platforms list. `malformed` marks a request that breaks the documented contract (a
    problem)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        malformed: bool = False,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.malformed, self.errors = status, message, malformed, errors or []


@dataclass
class Seen:
    """One request as the server got it; `body` is the JSON it carried, or else its text
    (None when it had none)."""

    method: str
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    @property
    def params(self) -> dict[str, str]:
        """The query, each parameter's values joined by commas."""
        return {name: ",".join(values) for name, values in self.args.items()}


class FakeApi:
    """A platform API on 127.0.0.1 (`start()` and `stop()`, or `with`): each request is
    logged, then answered by the first injected failure that matches it, or refused by
    `authorise`, or answered by `respond` (by default, the route's method). A subclass
    calls `super().__init__()` (from `__post_init__` if it is a dataclass), then `route`s."""

    #: The content type of `answer`.
    json_type = "application/json"

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = []
        self.seen: list[Seen] = []
        self.problems: list[str] = []
        self.failures: list[tuple[re.Pattern[str] | None, Callable[[], Response]]] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer()
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def route(self, method: str, pattern: str, handler: Callable[..., Response]) -> None:
        """`handler(request, body, *groups)` answers `method` on paths matching `pattern`."""
        self.routes.append((method, re.compile(pattern + "$"), handler))

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 (`url`)."""
        self.server.start()

    def stop(self) -> None:
        """Stop listening; raises what a handler raised, if one did."""
        self.server.stop()
        self.server.check_handler_errors()  # a bug in the fake fails the test, never hides

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The address to configure the adapter with: "http://127.0.0.1:PORT", no slash."""
        return self.server.url

    def requested(self, prefix: str = "") -> list[str]:
        """Each request so far as "METHOD path", `prefix` taken off the path."""
        return [f"{seen.method} {seen.path.removeprefix(prefix)}" for seen in self.seen]

    def fail_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with `status`, `headers` and the platform's error body."""
        self.fail_on(None, status, headers)

    def fail_on(
        self, request: str | None, status: int, headers: dict[str, str] | None = None, message: str | None = None
    ) -> None:
        """Answer the next request matching `request` ("METHOD path", a regex; None: any)
        with `status`, `headers` and the platform's error body (saying `message`, when
        given) instead of doing it."""
        self.intercept(request, lambda: self.error(status, message, [], headers or {}))

    def intercept(self, request: str | None, answer: Callable[[], Response]) -> None:
        """Answer the next request matching `request` (as `fail_on` matches) with `answer()`
        instead of doing it."""
        self.failures.append((None if request is None else re.compile(request + "$"), answer))

    # ------------------------------------------------------------------ for the platform

    def authorise(self, request: Request) -> None:
        """Raise a `Refusal` when `request` lacks the credentials it needs (by default, none)."""

    def error(
        self, status: int, message: str | None, errors: list[dict[str, str]], headers: dict[str, str]
    ) -> Response:
        """The platform's error answer: `status` with `headers`, saying `message` (None: what
        the platform usually says with `status`), and the `errors` of a `Refusal`."""
        raise NotImplementedError

    def answer(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """`data` as JSON (of type `json_type`), with `status` and `headers`."""
        return Response(json.dumps(data), status=status, headers=headers, content_type=self.json_type)

    def respond(self, request: Request, body: Any) -> Response:
        """The answer to an authorised request: that of the route's method."""
        methods = []
        for method, pattern, handler in self.routes:
            matched = pattern.match(request.path)
            if matched:
                methods.append(method)
                if method == request.method:
                    if (
                        method in ("POST", "PUT", "PATCH")
                        and body is not None
                        and request.mimetype != "application/json"
                    ):
                        raise Refusal(400, f"expected application/json, got {request.mimetype}", malformed=True)
                    return handler(request, body, *matched.groups())
        if methods:
            raise Refusal(405, f"{request.method} is not allowed on {request.path}", malformed=True)
        raise Refusal(404, f"no route {request.path}", malformed=True)

    # ------------------------------------------------------------------ dispatch

    def _handle(self, request: Request) -> Response:
        with self.lock:
            body: Any = None
            if request.get_data():
                try:
                    body = json.loads(request.get_data())
                except ValueError:
                    body = request.get_data(as_text=True)
            self.seen.append(
                Seen(request.method, request.path, request.args.to_dict(flat=False), dict(request.headers), body)
            )
            for failure in self.failures:
                pattern, answer = failure
                if pattern is None or pattern.match(f"{request.method} {request.path}"):
                    self.failures.remove(failure)
                    return answer()
            try:
                self.authorise(request)
                return self.respond(request, body)
            except Refusal as refusal:
                if refusal.malformed:
                    self.problems.append(f"{request.method} {request.path}: {refusal.message}")
                return self.error(refusal.status, refusal.message, refusal.errors, {})


Fake = TypeVar("Fake", bound=FakeApi)


def serve(fake: Fake) -> Iterator[Fake]:
    """A fixture's body (`yield from serve(…)`): `fake` running for one test, then stopped;
    the test fails if the adapter broke the platform's contract (see `problems`)."""
    with fake:
        yield fake
    assert fake.problems == []
