"""The `smtp` adapter's send loop: a delivery handed to the mail server one recipient at
a time, each row of the ledger's `recipients` table taken (`sending`) before its copy is
sent and marked after, and a refusal, a deferral or a lost connection recorded against
its row (see `kmcomms.channels.smtp` for why that sends each copy once). `_Commits` says
how the loop's commits reach the disk on SQLite.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from kmcomms.channels.base import ChannelError
from kmcomms.channels.letters import Composer
from kmcomms.channels.mail import Deferred, Mailer, Refused, Uncertain
from kmcomms.ledger import recipients
from kmcomms.ledger.contacts import suppress
from kmcomms.logs import event

__all__ = ["SendLoop"]

# The adapter's events, logged under its name.
log = logging.getLogger("kmcomms.channels.smtp")

#: On SQLite, the longest stretch of the send loop's record a power cut can undo (seconds).
DURABLE_EVERY = 0.1


class _Commits:
    """How the send loop's commits reach the disk.

    On SQLite (WAL mode), a commit durable against a power cut costs an fsync: more than
    handing a message to a local server. So while it sends, the loop commits with
    `synchronous = NORMAL` (atomic, and durable against the process being killed at any
    moment, which is what exactly-once needs: test_smtp_crash.py), and at least every
    DURABLE_EVERY seconds, and last, with FULL, which makes every commit before it durable
    too. A power cut can undo at most that last stretch of the record (whose recipients
    could then get a second copy). On other databases every commit is as durable as the
    server is configured to make it; nothing changes.
    """

    def __init__(self, db: Connection, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.clock = clock
        self.sqlite = db.dialect.name == "sqlite"
        self.mode = ""
        self.due = 0.0
        if self.sqlite:
            self.before = int(db.exec_driver_sql("PRAGMA synchronous").scalar_one())
            db.commit()

    def next_commit(self, durable: bool = False) -> None:
        """Call inside each of the loop's transactions: sets how its commit is made."""
        if not self.sqlite:
            return
        now = self.clock()
        want = "FULL" if durable or now >= self.due else "NORMAL"
        if want == "FULL":
            self.due = now + DURABLE_EVERY
        if want != self.mode:
            self.db.exec_driver_sql(f"PRAGMA synchronous = {want}")
            self.mode = want

    def __enter__(self) -> _Commits:
        return self

    def __exit__(self, *exc: object) -> None:
        """Give the pooled connection back as it was."""
        if self.sqlite and self.mode:
            self.db.rollback()
            self.db.exec_driver_sql(f"PRAGMA synchronous = {self.before}")
            self.db.commit()


@dataclass(frozen=True, slots=True)
class SendLoop:
    """The send of one delivery (`key`) by the channel called `channel` to the server at
    `host`; `clock` (aware UTC) stamps `sent_at` and the suppression of a bounced address."""

    engine: Engine
    key: str
    channel: str
    host: str
    clock: Callable[[], datetime]

    def run(self, mailer: Mailer, sender: str, composer: Composer, todo: list[Any]) -> list[str]:
        """Send to each row of `todo` (the delivery's pending recipients) once, through
        `mailer` from the envelope `sender`; returns the replies of those deferred (4xx)."""
        key = self.key
        deferred: list[str] = []
        sent: tuple[str, datetime] | None = None  # handed over, its row not yet marked
        with mailer, self.engine.connect() as db, _Commits(db) as commits:
            try:
                for row in todo:
                    letter = composer.compose(row.email, row.name)  # before the take: a failure leaves it pending
                    with db.begin():
                        commits.next_commit()
                        if sent is not None:
                            recipients.sent(db, key, *sent)
                            sent = None
                        taken = recipients.take(db, key, row.email)
                    if taken != "sending":  # suppressed since the freeze, or another worker has it
                        continue
                    try:
                        mailer.send(sender, row.email, letter.data)
                    except Refused as exc:
                        self._refused(db, row.email, exc)
                        continue
                    except Deferred as exc:
                        self._settle(db, row.email, "pending", exc.reply)
                        deferred.append(exc.reply)
                        continue
                    except Uncertain as exc:
                        self._settle(db, row.email, "unknown", str(exc))
                        raise
                    except ChannelError as exc:  # nothing was handed over: it stays to send
                        self._settle(db, row.email, "pending", str(exc))
                        raise
                    sent = (row.email, self.clock())
            finally:
                with db.begin():
                    commits.next_commit(durable=True)
                    if sent is not None:
                        recipients.sent(db, key, *sent)
        return deferred

    def _settle(self, db: Connection, email: str, state: str, error: str) -> None:
        with db.begin():
            recipients.settle(db, self.key, email, state, error)

    def _refused(self, db: Connection, email: str, exc: Refused) -> None:
        key = self.key
        with db.begin():
            recipients.settle(db, key, email, "rejected", exc.reply)
            if exc.bounce:
                suppress(db, email, "bounced", exc.reply, self.clock())
        # The address stays in the ledger; logs get the server's reason without it.
        event(
            log,
            "recipient-rejected",
            f"{self.host} refused a recipient of {key}: "
            f"{exc.reply.replace(email, '<recipient>')}" + ("; the address is suppressed" if exc.bounce else ""),
            level=logging.WARNING,
            delivery=key,
            channel=self.channel,
            bounce=exc.bounce,
        )
