"""Letters for newsletters: each recipient's message built from one draft, and the checks
and headers of mail addresses (sending them is `kmcomms.channels.mail`).

`Composer(draft, …)` makes the MIME structure of a `Newsletter` once (with the email
package, policy SMTP): `multipart/alternative`, the plain text first and the HTML last
(the preferred part, RFC 2046 §5.1.4), and the headers every copy shares: `From`,
`Reply-To`, `Subject`, `Date`, `List-Id` (RFC 2919), `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058, only when the unsubscribe address is a web one) and
`Content-Language`; files to attach (`Attachment`, e.g. a briefing's PDF) make it
`multipart/mixed`, the alternatives first, each file encoded once for every copy.
`compose(email, name)` then adds what differs per recipient — `To`, a `Message-ID` made
from the delivery id and the address (the same on every retry, so a server or a reader
can recognise a repeat), `List-Unsubscribe: <that person's address>`,
and both bodies with `{{unsubscribe_url}}` replaced by the same address (HTML-escaped in
the HTML), each encoded as quoted-printable or base64, whichever is shorter for its text.
Building the structure once and only the varying parts per recipient is what keeps a
10,000-recipient send close to the speed of the SMTP conversation itself.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import html
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import Header
from email.message import EmailMessage

from kmcomms.render.drafts import Newsletter
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER

__all__ = [
    "Attachment",
    "Composer",
    "Letter",
    "address_problem",
    "list_id_header",
    "message_id",
    "split_sender",
    "subject_header",
]

# RFC 5321/5322 addresses as a mail relay accepts them without SMTPUTF8: a dot-atom local
# part and a domain of LDH labels. Quoted local parts are legal but no list needs them.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
CRLF = "\r\n"
_LIST_ID = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")


def address_problem(address: str) -> str | None:
    """Why `address` is not an e-mail address a relay takes, in words; None when it is."""
    if not address:
        return "it is empty"
    if any(c.isspace() for c in address):
        return "it contains a space or line break"
    if not address.isascii():
        return "it has characters outside ASCII (write the domain in its xn-- form)"
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "it has no name before an @"
    if "@" in local:
        return "it has more than one @"
    if len(address) > 254 or len(local) > 64:
        return "it is too long (at most 64 characters before the @, 254 in all)"
    if not _LOCAL.fullmatch(local):
        return f'"{local}" before the @ has a character or dot out of place'
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return f'"{domain}" after the @ is not a domain name such as example.org'
    return None


def split_sender(sender: str) -> tuple[str, str]:
    """("HPRU news", "news@unit.example") from "HPRU news <news@unit.example>" (or a bare
    address). Raises ValueError saying what is wrong."""
    found = email.utils.getaddresses([sender])
    name, address = found[0] if len(found) == 1 else ("", "")
    problem = address_problem(address) if address else "there is not one address in it"
    if problem:
        raise ValueError(f'"{sender}" is not a sender: {problem} — write "Name <address@example.org>"')
    return name, address


def message_id(delivery: str, address: str, domain: str) -> str:
    """The Message-ID of `delivery`'s copy to `address`: the same every time it is made."""
    digest = hashlib.sha256(f"{delivery}\n{address}".encode()).hexdigest()[:24]
    return f"<{delivery}.{digest}@{domain}>"


def _encoded_name(name: str, address: str) -> str:
    """The `To` value: a display name in RFC 2047 encoded words when it is not ASCII
    (folded into several when long), quoted when it holds specials."""
    if not name or name.isascii():
        return email.utils.formataddr((name, address))
    return f"{Header(name, 'utf-8', header_name='To').encode(linesep=CRLF)} <{address}>"


def subject_header(text: str) -> str:
    """The folded `Subject` value (for `EmailMessage.set_raw`): its first words on the
    Subject line itself.

    Python's own folder moves a whole value of about 70 to 77 characters onto a
    continuation line ("Subject:\r\n Extra MMR clinics …"), which readers (Python's parser
    among them) then show with a leading space; `Header` breaks at the last space that
    fits, and writes text that is not ASCII as RFC 2047 encoded words."""
    text = " ".join(text.splitlines())  # a header never takes a line break
    return Header(text, "us-ascii" if text.isascii() else "utf-8", header_name="Subject").encode(linesep=CRLF).lstrip()


def _quoted_printable(data: bytes) -> bytes:
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


def _base64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


class _Body:
    """One part's text, cut at the unsubscribe placeholder, with the transfer encoding
    chosen once for the delivery."""

    def __init__(self, text: str, escape: Callable[[str], str]) -> None:
        text = text if text.endswith("\n") else text + "\n"
        self.pieces = text.split(UNSUBSCRIBE_PLACEHOLDER)
        self.escape = escape
        sample = text.encode("utf-8")
        quoted, based = _quoted_printable(sample), _base64(sample)
        self.cte, self.encode = (
            ("quoted-printable", _quoted_printable) if len(quoted) <= len(based) else ("base64", _base64)
        )

    def render(self, url: str) -> bytes:
        return self.encode(self.escape(url).join(self.pieces).encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file every copy carries, e.g. `Attachment("brief.pdf", "application/pdf", data)`."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Letter:
    """One recipient's message, ready for the wire (CRLF line ends)."""

    recipient: str
    message_id: str
    data: bytes


class Composer:
    """Every recipient's copy of one newsletter draft (see the module).

    `unsubscribe(email)` gives that person's unsubscribe address: a signed web address
    (then `one_click` should be true) or a `mailto:`. `attachments` go in every copy,
    after the text and HTML.
    """

    def __init__(
        self,
        draft: Newsletter,
        *,
        sender: str,
        list_id: str,
        date: datetime,
        unsubscribe: Callable[[str], str],
        one_click: bool,
        reply_to: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        self.delivery = draft.delivery
        self.domain = split_sender(sender)[1].rpartition("@")[2].lower()
        self.unsubscribe = unsubscribe
        self.bodies = (_Body(draft.text, str), _Body(draft.html, lambda url: html.escape(url, quote=True)))
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = sender
        if reply_to:
            message["Reply-To"] = reply_to
        message.set_raw("Subject", subject_header(draft.subject))
        message["Date"] = email.utils.format_datetime(date)
        message["List-Id"] = list_id
        if one_click:
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # Markers stand for the encoded bodies; a random boundary cannot occur in base64
        # (no "-" in its alphabet) nor, in practice, in the text.
        marks = [f"kmcomms-{part}-{uuid.uuid4().hex}" for part in ("text", "html")]
        message.set_content(marks[0])
        message.add_alternative(marks[1], subtype="html")
        message.set_boundary(f"kmcomms-{uuid.uuid4().hex}")
        for part, body in zip(message.iter_parts(), self.bodies, strict=True):
            part.replace_header("Content-Transfer-Encoding", body.cte)
        for attachment in attachments:
            # The first one moves the alternatives (and their boundary) into a part of their own.
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
        if attachments:
            message.set_boundary(f"kmcomms-{uuid.uuid4().hex}")
        # The whole message's language, set last: set_content and add_attachment move or
        # clear the Content-* headers.
        message["Content-Language"] = draft.language
        wire = message.as_bytes()
        head, rest = wire.split(marks[0].encode() + b"\r\n")
        middle, tail = rest.split(marks[1].encode() + b"\r\n")
        self.template = (head, middle, tail)

    def compose(self, address: str, name: str | None) -> Letter:
        """`address`'s copy, addressed to `name` (may be empty)."""
        url = self.unsubscribe(address)
        ident = message_id(self.delivery, address, self.domain)
        # Names come from a checked import, but a header must never take a line break.
        to = _encoded_name(" ".join((name or "").split()), address)
        head, middle, tail = self.template
        own = f"To: {to}\r\nMessage-ID: {ident}\r\nList-Unsubscribe: <{url}>\r\n".encode("ascii")
        text, markup = (body.render(url) for body in self.bodies)
        return Letter(address, ident, b"".join((own, head, text, middle, markup, tail)))


def list_id_header(setting: str | None, contact_list: str, sender_domain: str) -> str:
    """The `List-Id` value: the setting ("id" or "Description <id>"), else
    `<list>.<sender domain>`. Raises ValueError when the setting is not one."""
    if setting is None:
        return f"<{contact_list}.{sender_domain}>"
    description, _, rest = setting.rpartition("<")
    ident = rest.rstrip(">").strip() if "<" in setting else setting.strip()
    if not _LIST_ID.fullmatch(ident):
        raise ValueError(f'"{setting}" is not a list id — write a dotted name such as "news.unit.example.ac.uk"')
    return f"{description.strip()} <{ident}>".lstrip()


# ---------------------------------------------------------------------------- sending
