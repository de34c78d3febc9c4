"""Mail for newsletters: each recipient's message built from one draft, and a `Mailer`
that hands messages to an SMTP server over one reused connection.

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

`Mailer(server, rate=…)` sends: connects on first use (implicit TLS, STARTTLS, AUTH as
configured), reconnects when the server dropped the connection between messages, keeps to
`rate` messages per second, and says what each failure means for the recipient:

- returns: the server took the message.
- `Refused`: a 5xx for this recipient; `bounce` when the enhanced status is 5.1.x (no
  such mailbox or domain, a hard bounce: the address is to be suppressed).
- `Deferred`: a 4xx for this recipient only (mailbox busy, greylisted): try it later.
- `Uncertain` (a `TransientError`): the connection was lost after the message was handed
  over, before the server answered; it may or may not have it.
- `TransientError`: nothing was handed over and the server cannot take mail now
  (refused connection, timeout, 421, a 4xx to MAIL FROM).
- `PermanentError`: the settings are wrong (user name or password refused, STARTTLS or
  AUTH not offered, the sender refused, an untrusted certificate).

The password never appears in an error or a log line: messages are built from the
server's replies with the password (and its base64 forms, as AUTH sends it) masked.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import html
import re
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import Header
from email.message import EmailMessage

from kmcomms.channels.base import PermanentError, TransientError
from kmcomms.errors import KmcommsError
from kmcomms.render.drafts import Newsletter
from kmcomms.render.renderer import UNSUBSCRIBE_PLACEHOLDER

__all__ = [
    "Attachment",
    "Composer",
    "Deferred",
    "Letter",
    "Mailer",
    "RecipientError",
    "Refused",
    "Server",
    "Uncertain",
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
        self.cte, self.encode = (("quoted-printable", _quoted_printable) if len(quoted) <= len(based)
                                 else ("base64", _base64))

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

    def __init__(self, draft: Newsletter, *, sender: str, list_id: str, date: datetime,
                 unsubscribe: Callable[[str], str], one_click: bool, reply_to: str | None = None,
                 attachments: Sequence[Attachment] = ()) -> None:
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


class RecipientError(KmcommsError):
    """The server's answer about one recipient (`reply`, as it said it): the message may
    still go to the others. The sender records it against that recipient."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class Refused(RecipientError):
    """The server refused this recipient for good (5xx). `bounce`: the mailbox or
    domain does not exist (enhanced status 5.1.x), a hard bounce."""

    def __init__(self, reply: str, bounce: bool) -> None:
        super().__init__(reply)
        self.bounce = bounce


class Deferred(RecipientError):
    """The server cannot take this recipient now (4xx); other recipients may go."""


class Uncertain(TransientError):
    """The connection was lost after the message was handed over: the server may have it."""


@dataclass(frozen=True)
class Server:
    """Where and how to connect. `security`: "plain", "starttls" or "tls" (implicit,
    port 465). `context` verifies the server's certificate (default: the system's CAs,
    or the file in SSL_CERT_FILE)."""

    host: str
    port: int = 25
    security: str = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"SMTP {self.host}:{self.port}"


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return " ".join(f"{code} {text}".split())[:300]


def _bounce(code: int, text: str) -> bool:
    """A hard bounce: a 5xx whose enhanced status (RFC 3463) is 5.1.x — the mailbox or
    domain does not exist. Other refusals (policy, content) say nothing about the address."""
    return code >= 500 and re.match(r"\d{3}[ -]5\.1\.\d{1,3}\b", text) is not None


class Mailer:
    """One SMTP connection reused for a whole send (see the module). Use it as a context
    manager, or call `close()`. `sleep` and `clock` are for tests."""

    def __init__(self, server: Server, *, rate: float = 0, channel: str = "",
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.server = server
        self.rate = rate
        self.channel = channel
        self.sleep = sleep
        self.clock = clock
        self._smtp: smtplib.SMTP | None = None
        self._ready_at: float | None = None
        secret = server.password or ""
        user = (server.username or "").encode()
        self._secrets = [s for s in (
            secret,
            base64.b64encode(secret.encode()).decode(),
            base64.b64encode(b"\0" + user + b"\0" + secret.encode()).decode(),
        ) if secret and s]

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _masked(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _transient(self, what: str) -> TransientError:
        return TransientError(self._masked(f"{self.server.where}: {what}"), self.channel)

    def _permanent(self, what: str) -> PermanentError:
        return PermanentError(self._masked(f"{self.server.where}: {what}"), self.channel)

    def _wait_turn(self) -> None:
        """Keep to `rate` messages per second: each message waits until 1/rate after
        the one before (a bucket of one token)."""
        if self.rate <= 0:
            return
        now = self.clock()
        if self._ready_at is not None and now < self._ready_at:
            self.sleep(self._ready_at - now)
            now = self._ready_at
        self._ready_at = now + 1 / self.rate

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        context = server.context or ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if server.security == "tls":
                smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
            smtp.ehlo()
            if server.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.username and server.password is not None:
                smtp.login(server.username, server.password)
            return smtp
        except (OSError, smtplib.SMTPException) as exc:
            failure = self._connect_failure(exc)
        self._discard(smtp)
        # Raised outside the handler, so the library's exception (which may quote what the
        # server echoed back, the password included) is not kept as its context.
        raise failure

    def _connect_failure(self, exc: OSError | smtplib.SMTPException) -> TransientError | PermanentError:
        """What a failure to connect, greet, STARTTLS or log in means."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                return self._transient(f"cannot log in now ({reply})")
            return self._permanent(f"the server refused the user name or password ({reply}) — "
                                   "check username and password")
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            hint = ("it may offer AUTH only after STARTTLS: set starttls = true" if self.server.security == "plain"
                    else "check the port and the starttls/ssl settings")
            return self._permanent(f"{exc} — {hint}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._permanent(f"its TLS certificate is not trusted ({exc.verify_message}) — "
                                   "point SSL_CERT_FILE at the CA that signed it")
        if isinstance(exc, smtplib.SMTPResponseException):  # a refusing greeting, EHLO or STARTTLS
            reply = _reply(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code >= 500:
                return self._permanent(f"the server will not talk to us ({reply})")
            return self._transient(f"the server cannot take mail now ({reply})")
        if isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):  # refused, unreachable, timed out, dropped
            return self._transient(f"cannot connect ({type(exc).__name__}: {exc})")
        return self._permanent(f"{exc} — check the server's settings and username")  # e.g. no common AUTH mechanism

    @staticmethod
    def _discard(smtp: smtplib.SMTP | None) -> None:
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def _drop(self) -> None:
        self._discard(self._smtp)
        self._smtp = None

    def _hand_over(self, smtp: smtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO. Refused/Deferred for the recipient; TransientError
        for the connection (the caller may reconnect: nothing was handed over)."""
        code, text = smtp.mail(sender)
        if 400 <= code < 500:
            raise self._transient(f"the server cannot take mail now ({_reply(code, text)})")
        if code != 250:
            raise self._permanent(f"the server refused the sender {sender} ({_reply(code, text)}) — "
                                  "check sender, username and password")
        code, text = smtp.rcpt(recipient)
        if code in (250, 251):
            return
        smtp.rset()
        raise self._refusal(code, text)

    def _refusal(self, code: int, text: bytes | str) -> TransientError | Deferred | Refused:
        """What a refused RCPT or DATA means: 421, the server is closing (the connection
        is lost to every recipient); another 4xx, try this one later; a 5xx, refused."""
        reply = _reply(code, text)
        if code == 421:
            return self._transient(f"the server cannot take mail now ({reply})")
        if 400 <= code < 500:
            return Deferred(reply)
        return Refused(reply, _bounce(code, reply))

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand `data` (CRLF line ends) to the server for `recipient`, from the envelope
        sender `sender`. See the module for what each exception means."""
        self._wait_turn()
        for attempt in (1, 2):
            # Until DATA nothing was handed over, so a fresh connection may try again once:
            # a server that closes idle connections, or limits messages per connection.
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._hand_over(self._smtp, sender, recipient)
                break
            except TransientError:
                self._drop()
                if attempt == 2:
                    raise
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()
                if attempt == 2:
                    raise self._transient(f"connection lost ({type(exc).__name__}: {exc})") from None
        assert self._smtp is not None
        try:
            code, text = self._smtp.data(data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was handed over
            code, text = exc.smtp_code, exc.smtp_error
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise Uncertain(self._masked(f"{self.server.where}: connection lost while handing over the message "
                                         f"for {recipient} ({type(exc).__name__}): the server may have it"),
                            self.channel) from None
        if code == 250:
            return
        if code == 421:
            self._drop()
        raise self._refusal(code, text)

    def close(self) -> None:
        """Say QUIT and close; never raises."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()
