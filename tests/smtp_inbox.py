"""A real SMTP server on loopback (aiosmtpd) that keeps what it is sent, for the tests of
the adapters that mail (test_smtp.py, test_smtp_crash.py, test_briefing.py).

The `inbox` fixture is defined as `inbox_fixture`, so that a test module imports it
(`from smtp_inbox import inbox_fixture`) without its tests' `inbox` arguments shadowing
the import. The module is not called `mailbox`: that would shadow the standard library's.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from kmcomms.daemon.demo import free_port

__all__ = ["Hook", "Inbox", "Received", "inbox_fixture", "start"]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    tls: bool

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


Hook = Callable[[str, int, Any, Any], "str | None"]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts. `refuse` maps an address
    to the reply its RCPT gets; `hook(stage, n, server, envelope)` is called at "MAIL",
    "DATA" (before the n-th message is kept: a reply refuses it) and "KEPT" (after).
    `account` is the (user name, password) that `authenticate` accepts."""

    def __init__(self, account: tuple[str, str] | None = None) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.hook: Hook | None = None
        self.account = account
        self.logins: list[str] = []
        self.lock = threading.Lock()
        self.port = 0

    def _ask(self, stage: str, server: Any, envelope: Any) -> str | None:
        """The hook's answer about the message under way: number n counts those kept, it included."""
        number = len(self.received) + (stage != "KEPT")
        return self.hook(stage, number, server, envelope) if self.hook else None

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        reply = self._ask("MAIL", server, envelope)
        if reply:
            return reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self._ask("DATA", server, envelope)
        if reply:
            return reply
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.ssl is not None)
            )
        return self._ask("KEPT", server, envelope) or "250 2.0.0 queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append(data.login.decode())
        if self.account is not None and (data.login.decode(), data.password.decode()) == self.account:
            return AuthResult(success=True)
        # A server that echoes what it was given: the adapter must still never show it.
        return AuthResult(
            success=False,
            handled=False,
            message=f"535 5.7.8 Authentication credentials invalid: {data.password.decode()}",
        )

    def by_recipient(self) -> Counter[str]:
        return Counter(address for r in self.received for address in r.recipients)

    def messages(self) -> dict[str, EmailMessage]:
        found = {}
        for r in self.received:
            [address] = r.recipients
            assert address not in found, f"{address} got two messages"
            found[address] = r.message
        return found


def start(inbox: Inbox, **options: Any) -> Controller:
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **options)
    controller.start()
    return controller


@pytest.fixture(name="inbox")
def inbox_fixture() -> Iterator[Inbox]:
    """A server on a free port of 127.0.0.1 (`inbox.port`), stopped after the test."""
    server = Inbox()
    controller = start(server)
    yield server
    controller.stop()
