"""`briefing`: a policy briefing as HTML and PDF, published on the static site and mailed
to the named decision makers of a contact list, one message each.

Settings (`[channels.<name>]`, `adapter = "briefing"`):

- `list`: the contact list of decision makers (`kmcomms contacts import FILE --list NAME`).
- `host`, `port`, `sender`, `username`, `password`, `starttls`, `ssl`, `rate`, `timeout`,
  `list_id`, `reply_to`: the mail server and sender, as for the `smtp` adapter, except that
  none is required: `host` defaults to "127.0.0.1" (with `port` 25: this machine's own mail
  server) and `sender` to `kmcomms@<this machine's fully qualified name>` (the channel's
  `check()` asks for a real one: mail from it may not be delivered, nor answered).
- `path` (default "site"), `base_url` (default "http://127.0.0.1:8760"), `title`: the
  static site, as for the `static-site` adapter (channels on one site share them).
- `fonts` (optional): a folder of .ttf/.otf fonts, relative to the workspace, used as if
  installed (where they cannot be: Debian/Ubuntu has them in `fonts-noto-core`).

Publishing a delivery: the briefing's PDF is printed from its HTML in the fonts of its
language's script (`kmcomms.render.pdf`). A missing font is a warning in the log
(`briefing-font`, saying what to install) when another installed font has the letters,
and the delivery goes out; letters no installed font has would print as empty boxes, so
then the delivery fails, saying what to install, and nobody is sent anything. The
page (`<lang>/briefings/<message>.html`, the briefing's header and main part with a link
to the PDF) and the PDF beside it go on the site; then each recipient gets one message:
the link to the page, the briefing as HTML (and as plain text), the PDF attached, and
their own unsubscribe address. Who gets it and how each message is recorded is the
`smtp` adapter's: the recipients are frozen in the ledger when the send starts, each is
sent exactly once, and publishing the delivery again resumes what is pending and sends
nobody a second copy. A list with nobody to send to fails the delivery (the page stays
up; publishing again after the import sends the mail). The publication's URL is the page's.

The mail is the `smtp` adapter's `send` given this adapter's message (`briefing_mail`)
and the PDF to attach. `find` says published only when the page is on the site and every
recipient is settled; `update` replaces the page and the PDF (mail already sent stays
sent); `withdraw` takes the page down; `collect` counts recipients as the `smtp` adapter does.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import socket
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pydantic import Field

from kmcomms.campaign.adapters import Kind
from kmcomms.channels.base import PermanentError, Publication
from kmcomms.channels.letters import Attachment, address_problem
from kmcomms.channels.site.entry import Entry, slug_of
from kmcomms.channels.smtp import Smtp, SmtpOptions
from kmcomms.channels.static_site import SiteChannel, SiteOptions
from kmcomms.logs import event
from kmcomms.render.drafts import Briefing, Draft, Newsletter
from kmcomms.render.markup import plain_text
from kmcomms.render.pdf import PdfError, briefing_pdf, check_fonts
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER
from kmcomms.translations.words import words

__all__ = ["BriefingChannel", "BriefingOptions", "briefing_mail", "briefing_text", "local_sender", "page_fragment"]

log = logging.getLogger("kmcomms.channels.briefing")
_BODY_START = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_SECTION = re.compile(r'<section class="km-body">(.*?)</section>', re.DOTALL)


@functools.cache
def local_sender() -> str:
    """The default sender: `kmcomms@` this machine's fully qualified name (as its own mail
    server would say), else `kmcomms@<name>.localdomain` where the name has no domain."""
    host = socket.getfqdn().lower()
    for address in (f"kmcomms@{host}", f"kmcomms@{host}.localdomain"):
        if address_problem(address) is None:
            return address
    return "kmcomms@localhost.localdomain"


class BriefingOptions(SiteOptions, SmtpOptions):
    """The `smtp` adapter's settings with the mail server and sender optional (the
    shortest briefing channel names its `list` only), and the `static-site` adapter's."""

    host: str = Field("127.0.0.1", min_length=1)
    """Default: this machine's own mail server (with `port` 25)."""
    sender: str = Field(default_factory=local_sender)
    """"Name <address>". Default: `kmcomms@<this machine's fully qualified name>`, which
    `check()` asks to replace."""
    fonts: str | None = None
    """A folder of fonts used as if installed, relative to the workspace."""


def page_fragment(draft: Briefing, pdf_name: str) -> str:
    """The briefing's site page content: its header (with the page's `<h1>`), a link to
    the PDF, and its main part, from the whole document the renderer made."""
    header, main = _inside("header", draft.html), _inside("main", draft.html)
    link = Markup('<p class="km-download"><a href="{0}" type="application/pdf">{1} (PDF)</a></p>').format(
        pdf_name, words(draft.language).gettext("Policy briefing")
    )
    # A workspace's own briefing template may lack a <main>: then all of its body is shown.
    content = main if main is not None else _inside("body", draft.html) or ""
    heading = f"<header>{header}</header>\n" if header is not None else ""
    return f'<article class="km-briefing">\n{heading}{link}\n{content}</article>\n'


def _inside(tag: str, document: str) -> str | None:
    """What the first `tag` element of `document` holds. Sanitised message text cannot
    hold header, main or body elements, so the first of each is the template's own."""
    found = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", document, re.DOTALL | re.IGNORECASE)
    return found[1] if found else None


def briefing_text(draft: Briefing) -> str:
    """The briefing as plain text, in the order of its page: each part under its heading,
    key points bulleted, recommendations numbered, then the acknowledgement."""
    say = words(draft.language).gettext
    body = _BODY_SECTION.search(draft.html)
    # (heading, its texts, the marker of each as a list item: "" for paragraphs)
    parts: list[tuple[str, Sequence[str], str]] = [
        ("Summary", [draft.summary], ""),
        ("Key points", draft.key_points, "•"),
        ("", [plain_text(body[1]) if body else ""], ""),  # the message's body, under its own headings
        ("How strong is the evidence", [draft.evidence], ""),
        ("What we do not know", [draft.uncertainty], ""),
        ("Recommendations", draft.recommendations, "{}."),
        ("Contacts", draft.contacts, "•"),
    ]
    blocks = [f"{draft.title}\n{draft.date}"]
    for heading, texts, marker in parts:
        if not any(texts):
            continue
        blocks.extend([say(heading)] if heading else [])
        if marker:  # the items of one list stay together
            blocks.append("\n".join(f"{marker.format(number)} {text}" for number, text in enumerate(texts, 1)))
        else:
            blocks.extend(text for text in texts if text)
    return "\n\n".join([*blocks, draft.acknowledgement]) + "\n"


def briefing_mail(draft: Briefing, url: str) -> Newsletter:
    """The briefing as the `smtp` adapter mails it: titled by the briefing, the page's
    address above it, the reader's unsubscribe address below, as plain text and as the
    briefing's own HTML document (the channel attaches the PDF to each copy)."""
    say = words(draft.language).gettext
    cover = f"{say('Policy briefing')}: {draft.title}\n{url}\n\n"
    footer = f"\n--\n{say('Unsubscribe')}: {UNSUBSCRIBE_PLACEHOLDER}\n"
    html_cover = str(Markup('<p dir="auto"><a href="{0}">{0}</a></p>\n').format(url))
    # The placeholder is replaced (and escaped) per recipient by the composer.
    html_footer = str(
        Markup('<p dir="auto"><a href="{0}">{1}</a></p>\n').format(Markup(UNSUBSCRIBE_PLACEHOLDER), say("Unsubscribe"))
    )
    document = _BODY_START.sub(lambda start: start[0] + "\n" + html_cover, draft.html, count=1)
    common = {field.name: getattr(draft, field.name) for field in dataclasses.fields(Draft)}
    return Newsletter(
        **common,
        subject=draft.title,
        preheader=draft.summary,
        text=cover + briefing_text(draft) + footer,
        html=document.replace("</body>", html_footer + "</body>", 1),
    )


class BriefingChannel(SiteChannel, Smtp):
    """Policy briefings on the site and by mail (see the module). The site part is the
    `static-site` adapter's, the mail part the `smtp` adapter's."""

    kind = Kind.BRIEFING
    Settings = BriefingOptions
    idempotent = True
    section = "briefings"
    draft_type = Briefing

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pdfs: dict[str, bytes] = {}  # by delivery, while it is published

    @property
    def options(self) -> BriefingOptions:
        assert isinstance(self.settings, BriefingOptions)
        return self.settings

    @property
    def fonts(self) -> Path | None:
        return self.root / self.options.fonts if self.options.fonts else None

    def pdf(self, draft: Briefing, key: str) -> bytes:
        """The PDF of delivery `key`, made afresh (a font installed since is used), with
        its warnings logged. Fails the delivery when it cannot be made readable."""
        try:
            made = briefing_pdf(draft, fonts=self.fonts)
        except PdfError as exc:
            raise PermanentError(f"[channels.{self.name}] {exc}", self.name) from exc
        for warning in made.warnings:
            event(
                log,
                "briefing-font",
                f"[channels.{self.name}] {warning}",
                level=logging.WARNING,
                delivery=key,
                channel=self.name,
                language=draft.language,
            )
        return made.data

    @staticmethod
    def pdf_name(draft: Briefing, key: str) -> str:
        # The delivery id keeps two briefings of one message (two audiences) apart.
        return f"{slug_of(draft.message)}-{key}.pdf"

    def entry(self, draft: Draft, key: str, published: datetime) -> Entry:
        """The page and the PDF `publish` made (`update` publishes again)."""
        assert isinstance(draft, Briefing)
        name = self.pdf_name(draft, key)
        return self.draft_entry(
            draft,
            key,
            published,
            slug=draft.message,
            summary=draft.summary,
            html=page_fragment(draft, name),
            files={name: self._pdfs[key]},
        )

    def publish(self, draft: Draft, key: str) -> Publication:
        if not isinstance(draft, Briefing):
            return SiteChannel.publish(self, draft, key)  # which refuses it, saying why
        # Made once, before anything goes out: the page and every mail carry the same PDF.
        pdf = self._pdfs[key] = self.pdf(draft, key)
        try:
            page = SiteChannel.publish(self, draft, key)
        finally:
            del self._pdfs[key]
        assert page.url is not None
        self.send(
            briefing_mail(draft, page.url),
            key,
            attachments=[Attachment(f"{slug_of(draft.message)}.pdf", "application/pdf", pdf)],
        )
        return page

    def find(self, key: str) -> Publication | None:
        page = SiteChannel.find(self, key)
        return page if page is not None and Smtp.find(self, key) is not None else None

    def check(self) -> list[str]:
        problems = [*SiteChannel.check(self), *Smtp.check(self)]
        if "sender" not in self.options.model_fields_set:
            problems.append(
                f"[channels.{self.name}] no sender is set, so briefings go out from {self.options.sender} "
                '— set sender = "Name <address>" to an address of the unit that takes replies'
            )
        problems.extend(f"[channels.{self.name}] {problem}" for problem in check_fonts(self.fonts))
        return problems
