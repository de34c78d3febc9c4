"""`smtp`: a newsletter sent as one mail per recipient through any SMTP server.

Settings (`[channels.<name>]`, `adapter = "smtp"`):

- `host`, `port` (default 25): the server, e.g. a local relay or the unit's mail service.
- `sender`: "Name <address>"; the envelope sender and `From`.
- `list`: the contact list this channel sends to (`kmcomms contacts import FILE --list NAME`).
- `username` (default: the sender address) and `password` (write "${SMTP_PASSWORD}"):
  AUTH is used only when a password is set.
- `starttls` (default: true on port 587), `ssl` (implicit TLS; default: true on port 465).
- `rate` (messages per second, default 10; 0 = as fast as the server takes them).
- `timeout` (seconds for each SMTP exchange, default 30).
- `list_id` (default "<list>.<sender domain>"), `reply_to` (optional).

Who gets a delivery: the contacts of `list` in the delivery's audience who read its
language (those in a language the audience is not reached in get the source-language
delivery), minus suppressed addresses; see `kmcomms.channels.contacts.recipients_for`.

Exactly once per recipient. The recipient set is frozen into the ledger's `recipients`
table when the send starts (state `pending`, with the Message-ID each copy will carry);
a resumed send uses those rows, so contacts imported later do not join a half-sent
delivery. Then, one recipient at a time in address order: the row is taken (`sending`,
committed), the message handed to the server, and the row marked `sent` in the same
commit that takes the next one (one commit per recipient; on SQLite most of them without
an fsync: see `_Commits` in `kmcomms.channels.smtp_send`). A refusal marks the row
`rejected` with the server's answer; a hard bounce (5.1.x) also suppresses the address.
An address suppressed after the freeze is skipped (`suppressed`). When the process dies,
at most the one row in `sending` is in doubt: the resumed send marks it `unknown` and
never sends it again (the server may have it; a person can look), so nobody gets two
copies. The adapter is `idempotent`: publishing the same delivery again resumes the
pending rows and resends nothing. Two workers on one delivery (a lease that expired
during a very long send) take rows with a conditional update, so they never send the
same row twice either.

A transient failure (server down, 421, timeout) raises `TransientError` after recording
what was sent, so the retry resumes; a 4xx for one recipient leaves that row pending and
the send goes on, raising `TransientError` at the end so the pending rows are tried again.

`find(key)` answers from the ledger: the publication when no row is left pending or in
`sending` (every recipient settled), None otherwise — including a send cut short, for
which None is right: publishing again resumes it without resending. `collect` counts the
rows: `recipients` (sent), `rejected`, `unknown`, `suppressed`.

Unsubscribing: with `[tracking]`, each copy carries the person's signed one-click address
(`List-Unsubscribe` + `List-Unsubscribe-Post`, RFC 8058) and the same address in its
visible link. Without it, a `mailto:` to the reply address (or the sender) with subject
"unsubscribe", for a person to act on with `kmcomms contacts suppress`; `check()` says so,
unless the server is a mail catcher on this machine (loopback, not a mail port: a trial).

Adapters whose drafts go out as a newsletter (the `briefing` adapter) subclass `Smtp` and
call `send(newsletter, key, attachments=…)`: the same recipients, exactly once each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator, model_validator
from sqlalchemy import Connection, Engine

from kmcomms.campaign.adapters import Kind
from kmcomms.campaign.fields import Slug
from kmcomms.campaign.workspace import expand
from kmcomms.channels.base import Channel, ChannelOptions, PermanentError, Publication, TransientError
from kmcomms.channels.contacts import recipients_for
from kmcomms.channels.letters import Attachment, Composer, list_id_header, message_id, split_sender
from kmcomms.channels.mail import Mailer, Server
from kmcomms.channels.smtp_send import SendLoop
from kmcomms.errors import SettingError
from kmcomms.ledger import recipients
from kmcomms.ledger.ledger import planned_language
from kmcomms.logs import event
from kmcomms.render.drafts import Draft, Newsletter

__all__ = ["Smtp", "SmtpOptions"]

log = logging.getLogger("kmcomms.channels.smtp")

_LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: Where mail servers take mail that goes on to mailboxes: SMTP, submission over TLS, submission.
_MAIL_PORTS = (25, 465, 587)


class SmtpOptions(ChannelOptions):
    host: str = Field(min_length=1)
    port: int = Field(25, ge=1, le=65535)
    sender: str
    """"Name <address>": the envelope sender and From."""
    list: Slug
    """The contact list this channel sends to."""
    username: str | None = None
    """Default: the sender address (used only with a password)."""
    password: SecretStr | None = None
    """Write "${SMTP_PASSWORD}" and set the variable."""
    starttls: bool | None = None
    """Default: true on port 587."""
    ssl: bool | None = None
    """Implicit TLS. Default: true on port 465."""
    rate: float = Field(10.0, ge=0)
    """Messages per second; 0 = no limit."""
    timeout: float = Field(30.0, gt=0, le=300)
    """Seconds for each SMTP exchange."""
    list_id: str | None = None
    """The List-Id header: "id" or "Description <id>". Default: "<list>.<sender domain>"."""
    reply_to: str | None = None
    """"Name <address>" for replies (and the mailto: unsubscribe without tracking)."""

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            split_sender(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SmtpOptions:
        if self.use_starttls and self.use_ssl:
            raise ValueError(
                "starttls and ssl cannot both be on — use ssl = true on port 465, or starttls = true on 587"
            )
        list_id_header(self.list_id, self.list, self.sender_domain)
        return self

    @property
    def use_ssl(self) -> bool:
        return self.ssl if self.ssl is not None else self.port == 465 and not self.starttls

    @property
    def use_starttls(self) -> bool:
        return self.starttls if self.starttls is not None else self.port == 587 and not self.ssl

    @property
    def sender_address(self) -> str:
        return split_sender(self.sender)[1]

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rpartition("@")[2].lower()


def _publication(key: str, counts: dict[str, int]) -> Publication:
    """`<delivery>:<sent>/<recipients>`: the delivery id first, so `collect` finds its rows."""
    return Publication(f"{key}:{counts.get('sent', 0)}/{sum(counts.values())}")


class Smtp(Channel):
    """Newsletters by SMTP, one mail per recipient, exactly once each (see the module)."""

    kind = Kind.NEWSLETTER
    Settings = SmtpOptions
    idempotent = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout = self.options.timeout  # type: ignore[misc]  # the setting, not the class default
        #: The time (aware UTC): the Date header and `sent_at`. Tests fix it.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        #: Waits between messages to keep to `rate`. Tests replace it.
        self.sleep: Callable[[float], None] = time.sleep

    # ------------------------------------------------------------------ settings

    @property
    def options(self) -> SmtpOptions:
        assert isinstance(self.settings, SmtpOptions)
        return self.settings

    def _password(self) -> str | None:
        if self.options.password is None:
            return None
        try:
            return expand(self.options.password.get_secret_value())
        except SettingError as exc:  # names the variable, never a value
            raise PermanentError(f"[channels.{self.name}] password: {exc}", self.name) from None

    def server(self) -> Server:
        """Where to connect, with the password read from the environment."""
        options = self.options
        password = self._password()
        return Server(
            options.host,
            options.port,
            "tls" if options.use_ssl else "starttls" if options.use_starttls else "plain",
            (options.username or options.sender_address) if password is not None else None,
            password,
            options.timeout,
        )

    def _unsubscribe(self) -> tuple[Callable[[str], str], bool]:
        """Each recipient's unsubscribe address, and whether it is a one-click (web) one."""
        if self.tracker is not None:
            tracker, contact_list = self.tracker, self.options.list
            return (lambda address: tracker.unsubscribe_url(contact_list, address)), True
        mailbox = split_sender(self.options.reply_to)[1] if self.options.reply_to else self.options.sender_address
        url = f"mailto:{mailbox}?subject={quote(f'unsubscribe {self.options.list}')}"
        return (lambda address: url), False

    def check(self) -> list[str]:
        problems = []
        where = f"[channels.{self.name}]"
        try:
            password = self._password()
        except PermanentError as exc:
            problems.append(str(exc))
            password = None
        if (
            password is not None
            and not (self.options.use_ssl or self.options.use_starttls)
            and self.options.host not in _LOOPBACK
        ):
            problems.append(
                f"{where} the password would cross the network in clear text — set starttls = true "
                "(port 587) or ssl = true (port 465)"
            )
        if self.options.host in _LOOPBACK and self.options.port not in _MAIL_PORTS:
            # A mail catcher on this machine (aiosmtpd's 8025, Mailpit's 1025: a new
            # workspace's trial setup): no mailbox provider sees these mails, so none of
            # its rules for bulk senders applies.
            return problems
        if self.tracker is None:
            problems.append(
                f"{where} one-click unsubscribe (RFC 8058, which Gmail and Yahoo require of bulk senders) "
                "needs the tracking server — set [tracking] base_url; until then mails carry a mailto: "
                "unsubscribe that a person handles with `kmcomms contacts suppress`"
            )
        elif not self.tracker.base_url.startswith("https://"):
            problems.append(
                f"{where} [tracking] base_url is not https: mail providers accept one-click unsubscribe "
                "only at an https address"
            )
        return problems

    # ------------------------------------------------------------------ publishing

    def _engine(self) -> Engine:
        if self.store is None:
            raise PermanentError(f"channel {self.name} keeps its recipients in the store, and has none here", self.name)
        return self.store

    def _freeze(self, db: Connection, key: str, draft: Newsletter, domain: str) -> None:
        """Write the delivery's recipients (pending), unless a send of it started before.
        Raises PermanentError when there is nobody to send it to."""
        if recipients.started(db, key):
            return
        # The delivery's own language: a draft that fell back to the source language is
        # still for the readers of the language it was planned in.
        language = planned_language(db, key)
        if language is None:
            raise PermanentError(f"delivery {key} is not in the ledger", self.name)
        people = recipients_for(
            db, self.options.list, draft.audience, language, draft.source_language, draft.audience_languages
        )
        if not people:
            raise PermanentError(
                f'nobody to send {key} to: list "{self.options.list}" has no contact of audience '
                f'"{draft.audience}" reading {language} who may be written to — import them '
                f"(`kmcomms contacts import FILE --list {self.options.list}`), then `kmcomms resolve "
                f"{key} --retry`; or --cancel",
                self.name,
            )
        recipients.add(
            db,
            [
                {
                    "delivery_id": key,
                    "email": p.email,
                    "name": p.name,
                    "language": p.language,
                    "message_id": message_id(key, p.email, domain),
                }
                for p in people
            ],
        )

    def publish(self, draft: Draft, key: str) -> Publication:
        if not isinstance(draft, Newsletter):
            raise PermanentError(
                f"channel {self.name} sends newsletters, not {draft.kind} drafts — "
                f"remove `kind` from [channels.{self.name}]",
                self.name,
            )
        return self.send(draft, key)

    def send(self, draft: Newsletter, key: str, attachments: Sequence[Attachment] = ()) -> Publication:
        """Send `draft` to the recipients of delivery `key`, exactly once each, every copy
        with `attachments` (see the module): what `publish` does, for subclasses whose
        drafts go out as a newsletter. Publishing `key` again resumes, resending nothing."""
        engine = self._engine()
        options = self.options
        unsubscribe, one_click = self._unsubscribe()
        composer = Composer(
            draft,
            sender=options.sender,
            reply_to=options.reply_to,
            date=self.clock(),
            list_id=list_id_header(options.list_id, options.list, options.sender_domain),
            unsubscribe=unsubscribe,
            one_click=one_click,
            attachments=attachments,
        )
        with engine.begin() as db:
            self._freeze(db, key, draft, options.sender_domain)
            # Rows left `sending` by a send that died: the server may have them. Never again.
            interrupted = recipients.interrupted(db, key)
        if interrupted:
            event(
                log,
                "recipients-unknown",
                f"{interrupted} recipients of {key} may or may not have got it (a send "
                "was interrupted): their rows in the recipients table are `unknown`",
                level=logging.WARNING,
                delivery=key,
                channel=self.name,
                count=interrupted,
            )
        todo = recipients.pending(engine, key)
        mailer = Mailer(self.server(), rate=options.rate, channel=self.name, sleep=self.sleep)
        deferred = SendLoop(engine, key, self.name, options.host, self.clock).run(
            mailer, options.sender_address, composer, todo
        )
        if deferred:
            raise TransientError(
                f"{len(deferred)} recipients of {key} were deferred by the server ({deferred[-1]}); "
                "the others were sent, these are tried again",
                self.name,
            )
        return _publication(key, recipients.counts(engine, key))

    # ------------------------------------------------------------------ the ledger's view

    def find(self, key: str) -> Publication | None:
        """The publication when every recipient of `key` is settled; None when its send
        never started or was cut short (publishing again resumes it, resending nothing)."""
        counts = recipients.counts(self._engine(), key)
        if not counts or counts.get("pending") or counts.get("sending"):
            return None
        return _publication(key, counts)

    def collect(self, publication: Publication) -> dict[str, float]:
        """Running totals from the recipients table: `recipients` (sent), `rejected`,
        `unknown` (may have got it), `suppressed` (skipped)."""
        counts = recipients.counts(self._engine(), publication.remote_id.partition(":")[0])
        return {
            "recipients": counts.get("sent", 0),
            "rejected": counts.get("rejected", 0),
            "unknown": counts.get("unknown", 0),
            "suppressed": counts.get("suppressed", 0),
        }
