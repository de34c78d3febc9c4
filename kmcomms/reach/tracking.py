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

What counts as a person:
- HEAD requests, requests without a User-Agent, `Purpose`/`Sec-Purpose`/`X-Purpose`/
  `X-Moz` headers saying prefetch or preview, and the user agents of link scanners and
  link previewers (Safe Links/BingPreview, Barracuda, Proofpoint, Mimecast, chat and
  social previews, crawlers, HTTP libraries) are redirected or answered like anyone, but
  counted as "clicks-automated" / "opens-automated".
- Gmail's and Yahoo's image proxies fetch the pixel when the reader opens the mail, so
  for the pixel they count as opens; a click from them is a machine's.
- Apple Mail Privacy Protection loads every image on delivery through proxies that look
  like ordinary browsers: those opens cannot be told apart, so every "opens" sample says
  so in its `quality`.
- Timing is not used (no "a click within 2 s of publication is a scanner"): a delivery's
  publication time is when the whole send finished, not when each reader got the mail, so
  such a rule would misjudge both ways.

Unsubscribe: the address goes into `suppressions` (reason "unsubscribed", never mailed
again on any list) and every `contacts` row with that address gets `unsubscribed_at`.
The token names a list and an address, not a mail, so the "unsubscribes" sample (once per
address, however often the POST comes) is attributed to the latest mail sent to the
address (`recipients`), and says so in `quality`; with none, nothing is counted (the
suppression itself is the record). A GET never unsubscribes: scanners and mail clients
fetch links. No "resubscribe" is offered: consent must be given afresh. The unsubscribe
pages are in the recipient's language (their contact's, on that list), with kmcomms's own
words; the 404 and error pages, which know no recipient, are in English.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import html
import logging
import re
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from markupsafe import Markup
from sqlalchemy import Connection, Engine, select

from kmcomms.errors import KmcommsError
from kmcomms.ledger.contacts import unsubscribe
from kmcomms.ledger.reach import count
from kmcomms.ledger.tables import (
    contacts,
    deliveries,
    recipients,
    suppressions,
    tracked_links,
)
from kmcomms.logs import event
from kmcomms.render.tracking import Tracker
from kmcomms.translations.words import direction, words

if TYPE_CHECKING:  # the runtime imports every channel: not needed to serve
    from kmcomms.campaign.workspace import Tracking
    from kmcomms.publish.runtime import Runtime

__all__ = ["ListenError", "TrackingServer", "listen_address", "run_forever", "serve", "start_for"]

log = logging.getLogger("kmcomms.tracking")

Clock = Callable[[], datetime]

MACHINE_OPENS = "opens include machine opens (mail privacy proxies)"
ATTRIBUTED = "attributed to the latest mail sent to the address (the unsubscribe address names no mail)"
#: The classic 43-byte transparent 1x1 GIF89a.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
#: A one-click POST carries "List-Unsubscribe=One-Click": a body is read up to this much, and a longer one ends the connection.
MAX_BODY = 64 * 1024

# Link scanners, previewers, crawlers and HTTP libraries: machines wherever they come.
_MACHINES = re.compile(
    "|".join(
        re.escape(s)
        for s in (
            "bingpreview",
            "microsoft office",
            "barracuda",
            "proofpoint",
            "mimecast",
            "forcepoint",
            "facebookexternalhit",
            "facebot",
            "slackbot",
            "slack-imgproxy",
            "twitterbot",
            "linkedinbot",
            "whatsapp",
            "telegrambot",
            "discordbot",
            "skypeuripreview",
            "googlebot",
            "bingbot",
            "applebot",
            "headlesschrome",
            "+http",  # crawlers sign with their contact address; browsers never do
            "curl/",
            "wget/",
            "python-requests",
            "python-urllib",
            "aiohttp",
            "go-http-client",
            "java/",
            "libwww-perl",
        )
    ),
    re.IGNORECASE,
)
# Webmail image proxies: they fetch images when the reader opens the mail.
_IMAGE_PROXIES = re.compile(r"googleimageproxy|ggpht\.com|yahoomailproxy", re.IGNORECASE)
_PREFETCH = re.compile(r"prefetch|preview|prerender", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")

_STYLE = (
    "body{font:1.125rem/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#111;"
    "background:#fff}button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}"
)
_CSP = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
    + "'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A cached redirect or pixel would not be counted again; the pages name an address.
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


class ListenError(KmcommsError):
    """The tracking server cannot listen where it was asked (port in use, no such address)."""


@dataclass(frozen=True)
class Reply:
    """An answer to send, and what it counted (for the log line)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    metric: str | None = None
    delivery: str | None = None


def _page(status: int, title: str, *blocks: str, language: str = "en") -> Reply:
    """A short accessible HTML page in `language`; `blocks` are HTML (escape what they quote)."""
    body = "".join(blocks)
    text = (
        f'<!doctype html><html lang="{html.escape(language)}" dir="{direction(language)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Reply(status, text.encode(), "text/html; charset=utf-8", {"Content-Security-Policy": _CSP})


NOT_FOUND = _page(404, "Not found", "<p>This address is not valid. Please check the link you followed.</p>")


def _automated(method: str, headers: Message, *, image_proxies: bool) -> bool:
    """Whether a request is a machine's, not a reader's (see the module docstring)."""
    if method == "HEAD":
        return True
    agent = headers.get("User-Agent") or ""
    if not agent or _MACHINES.search(agent) or (image_proxies and _IMAGE_PROXIES.search(agent)):
        return True
    return any(_PREFETCH.search(headers.get(name) or "") for name in ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"))


def _bdi(text: str, *, strong: bool = False) -> Markup:
    """`text` (an address, a name) isolated from the sentence around it, which may run
    the other way; in bold when `strong`."""
    return Markup("<strong><bdi>{0}</bdi></strong>" if strong else "<bdi>{0}</bdi>").format(text)


def _unsubscribed(email: str, language: str) -> Reply:
    say = words(language)
    done = say.html("We will send no more mail to {email}.", email=_bdi(email, strong=True))
    return _page(200, say.gettext("You are unsubscribed"), f"<p>{done}</p>", language=language)


def _language(db: Connection, contact_list: str, email: str) -> str:
    """The language to write to `email` in: their contact's on `contact_list`, else the
    language of the latest mail they were sent, else English."""
    found = db.execute(
        select(contacts.c.language).where(contacts.c.list == contact_list, contacts.c.email == email)
    ).scalar()
    found = (
        found
        or db.execute(
            select(recipients.c.language)
            .where(recipients.c.email == email, recipients.c.sent_at.is_not(None))
            .order_by(recipients.c.sent_at.desc())
            .limit(1)
        ).scalar()
    )
    return found or "en"


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
            reply = self._answer(route, token)
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
            reply = _page(
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

    def _answer(self, route: str, token: str) -> Reply:
        reading = self.command in ("GET", "HEAD")
        if route == "health" and reading:
            return Reply(200, b"ok\n", "text/plain; charset=utf-8")
        if route == "click" and reading:
            return self._click(token)
        if route == "open" and reading:
            return self._open(token)
        if route == "unsubscribe" and self.command == "POST":
            return self._unsubscribe(token)
        if route == "unsubscribe" and reading:
            return self._preferences(token)
        return NOT_FOUND

    def _click(self, token: str) -> Reply:
        found = self.server.tracker.read_click(token)
        if found is None:
            return NOT_FOUND
        delivery, link = found
        with self.server.engine.begin() as db:
            row = db.execute(
                select(tracked_links.c.url, deliveries.c.campaign)
                .join(deliveries, deliveries.c.id == tracked_links.c.delivery_id)
                .where(tracked_links.c.delivery_id == delivery, tracked_links.c.link_id == link)
            ).first()
            # The renderer registers http(s) links only; a row that is not one (or would
            # break the Location header) is never followed.
            if row is None or urlsplit(row.url).scheme not in ("http", "https") or _CONTROL.search(row.url):
                return NOT_FOUND
            metric = "clicks-automated" if _automated(self.command, self.headers, image_proxies=True) else "clicks"
            count(db, delivery, row.campaign, metric, self.server.clock())
        return Reply(302, headers={"Location": row.url}, metric=metric, delivery=delivery)

    def _open(self, token: str) -> Reply:
        delivery = self.server.tracker.read_open(token)
        if delivery is None:
            return NOT_FOUND
        with self.server.engine.begin() as db:
            campaign = db.execute(select(deliveries.c.campaign).where(deliveries.c.id == delivery)).scalar()
            if campaign is None:
                return NOT_FOUND
            automated = _automated(self.command, self.headers, image_proxies=False)
            metric = "opens-automated" if automated else "opens"
            count(db, delivery, campaign, metric, self.server.clock(), None if automated else MACHINE_OPENS)
        return Reply(200, PIXEL, "image/gif", metric=metric, delivery=delivery)

    def _preferences(self, token: str) -> Reply:
        found = self.server.tracker.read_unsubscribe(token)
        if found is None:
            return NOT_FOUND
        contact_list, email = found
        with self.server.engine.connect() as db:
            suppressed = db.execute(select(suppressions.c.email).where(suppressions.c.email == email)).first()
            language = _language(db, contact_list, email)
        if suppressed is not None:
            return _unsubscribed(email, language)
        say = words(language)
        getting = say.html(
            "You get mail from {sender} at {email} on the list {list}.",
            sender=_bdi(self.server.sender),
            email=_bdi(email, strong=True),
            list=_bdi(contact_list, strong=True),
        )
        stops = say.html("Unsubscribing stops all our mail to this address, on every list.")
        button = say.html("Unsubscribe {email}", email=_bdi(email))
        return _page(
            200,
            say.gettext("Unsubscribe"),
            f"<p>{getting}</p>",
            f"<p>{stops}</p>",
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{button}</button></form>',
            language=language,
        )

    def _unsubscribe(self, token: str) -> Reply:
        found = self.server.tracker.read_unsubscribe(token)
        if found is None:
            return NOT_FOUND
        contact_list, email = found
        now = self.server.clock()
        counted = None
        with self.server.engine.begin() as db:
            changed = unsubscribe(db, email, f'one-click unsubscribe from the list "{contact_list}"', now)
            # Counted once: a second POST (or one racing it) finds it already done.
            latest = (
                None
                if not changed
                else db.execute(
                    select(recipients.c.delivery_id, deliveries.c.campaign)
                    .join(deliveries, deliveries.c.id == recipients.c.delivery_id)
                    .where(recipients.c.email == email, recipients.c.state == "sent")
                    .order_by(recipients.c.sent_at.desc())
                    .limit(1)
                ).first()
            )
            if latest is not None:
                count(db, latest.delivery_id, latest.campaign, "unsubscribes", now, ATTRIBUTED)
                counted = "unsubscribes"
            language = _language(db, contact_list, email)
        return replace(_unsubscribed(email, language), metric=counted)

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
        self._send(
            NOT_FOUND if code == 404 else _page(code, "Cannot answer", "<p>This request cannot be answered.</p>")
        )

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
        self.engine, self.tracker, self.clock, self.sender = engine, tracker, clock, sender
        self.prefix = urlsplit(tracker.base_url).path.rstrip("/")
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
