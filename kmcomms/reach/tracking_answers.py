"""What the tracking server (`kmcomms.reach.tracking`) answers each route with, and what
each answer counts (`Answers`): the redirect of a click, the pixel of an open, the
unsubscribe page and the one-click unsubscribe itself; and the short pages they are
written in (`page`, `NOT_FOUND`).

Privacy: counts only. A request adds one `reach_samples` row (delivery, campaign,
metric, 1, time, source "tracking"); no IP address, user agent, cookie or header is
stored.

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
import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import Message
from urllib.parse import urlsplit

from markupsafe import Markup
from sqlalchemy import Connection, Engine, select

from kmcomms.ledger.contacts import unsubscribe
from kmcomms.ledger.reach import count
from kmcomms.ledger.tables import contacts, deliveries, recipients, suppressions, tracked_links
from kmcomms.render.tracking import Tracker
from kmcomms.translations.words import direction, words

__all__ = ["ATTRIBUTED", "MACHINE_OPENS", "NOT_FOUND", "PIXEL", "Answers", "Reply", "page"]

MACHINE_OPENS = "opens include machine opens (mail privacy proxies)"
ATTRIBUTED = "attributed to the latest mail sent to the address (the unsubscribe address names no mail)"
#: The classic 43-byte transparent 1x1 GIF89a.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

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


@dataclass(frozen=True)
class Reply:
    """An answer to send, and what it counted (for the log line)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    metric: str | None = None
    delivery: str | None = None


def page(status: int, title: str, *blocks: str, language: str = "en") -> Reply:
    """A short accessible HTML page in `language`; `blocks` are HTML (escape what they quote)."""
    body = "".join(blocks)
    text = (
        f'<!doctype html><html lang="{html.escape(language)}" dir="{direction(language)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Reply(status, text.encode(), "text/html; charset=utf-8", {"Content-Security-Policy": _CSP})


NOT_FOUND = page(404, "Not found", "<p>This address is not valid. Please check the link you followed.</p>")


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
    return page(200, say.gettext("You are unsubscribed"), f"<p>{done}</p>", language=language)


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


@dataclass(frozen=True)
class Answers:
    """The answers of one tracking server: the tokens are read with `tracker`, counts
    written to `engine` at `clock`'s time; `sender` names who mails, on the unsubscribe page."""

    engine: Engine
    tracker: Tracker
    clock: Callable[[], datetime]
    sender: str

    def answer(self, route: str, token: str, method: str, headers: Message) -> Reply:
        """The reply to a `method` request for `route` with `token` (see `kmcomms.reach.tracking`)."""
        reading = method in ("GET", "HEAD")
        if route == "health" and reading:
            return Reply(200, b"ok\n", "text/plain; charset=utf-8")
        if route == "click" and reading:
            return self.redirect(token, method, headers)
        if route == "open" and reading:
            return self.pixel(token, method, headers)
        if route == "unsubscribe" and method == "POST":
            return self.one_click(token)
        if route == "unsubscribe" and reading:
            return self.preferences(token)
        return NOT_FOUND

    def redirect(self, token: str, method: str, headers: Message) -> Reply:
        """Redirect to the registered link, counted as a click (a person's or a machine's)."""
        found = self.tracker.read_click(token)
        if found is None:
            return NOT_FOUND
        delivery, link = found
        with self.engine.begin() as db:
            row = db.execute(
                select(tracked_links.c.url, deliveries.c.campaign)
                .join(deliveries, deliveries.c.id == tracked_links.c.delivery_id)
                .where(tracked_links.c.delivery_id == delivery, tracked_links.c.link_id == link)
            ).first()
            # The renderer registers http(s) links only; a row that is not one (or would
            # break the Location header) is never followed.
            if row is None or urlsplit(row.url).scheme not in ("http", "https") or _CONTROL.search(row.url):
                return NOT_FOUND
            metric = "clicks-automated" if _automated(method, headers, image_proxies=True) else "clicks"
            count(db, delivery, row.campaign, metric, self.clock())
        return Reply(302, headers={"Location": row.url}, metric=metric, delivery=delivery)

    def pixel(self, token: str, method: str, headers: Message) -> Reply:
        """The pixel, counted as an open."""
        delivery = self.tracker.read_open(token)
        if delivery is None:
            return NOT_FOUND
        with self.engine.begin() as db:
            campaign = db.execute(select(deliveries.c.campaign).where(deliveries.c.id == delivery)).scalar()
            if campaign is None:
                return NOT_FOUND
            automated = _automated(method, headers, image_proxies=False)
            metric = "opens-automated" if automated else "opens"
            count(db, delivery, campaign, metric, self.clock(), None if automated else MACHINE_OPENS)
        return Reply(200, PIXEL, "image/gif", metric=metric, delivery=delivery)

    def preferences(self, token: str) -> Reply:
        """The page naming the list, with the button that unsubscribes; changes nothing."""
        found = self.tracker.read_unsubscribe(token)
        if found is None:
            return NOT_FOUND
        contact_list, email = found
        with self.engine.connect() as db:
            suppressed = db.execute(select(suppressions.c.email).where(suppressions.c.email == email)).first()
            language = _language(db, contact_list, email)
        if suppressed is not None:
            return _unsubscribed(email, language)
        say = words(language)
        getting = say.html(
            "You get mail from {sender} at {email} on the list {list}.",
            sender=_bdi(self.sender),
            email=_bdi(email, strong=True),
            list=_bdi(contact_list, strong=True),
        )
        stops = say.html("Unsubscribing stops all our mail to this address, on every list.")
        button = say.html("Unsubscribe {email}", email=_bdi(email))
        return page(
            200,
            say.gettext("Unsubscribe"),
            f"<p>{getting}</p>",
            f"<p>{stops}</p>",
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{button}</button></form>',
            language=language,
        )

    def one_click(self, token: str) -> Reply:
        """The one-click unsubscribe: suppressed, every contact row marked, counted once."""
        found = self.tracker.read_unsubscribe(token)
        if found is None:
            return NOT_FOUND
        contact_list, email = found
        now = self.clock()
        counted = None
        with self.engine.begin() as db:
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
