"""Crash proofs for the `smtp` adapter.

`kmcomms publish --due` sending one newsletter to 200 recipients is SIGKILLed mid-list,
twice, then run to the end. Every recipient gets exactly one copy, except the ones the
ledger records `unknown`; those are at most one per kill, and the test knows which and
whether the server had them.

Where each kill lands is chosen by the SMTP server itself (aiosmtpd on loopback), which
kills the publisher from inside the conversation:

- run 1: right after the server kept message 60, before it answers "250": the publisher
  dies not knowing the server has it. Its row is `sending`; the next run marks it
  `unknown` and does not send it again. It was received once.
- run 2: when the publisher starts handing over message 140 (at MAIL FROM): its row is
  `sending`, but the server never got it. Marked `unknown`, never sent: received zero
  times. This is the price of never sending twice; a person can look at it.
- run 3: to the end, everything else sent once.

All three runs are at the same `--now`: the killed run's lease has not run out when the
next one starts, which takes the claim back because the process that held it, on this
host, has ended.

`kmcomms daemon` sending a newsletter to 300 is SIGKILLed after message 75 (issue 14), and
started again: it resumes at its first pass, within seconds, not when the lease would
have run out; every recipient gets one copy. Before the kill, while the daemon is alive
in the middle of the list, a `kmcomms publish --due` on the same host leaves it alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import run_cli, wait_for
from daemons import DaemonProcess, daemons_fixture, stamp  # noqa: F401 - a fixture
from smtp_inbox import Inbox, start
from sqlalchemy import select
from workspaces import audience, campaign_yaml, settings_toml, smtp_channel

from kmcomms.ledger.store import open_store
from kmcomms.ledger.tables import deliveries, publications, recipients

RECIPIENTS = 200
REPO = Path(__file__).resolve().parents[2]

NOW = datetime(2027, 1, 11, 9, 1, tzinfo=UTC)


def newsletter(at: datetime) -> str:
    """The campaign: one newsletter to parents at `at` (UTC, to the second)."""
    return campaign_yaml(
        f"""\
  - id: launch
    audiences: [parents]
    at: {stamp(at)}
    title: Your questions answered
    body: Read [the guide](https://example.org/guide).
""",
        title="Newsletter",
        audiences=audience(channels="newsletter"),
        timezone="UTC",
        starts=(at - timedelta(days=1)).date(),
        ends=(at + timedelta(days=60)).date(),
        metric="recipients",
    )


def unit(root: Path, store_url: str, settings: str, at: datetime, recipients: int, now: datetime) -> list[str]:
    """A workspace at `root` sending the newsletter at `at` to `recipients` parents on the
    list "news" (imported at `now`); `settings`: its kmcomms.toml. Returns their addresses."""
    (root / "campaigns" / "news").mkdir(parents=True)
    (root / "kmcomms.toml").write_text(settings, encoding="utf-8")
    (root / "campaigns" / "news" / "campaign.yaml").write_text(newsletter(at), encoding="utf-8")
    people = [f"reader{n:03d}@example.org" for n in range(recipients)]
    (root / "people.csv").write_text(
        "email,name,language,audience,consent_date\n"
        + "".join(f"{p},Reader {n},en,parents,2026-01-01\n" for n, p in enumerate(people))
    )
    code, _, err = run_cli(
        "--now", now.isoformat(), "contacts", "import", root / "people.csv", "--list", "news", "-w", root
    )
    assert code == 0, err
    return people


def ledger(store_url: str, root: Path) -> tuple[list[Any], dict[str, Any], list[Any]]:
    """(deliveries, recipients by address, publications), read from the store."""
    engine = open_store(store_url, root)
    try:
        with engine.connect() as db:
            return (
                db.execute(select(deliveries)).all(),
                {r.email: r for r in db.execute(select(recipients))},
                db.execute(select(publications)).all(),
            )
    finally:
        engine.dispose()


def publish_due(root: Path, now: str, inbox: Inbox) -> int:
    """`kmcomms --now NOW publish --due` in a process of its own, which `inbox` may kill."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kmcomms", "--now", now, "publish", "--due", "-w", str(root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    inbox.victim = process.pid
    out, err = process.communicate(timeout=300)
    if process.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"publish --due exited {process.returncode}: {out.decode()} {err.decode()}")
    return process.returncode


def kill_at(stage: str, at: int) -> Any:
    """A hook that SIGKILLs the publisher at `stage` of message `at`, once."""
    done: list[bool] = []

    def hook(now: str, n: int, server: Any, envelope: Any) -> str | None:
        if now == stage and n == at and not done:
            done.append(True)
            os.kill(server.event_handler.victim, signal.SIGKILL)
        return None

    return hook


def test_a_publisher_killed_mid_list_twice_sends_every_recipient_one_copy(tmp_path: Path, store_url: str) -> None:
    inbox = Inbox()
    controller = start(inbox)
    root = tmp_path / "unit"
    settings = settings_toml(store_url, tracking="http://127.0.0.1:8750", channels=smtp_channel(inbox.port))
    people = unit(root, store_url, settings, NOW - timedelta(minutes=1), RECIPIENTS, NOW)
    try:
        inbox.hook = kill_at("KEPT", 60)
        assert publish_due(root, NOW.isoformat(), inbox) == -signal.SIGKILL
        inbox.hook = kill_at("MAIL", 140)
        assert publish_due(root, NOW.isoformat(), inbox) == -signal.SIGKILL
        inbox.hook = None
        assert publish_due(root, NOW.isoformat(), inbox) == 0
    finally:
        controller.stop()

    received = inbox.by_recipient()
    ids = Counter(r.message["Message-ID"] for r in inbox.received)
    [delivery], rows, [publication] = ledger(store_url, root)
    killed_after_kept, killed_before_data = people[59], people[139]
    # Nobody got two copies, by address or by Message-ID.
    assert max(received.values()) == 1 and max(ids.values()) == 1
    assert {r.message["Message-ID"] for r in inbox.received} <= {r.message_id for r in rows.values()}
    # The two rows in doubt are exactly the two a kill interrupted: one the server had, one it never got.
    assert {e for e, r in rows.items() if r.state == "unknown"} == {killed_after_kept, killed_before_data}
    assert received[killed_after_kept] == 1 and received[killed_before_data] == 0
    # Everyone else: sent once, recorded sent.
    others = set(people) - {killed_after_kept, killed_before_data}
    assert all(rows[p].state == "sent" and received[p] == 1 for p in others)
    assert set(rows) == set(people) and len(inbox.received) == RECIPIENTS - 1
    assert delivery.state == "published" and publication.remote_id == f"{delivery.id}:{RECIPIENTS - 2}/{RECIPIENTS}"


#: The daemon test: the newsletter's size, where the daemon is held alive mid-list (while a
#: second worker runs), and the message after which it is killed.
SUBSCRIBERS, HELD_AT, KILLED_AT = 300, 50, 75
#: A restarted daemon sends its next recipient within RESUMES_WITHIN seconds of logging
#: `started`, and RESTARTS_WITHIN of being started (Python starting up: slow on a busy
#: machine). Before, it waited for its old lease: 10 minutes.
RESUMES_WITHIN, RESTARTS_WITHIN = 5.0, 30.0


class Conversation:
    """The server's part in the daemon test (an Inbox hook): after message HELD_AT is kept,
    it holds its answer until `go` is set; after message KILLED_AT, it SIGKILLs the daemon
    (`victim`). `kept[n]` is when message n was kept."""

    def __init__(self) -> None:
        self.held, self.go = threading.Event(), threading.Event()
        self.victim = 0
        self.kept: dict[int, datetime] = {}

    def __call__(self, stage: str, n: int, server: Any, envelope: Any) -> str | None:
        if stage != "KEPT" or n in self.kept:
            return None
        self.kept[n] = datetime.now(UTC)
        if n == HELD_AT:
            self.held.set()
            self.go.wait(60)
        elif n == KILLED_AT:
            os.kill(self.victim, signal.SIGKILL)
        return None


def test_a_daemon_killed_mid_newsletter_resumes_within_seconds_of_its_restart(
    tmp_path: Path, store_url: str, daemons: Callable[..., DaemonProcess]
) -> None:
    inbox, conversation = Inbox(), Conversation()
    inbox.hook = conversation
    controller = start(inbox)
    now = datetime.now(UTC)
    root = tmp_path / "unit"
    # The daemon waits for the held answer as long as the server may take (a busy machine).
    settings = settings_toml(store_url, channels=smtp_channel(inbox.port, extra="timeout = 300\n"))
    people = unit(root, store_url, settings, now - timedelta(seconds=20), SUBSCRIBERS, now)
    try:
        first = daemons(root)
        conversation.victim = first.process.pid
        assert conversation.held.wait(60), first.text()
        worker = first.wait_event("started")["worker"]
        # A second worker on this host while the daemon is alive in the middle of the list.
        second = subprocess.run(
            [sys.executable, "-m", "kmcomms", "publish", "--due", "--format", "json", "-w", str(root)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0 and json.loads(second.stdout)["outcomes"] == {}, second.stdout + second.stderr
        [held], _, _ = ledger(store_url, root)
        assert (held.state, held.lease_owner) == ("sending", worker)
        conversation.go.set()
        assert first.process.wait(timeout=60) == -signal.SIGKILL, first.text()
        [left], _, _ = ledger(store_url, root)
        unexpired = left.lease_until - datetime.now(UTC)
        # Far from running out, yet short: a minute, renewed while the daemon lived.
        assert (left.state, left.lease_owner) == ("sending", worker)
        assert timedelta(seconds=30) < unexpired <= timedelta(seconds=60)

        restarted = datetime.now(UTC)
        again = daemons(root, log="restarted.log")
        wait_for(lambda: len(inbox.received) >= SUBSCRIBERS, f"every recipient, in:\n{again.text()}", 90)
        again.wait_event("published")
        assert again.stop()[0] == 0
    finally:
        conversation.go.set()
        controller.stop()

    resumed = (conversation.kept[KILLED_AT + 1] - restarted).total_seconds()
    loaded = (
        conversation.kept[KILLED_AT + 1] - datetime.fromisoformat(again.named("started")[0]["time"])
    ).total_seconds()
    print(
        f"\n[{store_url.partition(':')[0].partition('+')[0]}] killed after message {KILLED_AT} of {SUBSCRIBERS}; restarted, "
        f"it sent the next {resumed:.2f} s after its start ({loaded:.2f} s after it logged `started`); the lease it "
        f"took back had {unexpired.total_seconds():.0f} s to run"
    )
    # Sooner than the old lease would have let it, and within seconds.
    assert conversation.kept[KILLED_AT + 1] < left.lease_until and loaded < RESUMES_WITHIN and resumed < RESTARTS_WITHIN
    assert [e.get("requeued") for e in again.named("pass")][:1] == [1]  # at its first pass
    assert [e["worker"] for e in again.named("taken-back")] == [worker]
    [delivery], rows, [publication] = ledger(store_url, root)
    # One copy each: the recipient the kill interrupted (the server had it) included, whose row says `unknown`.
    assert inbox.by_recipient() == Counter(people) and len(inbox.received) == SUBSCRIBERS
    assert {e: r.state for e, r in rows.items() if r.state != "sent"} == {people[KILLED_AT - 1]: "unknown"}
    assert delivery.state == "published" and publication.remote_id == f"{delivery.id}:{SUBSCRIBERS - 1}/{SUBSCRIBERS}"
