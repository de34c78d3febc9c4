"""Telling the comms officer when a delivery needs a person.

A delivery that ends `failed`, `unknown` or `missed` will not go out by itself. After each
pass the daemon finds those it has not told anyone about yet, records them in the
ledger's `notifications` table (one row per delivery and state, taken with a conditional
insert, so with several daemons only one tells), logs each one, and sends one notice
listing them, by email and/or to a webhook as `[notify]` in kmcomms.toml says:

    [notify]
    email = "comms@example.org"        # or a list; sent through smtp_host:smtp_port
    sender = "kmcomms@example.org"
    smtp_host = "127.0.0.1"            # default; a local relay (Postfix, OpenSMTPD, …)
    smtp_port = 25
    webhook = "https://hooks.example.org/services/${NOTIFY_TOKEN}"   # JSON POST

A notice that cannot be sent anywhere is logged, its rows are given back, and it is tried
again a few minutes later; it never stops the daemon. One target failing while another
succeeds counts as told (the failure is logged).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import requests
from sqlalchemy import Engine

from kmcomms import __version__
from kmcomms.campaign.workspace import Notify, expand
from kmcomms.channels.letters import subject_header
from kmcomms.ledger.notifications import give_back, pending, take
from kmcomms.ledger.tables import LedgerRow
from kmcomms.logs import event
from kmcomms.publish.status import placement

__all__ = ["Notifier", "notice_text"]

log = logging.getLogger("kmcomms.notify")

#: After a notice could not be sent anywhere, wait this long before trying again.
RETRY = timedelta(minutes=5)
#: A notice lists at most this many deliveries in full.
LISTED = 50

WHAT_TO_DO = {
    "failed": "the channel refused it or every attempt failed: fix the cause, then "
    "`kmcomms resolve ID --retry`, or `--cancel`",
    "unknown": "it may or may not have been published: look on the channel, then "
    "`kmcomms resolve ID --published URL` if it is there, else `--retry`",
    "missed": "it was due longer ago than the channel's grace period and was not sent late: "
    "`kmcomms resolve ID --retry` to send it now, or `--cancel`",
}


def _due(row: LedgerRow) -> str:
    due: datetime = row.due_at
    return due.strftime("%Y-%m-%d %H:%M UTC")


def _describe(row: LedgerRow) -> dict[str, Any]:
    return {"id": row.id, "state": row.state, **placement(row), "reason": row.reason}


def notice_text(rows: Sequence[LedgerRow], unit: str) -> tuple[str, str]:
    """The subject and plain-text body of a notice about `rows`."""
    count = len(rows)
    subject = f"kmcomms: {count} {'delivery needs' if count == 1 else 'deliveries need'} a person ({unit})"
    lines = [f"{count} {'delivery' if count == 1 else 'deliveries'} of {unit} will not go out by themselves:", ""]
    for row in rows[:LISTED]:
        lines.append(
            f"- {row.state.upper()}  {row.id}  {row.campaign}/{row.message} → {row.audiences.replace(' ', ' + ')}, {row.language}, "
            f"{row.channel}, due {_due(row)}"
        )
        if row.reason:
            lines.append(f"    {row.reason}")
    if count > LISTED:
        lines.append(f"- … and {count - LISTED} more: run `kmcomms status`")
    lines += ["", "What to do:"]
    for state in sorted({row.state for row in rows}):
        lines.append(f"- {state}: {WHAT_TO_DO.get(state, 'see `kmcomms status`')}")
    lines += ["", "`kmcomms status` lists every delivery that needs a person.", f"-- kmcomms {__version__}"]
    return subject, "\n".join(lines) + "\n"


@dataclass
class Notifier:
    """Sends notices as `[notify]` says. `webhook` is the address with its `${VAR}`s read."""

    settings: Notify | None
    unit: str
    session: requests.Session = field(default_factory=requests.Session)
    webhook: str | None = None
    retry_at: datetime | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Notify | None,
        unit: str,
        session: requests.Session | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Notifier:
        """Raises `SettingError` (from `expand`) naming an unset variable of the webhook address."""
        webhook = expand(settings.webhook, environ) if settings is not None and settings.webhook else None
        return cls(settings, unit, session or requests.Session(), webhook)

    @property
    def targets(self) -> list[str]:
        found = []
        if self.settings is not None and self.settings.email:
            found.append("email")
        if self.webhook:
            found.append("webhook")
        return found

    def send_email(self, subject: str, body: str) -> None:
        assert self.settings is not None
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(self.settings.email)
        message.set_raw("Subject", subject_header(subject))
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body, cte="quoted-printable")  # 7-bit safe through any relay
        with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=self.settings.timeout) as smtp:
            smtp.send_message(message)

    def send_webhook(self, subject: str, body: str, rows: Sequence[LedgerRow]) -> None:
        assert self.webhook is not None and self.settings is not None
        payload = {
            "text": f"{subject}\n\n{body}",
            "unit": self.unit,
            "count": len(rows),
            "deliveries": [_describe(row) for row in rows],
        }
        response = self.session.post(
            self.webhook,
            json=payload,
            timeout=self.settings.timeout,
            allow_redirects=False,
            headers={"User-Agent": f"kmcomms/{__version__}"},
        )
        if not 200 <= response.status_code < 300:
            raise requests.HTTPError(
                f"the webhook answered {response.status_code} {response.reason}", response=response
            )

    def send(self, rows: Sequence[LedgerRow]) -> list[str]:
        """Send one notice about `rows` to every target; returns those that took it.
        Logs each target that failed; raises nothing."""
        subject, body = notice_text(rows, self.unit)
        done = []
        for target in self.targets:
            try:
                if target == "email":
                    self.send_email(subject, body)
                else:
                    self.send_webhook(subject, body, rows)
            except (OSError, smtplib.SMTPException, requests.RequestException) as exc:
                event(
                    log,
                    "notify-failed",
                    f"cannot send the notice by {target}: {type(exc).__name__}: {exc}",
                    level=logging.ERROR,
                    target=target,
                    deliveries=len(rows),
                )
                continue
            done.append(target)
        return done

    def run(self, engine: Engine, now: datetime) -> int:
        """Tell about every delivery that needs a person and has not been told about yet:
        log each, send one notice. Returns how many were told about."""
        if self.retry_at is not None and now < self.retry_at:
            return 0
        rows = take(engine, pending(engine), now, "+".join(["log", *self.targets]))
        if not rows:
            return 0
        for row in rows:
            event(
                log,
                "needs-a-person",
                f"delivery {row.id} is {row.state}: {row.reason or ''}",
                level=logging.WARNING,
                **_describe(row),
            )
        if not self.targets:
            return len(rows)
        done = self.send(rows)
        if not done:  # told nobody: give the rows back, try again later
            give_back(engine, rows)
            self.retry_at = now + RETRY
            return 0
        self.retry_at = None
        event(
            log,
            "notified",
            f"told {', '.join(done)} about {len(rows)} deliveries that need a person",
            via=done,
            deliveries=len(rows),
        )
        return len(rows)
