"""The tracking server: answers the signed addresses of `kmcomms.render.tracking`.

    GET|HEAD /r/<token>      302 to the link registered for that delivery (`tracked_links`),
                             counted as "clicks" (or "clicks-automated")
    GET|HEAD /o/<token>.gif  a 1x1 transparent GIF, counted as "opens" (or "opens-automated")
    GET|HEAD /u/<token>      a page naming the list, with a button that POSTs back
    POST     /u/<token>      RFC 8058 one-click unsubscribe: the POST itself is the act
    GET|HEAD /healthz        200 "ok"

Anything else, and any token that is tampered with, unknown or not registered, gets the
same short 404 page: never a redirect, never a detail (no open redirect, no enumeration).
Nothing in the query string is ever read. Paths may carry the path of `[tracking]
base_url` in front (a reverse proxy that does not strip it).

Privacy: counts only. A request adds one `reach_samples` row (delivery, campaign,
metric, 1, time, source "tracking"); no IP address, user agent, cookie or header is
stored, and the log line of a request names the route, method, status, metric and
delivery, never the path (an unsubscribe token holds the address) nor the client.

What each route counts, what counts as a person, and how an unsubscribe is recorded:
`kmcomms.reach.tracking_answers`.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import Engine

from kmcomms.errors import KmcommsError
from kmcomms.logs import event
from kmcomms.reach.tracking_answers import NOT_FOUND, Answers, Reply, page
from kmcomms.render.tracking import Tracker

if TYPE_CHECKING:  # the runtime imports every channel: not needed to serve
    from kmcomms.campaign.workspace import Tracking
    from kmcomms.publish.runtime import Runtime

__all__ = ["ListenError", "TrackingServer", "listen_address", "run_forever", "serve", "start_for"]

log = logging.getLogger("kmcomms.tracking")

Clock = Callable[[], datetime]

#: A one-click POST carries "List-Unsubscribe=One-Click": a body is read up to this much, and a longer one ends the connection.
MAX_BODY = 64 * 1024

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A cached redirect or pixel would not be counted again; the pages name an address.
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


class ListenError(KmcommsError):
    """The tracking server cannot listen where it was asked (port in use, no such address)."""


def _route(path: str, prefix: str) -> tuple[str, str]:
    """(route, token) of a request path: route is health, click, open, unsubscribe or unknown."""
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    if path == "/healthz":
        return "health", ""
    kind, _, token = path.removeprefix("/").partition("/")
    routes = {"r": "click", "o": "open", "u": "unsubscribe"}
    if not path.startswith("/") or kind not in routes or not token or "/" in token:
        return "unknown", ""
    return routes[kind], token


class _Handler(BaseHTTPRequestHandler):
    server: TrackingServer
    timeout = 30  # seconds a client may take to send its request

    def _handle(self) -> None:
        route, token = _route(urlsplit(self.path).path, self.server.prefix)
        if self.command == "POST":
            self._drain()
        try:
            reply = self.server.answers.answer(route, token, self.command, self.headers)
        except Exception as exc:  # noqa: BLE001 - a store problem: the reader gets a page, the log a line
            # Only the type and first line: a statement's parameters would name the address.
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            event(
                log,
                "tracking-error",
                f"{self.command} {route}: {type(exc).__name__}: {first[0] if first else ''}",
                level=logging.ERROR,
                method=self.command,
                route=route,
            )
            reply = page(
                503, "Please try again", "<p>This page cannot be shown just now. Please try again in a few minutes.</p>"
            )
        # Logged before it is sent, so the line is there by the time the client has the answer.
        event(
            log,
            "tracking-request",
            f"{self.command} {route} {reply.status}",
            method=self.command,
            route=route,
            status=reply.status,
            metric=reply.metric,
            delivery=reply.delivery,
        )
        self._send(reply)

    do_GET = do_HEAD = do_POST = _handle

    def _drain(self) -> None:
        """Read the request body (nothing in it matters); a long one ends the connection."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        self.rfile.read(min(max(length, 0), MAX_BODY))
        if length > MAX_BODY:
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in {**_HEADERS, **reply.headers}.items():
            self.send_header(name, value)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed requests and unknown methods: a short page with our headers, no details.
        self.close_connection = True
        event(
            log,
            "tracking-request",
            f"{self.command} malformed {code}",
            method=self.command,
            route="malformed",
            status=code,
        )
        self._send(NOT_FOUND if code == 404 else page(code, "Cannot answer", "<p>This request cannot be answered.</p>"))

    def version_string(self) -> str:
        return "kmcomms"  # not the Python version

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: the standard access log names the client's IP address."""


class TrackingServer(ThreadingHTTPServer):
    """The running server: `url` is where it listens; `shutdown()` stops it and frees the port."""

    daemon_threads = True
    # Bound to an AF_INET or AF_INET6 address, the socket names its host as a str
    # (typeshed's type also allows the bytes a caller may give to bind).
    server_address: tuple[str, int] | tuple[str, int, int, int]

    def __init__(self, address: tuple[str, int], engine: Engine, tracker: Tracker, clock: Clock, sender: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.prefix = urlsplit(tracker.base_url).path.rstrip("/")
        self.answers = Answers(engine, tracker, clock, sender)
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()
        event(log, "tracking-stopped", f"tracking server on {self.url} stopped")


def listen_address(tracking: Tracking) -> tuple[str, int]:
    """Where the tracking server listens: `[tracking] listen` ("host:port") when set, else
    the host and port of `base_url` (the scheme's port when it names none)."""
    if tracking.listen:
        host, _, port = tracking.listen.rpartition(":")
        return host, int(port)
    parts = urlsplit(str(tracking.base_url))
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def serve(
    engine: Engine, tracker: Tracker, host: str, port: int, clock: Clock, *, sender: str = "us"
) -> TrackingServer:
    """Start answering tracking requests on `host`:`port` (0: any free port) in a thread;
    returns the running server. `sender` names who mails, on the unsubscribe page.
    Raises `ListenError` when it cannot listen there."""
    try:
        server = TrackingServer((host, port), engine, tracker, clock, sender)
    except OSError as exc:
        fix = (
            "another process uses it (`kmcomms track` and `kmcomms daemon` both serve tracking): stop it, or listen "
            "elsewhere with `kmcomms track --host H --port P`"
            if exc.errno == errno.EADDRINUSE
            else "listen on an address of this host, e.g. `kmcomms track --host 127.0.0.1 --port 8080` behind a reverse proxy"
        )
        raise ListenError(f"the tracking server cannot listen on {host}:{port}: {exc.strerror or exc} — {fix}") from exc
    threading.Thread(target=server.serve_forever, name="kmcomms-tracking", daemon=True).start()
    event(
        log,
        "tracking-started",
        f"tracking server listening on {server.url} for {tracker.base_url}",
        listen=server.url,
        base_url=tracker.base_url,
    )
    return server


def start_for(runtime: Runtime, clock: Clock) -> TrackingServer | None:
    """For the daemon: the tracking server of the workspace, listening where
    `listen_address` says; None when tracking is off, or when it cannot listen (logged
    as `tracking-failed`: another process, such as `kmcomms track`, may be serving it)."""
    if runtime.tracker is None:
        return None
    assert runtime.workspace.settings.tracking is not None  # there is a tracker
    host, port = listen_address(runtime.workspace.settings.tracking)
    try:
        return serve(runtime.engine, runtime.tracker, host, port, clock, sender=runtime.workspace.settings.unit.name)
    except ListenError as exc:
        event(log, "tracking-failed", str(exc), level=logging.ERROR, host=host, port=port)
        return None


def run_forever(server: TrackingServer) -> None:
    """Keep `server` running until SIGINT or SIGTERM, then shut it down (main thread only)."""
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop.wait()
    finally:
        server.shutdown()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
