"""Sending mail: a `Mailer` that hands messages (made by `kmcomms.channels.letters`) to an
SMTP server over one reused connection.

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
import contextlib
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kmcomms.channels.base import PermanentError, TransientError
from kmcomms.errors import KmcommsError

__all__ = [
    "Deferred",
    "Mailer",
    "RecipientError",
    "Refused",
    "Server",
    "Uncertain",
]


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

    def __init__(
        self,
        server: Server,
        *,
        rate: float = 0,
        channel: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self.rate = rate
        self.channel = channel
        self.sleep = sleep
        self.clock = clock
        self._smtp: smtplib.SMTP | None = None
        self._ready_at: float | None = None
        secret = server.password or ""
        user = (server.username or "").encode()
        self._secrets = [
            s
            for s in (
                secret,
                base64.b64encode(secret.encode()).decode(),
                base64.b64encode(b"\0" + user + b"\0" + secret.encode()).decode(),
            )
            if secret and s
        ]

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
            return self._permanent(
                f"the server refused the user name or password ({reply}) — check username and password"
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            hint = (
                "it may offer AUTH only after STARTTLS: set starttls = true"
                if self.server.security == "plain"
                else "check the port and the starttls/ssl settings"
            )
            return self._permanent(f"{exc} — {hint}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._permanent(
                f"its TLS certificate is not trusted ({exc.verify_message}) — "
                "point SSL_CERT_FILE at the CA that signed it"
            )
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
            with contextlib.suppress(OSError):
                smtp.close()

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
            raise self._permanent(
                f"the server refused the sender {sender} ({_reply(code, text)}) — check sender, username and password"
            )
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
        text: bytes | str  # bytes from DATA's answer; a refusal may carry either
        try:
            code, text = self._smtp.data(data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was handed over
            code, text = exc.smtp_code, exc.smtp_error
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise Uncertain(
                self._masked(
                    f"{self.server.where}: connection lost while handing over the message "
                    f"for {recipient} ({type(exc).__name__}): the server may have it"
                ),
                self.channel,
            ) from None
        if code == 250:
            return
        if code == 421:
            self._drop()
        raise self._refusal(code, text)

    def close(self) -> None:
        """Say QUIT and close; never raises."""
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._drop()
